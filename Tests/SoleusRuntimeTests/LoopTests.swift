import Dispatch
import Foundation
import Synchronization
import Testing
import SoleusCore
import SoleusSimulation
@testable import SoleusRuntime

/// Issue 10: the loop on its own thread, its records through a bounded ring to a writer thread
/// that owns the store, and the lateness statistics.
@Suite struct LoopTests {
    /// A store whose appends block until released (a disk or database that stalls).
    final class BlockingSink: SessionSink, @unchecked Sendable {
        let inner = MemorySessionLog()
        let gate = DispatchSemaphore(value: 0)
        let blocked = Atomic<Bool>(true)
        func begin(_ h: SessionHeader) throws -> Int64 { try inner.begin(h) }
        func append(_ b: LogBatch, to id: Int64) throws {
            if blocked.load(ordering: .acquiring) {
                gate.wait()
                gate.signal()
            }
            try inner.append(b, to: id)
        }
        func end(_ id: Int64, _ e: SessionEnd) throws { try inner.end(id, e) }
        func release() {
            blocked.store(false, ordering: .releasing)
            gate.signal()
        }
    }

    func dvt(cycles: Int) throws -> (PreparedSession, WatchedBoot) {
        var prepared = try prepare("protocols/dvt-3-chamber.toml", "hardware/sim-3-dvt.toml")
        prepared.plan.length = .cycles(cycles)
        guard let sim = (try prepared.makeBackend()) as? SimulatedBoot else { throw StoreError("not simulated") }
        return (prepared, WatchedBoot(sim))
    }

    /// The first number before `word` in `text` ("1234 samples" → 1234).
    func count(_ word: String, in text: String) -> Int? {
        guard let r = text.range(of: #"(\d+) \#(word)"#, options: .regularExpression) else { return nil }
        return Int(text[r].split(separator: " ")[0])
    }

    @Test func aStoreThatStallsCostsRecordsNotTherapyAndTheLossIsCountedAndLogged() throws {
        let (prepared, boot) = try dvt(cycles: 2)
        let sink = BlockingSink()
        // The loop does not wait for the store (as when paced in real time); its ring is small.
        let options = SessionRunner.Options(speed: .max, waitForStorage: false, logCapacity: 64)
        // The store comes back long after the loop has filled the ring.
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.3) { sink.release() }
        let result = try prepared.runner(backend: boot, sink: sink, options: options).run()
        // Therapy ran to its end and the boot was vented.
        #expect(result.end.cyclesCompleted == 2)
        #expect(result.ventedAfter != nil)
        #expect(boot.lastOutputs == .vented(chamberCount: 3))
        // The loss is an alarm, an event, and the end says so in numbers.
        #expect(result.alarms.map(\.condition).contains(.storageFailure))
        #expect(result.end.reason == .storageFailure)
        #expect(result.end.detail.hasPrefix("protocol completed, but the session log is incomplete: storage fell behind; lost: "))
        #expect(result.end.detail.contains("while the log writer fell behind"))
        let overflow = sink.inner.events.filter { $0.kind == "log-overflow" }
        #expect(!overflow.isEmpty)
        #expect(overflow.allSatisfy { $0.message.hasPrefix("the log writer fell behind (storage too slow) and ") })
        // Every sample is either stored or counted as lost: none vanishes unaccounted.
        let lost = try #require(count("samples?", in: result.end.detail))
        let produced = Int((result.end.duration * 20).rounded(.down)) + 1
        #expect(lost > 0)
        #expect(abs(sink.inner.samples.count + lost - produced) <= 1, "stored \(sink.inner.samples.count) + lost \(lost) vs \(produced)")
        #expect(sink.inner.ending?.reason == .storageFailure)
    }

