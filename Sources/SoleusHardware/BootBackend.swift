import SoleusCore

/// The seam between the runtime and a boot: real (GPIO, Modbus) or simulated.
///
/// One owner drives a backend from one thread (the session loop). `read` and `write` are called
/// once per tick; `vent` may be called on any exit path and must never throw.
public protocol BootBackend: AnyObject {
    /// Number of chambers, distal → proximal.
    var chamberCount: Int { get }
    /// A short description for logs ("simulated boot, seed 1", "modbus tcp 10.0.0.5:502").
    var summary: String { get }
    /// Reads every input. `time` is session time in seconds; the simulated backend advances its
    /// physics to it, real backends read what is there now.
    func read(at time: Double) throws(HardwareError) -> BootInputs
    /// Applies the outputs.
    func write(_ outputs: BootOutputs) throws(HardwareError)
    /// Puts the boot in the safe state (pump off, inlets closed, exhausts open), as far as it can.
    /// Never throws: it is the last thing every exit path does.
    func vent()
    /// Vents, then releases the hardware (lines, connections, threads). Idempotent.
    func close()
    /// The last hardware error seen (a module's reply, a failed call), for the session log.
    var lastFault: String? { get }
    /// Moves the compressions whose figures are complete into `out` (keeping its capacity). Only a
    /// backend that can see the limb has any (the simulator's limb model); `final` closes the one
    /// still open at the end of a session.
    func takeLimbCompressions(into out: inout [LimbCompression], final: Bool)
    /// The next session starts `seconds` of this backend's time later (after the garment check):
    /// its time 0 is now. Real hardware keeps no time of its own.
    func shiftClock(by seconds: Double)
}

extension BootBackend {
    public func close() { vent() }
    public var lastFault: String? { nil }
    public func takeLimbCompressions(into out: inout [LimbCompression], final: Bool) {}
    public func shiftClock(by seconds: Double) {}
}

/// A hardware failure, naming the device and what went wrong.
public struct HardwareError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The device or connection ("/dev/gpiochip0 line 17", "modbus tcp 127.0.0.1:1502").
    public var device: String
    public var message: String

    public init(device: String, message: String) {
        self.device = device
        self.message = message
    }

    public var description: String { "\(device): \(message)" }
}
