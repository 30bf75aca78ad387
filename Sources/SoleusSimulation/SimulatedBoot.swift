import SoleusCore
import SoleusHardware

/// The simulated backend: ``BootPhysics`` behind the same ``BootBackend`` seam as the real
/// drivers. Session time drives the physics, so a session runs as fast as the CPU allows, or is
/// paced to the wall clock by the runner.
///
/// Single owner: the session loop that created it.
public final class SimulatedBoot: BootBackend {
    public private(set) var physics: BootPhysics
    public let summary: String

    public init(parameters: BootParameters) {
        physics = BootPhysics(parameters: parameters)
        summary = "simulated boot (\(parameters.chambers.count) chambers, seed \(parameters.seed))"
    }

    public var chamberCount: Int { physics.chamberCount }

    public func read(at time: Double) throws(HardwareError) -> BootInputs {
        physics.advance(to: time)
        return BootInputs(pressures: physics.sensorReadings(), emergencyStop: physics.faults.emergencyStop)
    }

    public func write(_ outputs: BootOutputs) throws(HardwareError) {
        physics.command(outputs)
    }

    public func vent() {
        physics.command(.vented(chamberCount: chamberCount))
    }

    /// Changes the simulated faults (scenarios and tests).
    public func setFaults(_ faults: SimulatedFaults) { physics.faults = faults }
}
