import SoleusCore
import SoleusHardware

/// One session's loop ticked by hand, for the benchmarks (`Benchmarks/`): the same tick the loop
/// thread runs (read inputs, controllers, supervisors, write outputs, hand records to the ring),
/// on the profile's simulated boot, with the ring emptied after each tick as the writer would.
@_spi(Benchmarks) public final class SessionTicker {
    let loop: SessionLoop
    let ring: LogRing

    public init(_ prepared: PreparedSession) throws {
        let backend = try prepared.makeBackend()
        let sink = MemorySessionLog()
        let runner = prepared.runner(backend: backend, sink: sink, options: .init(speed: .max, waitForStorage: false))
        ring = LogRing(capacity: 4096)
        let writer = SessionLogWriter(ring: ring, sink: sink, id: 1, formatter: runner.formatter(), lockstep: false)
        loop = SessionLoop(runner: runner, ring: ring, writer: writer, board: StatusBoard(), pacing: Pacer(speed: .max), commands: { _ in nil })
    }

    /// One tick; false once the session has ended.
    public func tick() -> Bool {
        loop.t = Double(loop.k) * loop.tick
        let going = loop.step(lateness: 0)
        loop.k += 1
        while ring.pop() != nil {}
        return going
    }
}