    @Test func aStoreThatNeverAnswersCannotHangTheEndOfASession() throws {
        let (prepared, boot) = try dvt(cycles: 1)
        let sink = BlockingSink()
        defer { sink.release() }
        let options = SessionRunner.Options(speed: .max, waitForStorage: false, logCapacity: 64, storageTimeout: 0.3)
        #expect {
            _ = try prepared.runner(backend: boot, sink: sink, options: options).run()
        } throws: { e in
            "\(e)".contains("and the boot was vented, but the session log has not answered for 0.3 s")
                && "\(e)".contains("It will show as interrupted.")
        }
        #expect(boot.lastOutputs == .vented(chamberCount: 3))
        #expect(sink.inner.ending == nil)
    }

    @Test func aStoreThatStallsInLockstepIsWaitedForThenLeftBehind() throws {
        // Lockstep (nothing paced): the loop waits for each flush up to the storage timeout, then
        // stops waiting; the session still ends, vented, and says what was lost.
        let (prepared, boot) = try dvt(cycles: 1)
        let sink = BlockingSink()
        let options = SessionRunner.Options(speed: .max, logCapacity: 64, storageTimeout: 1)
        // After the first flush's wait has expired (1 s), before the end's (at least 2 s).
        DispatchQueue.global().asyncAfter(deadline: .now() + 1.5) { sink.release() }
        let result = try prepared.runner(backend: boot, sink: sink, options: options).run()
        #expect(result.end.cyclesCompleted == 1)
        #expect(boot.lastOutputs == .vented(chamberCount: 3))
        #expect(result.end.reason == .storageFailure)
        #expect((count("samples?", in: result.end.detail) ?? 0) > 0)
    }

    /// Records what happened in which order, across threads.
    final class Order: @unchecked Sendable {
        let lock = NSLock()
        var steps: [String] = []
        func note(_ s: String) { lock.withLock { steps.append(s) } }
    }

    struct OrderedPacing: TickPacing {
        let order: Order
        mutating func begin() { order.note("clock starts") }
        var isPaced: Bool { true }
        func wait(untilSessionTime t: Double) {}
        func lateness(atSessionTime t: Double) -> Double { 0 }
    }

    final class OrderedSink: SessionSink {
        let order: Order
        let inner = MemorySessionLog()
        init(_ order: Order) { self.order = order }
        func begin(_ h: SessionHeader) throws -> Int64 {
            order.note("session stored")
            return try inner.begin(h)
        }
        func append(_ b: LogBatch, to id: Int64) throws { try inner.append(b, to: id) }
        func end(_ id: Int64, _ e: SessionEnd) throws { try inner.end(id, e) }
    }

    @Test func theSessionClockStartsAfterSetUpSoTheFirstTickIsNotLate() throws {
        let (prepared, boot) = try dvt(cycles: 1)
        let order = Order()
        var firstRead = true
        boot.onRead = { _, _ in
            if firstRead { order.note("first tick") }
            firstRead = false
        }
        let result = try prepared.runner(backend: boot, sink: OrderedSink(order), options: .init(speed: .max), pacing: OrderedPacing(order: order))
            .run(started: { _ in order.note("loop thread ready") })
        // The caller's note ("loop thread ready") may come on either side of the clock's start.
        #expect(order.steps.filter { $0 != "loop thread ready" }.prefix(3) == ["session stored", "clock starts", "first tick"])
        #expect(order.steps.firstIndex(of: "loop thread ready") ?? 0 > order.steps.firstIndex(of: "session stored") ?? 0)
        #expect(result.timing.paced && result.timing.ticks > 1000 && result.timing.max == 0)
    }

    @Test func progressComesFromTheLoopWithItsTiming() throws {
        let (prepared, boot) = try dvt(cycles: 1)
        var seen: [SessionProgress] = []
        // 20× speed: a 16-second cycle in under a second of wall time, paced, so progress arrives.
        let result = try prepared.runner(backend: boot, sink: MemorySessionLog(), options: .init(speed: .factor(20))).run(progress: { seen.append($0) })
        #expect(seen.count >= 3)
        #expect(seen.allSatisfy { $0.chamberCount == 3 && $0.timing.paced })
        #expect(zip(seen, seen.dropFirst()).allSatisfy { $0.time <= $1.time })
        #expect(result.timing.paced && result.timing.ticks >= 1600)
        #expect(result.realtime.requestedPriority == nil)
    }

    @Test func latencyQuantilesAreTheUpperEdgeOfTheirBucketAndNeverOptimistic() {
        let h = LatencyHistogram(period: 0.01)
        for _ in 0..<980 { h.add(0.000_012_3) }
        for _ in 0..<19 { h.add(0.004_56) }
        h.add(0.25)
        let s = h.summary(paced: true)
        #expect(s.ticks == 1000)
        #expect(abs(s.p50 - 0.000_013) < 1e-12)
        // 4.56 ms falls in the 10 µs bucket [4.56, 4.57) ms.
        #expect(abs(s.p99 - 0.004_57) < 1e-12)
        #expect(abs(s.p999 - 0.004_57) < 1e-12)
        #expect(s.max == 0.25)
        #expect(s.overruns == 1)
        #expect(LatencyHistogram.bucket(999_999) == 999 && LatencyHistogram.bucket(1_000_000) == 1000)
        #expect(LatencyHistogram.bucket(5_000_000_000) == LatencyHistogram.bucketCount - 1)
        #expect(s.description == "late p50 13 µs p99 4.6 ms p99.9 4.6 ms max 250.0 ms, 1 overrun in 1000 ticks")
    }

    @Test func theRingKeepsOrderAcrossItsEndAndRefusesWhenFull() {
        let ring = LogRing(capacity: 4)
        var next = 0, expected = 0
        for _ in 0..<10 {
            while ring.push(.flush(time: 0, mark: next)) { next += 1 }
            #expect(ring.count == 4)
            for _ in 0..<3 {
                guard case .flush(_, let mark)? = ring.pop() else { Issue.record("empty"); return }
                #expect(mark == expected)
                expected += 1
            }
        }
        #expect(next == expected + 1)
    }
}
