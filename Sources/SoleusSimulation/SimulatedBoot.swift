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

    /// Physics time at session time 0 (the garment check before the session ran on this boot).
    var clockOffset = 0.0
    /// The last readings that got through, and when (for a lost link).
    var lastInputs = BootInputs()
    var lastFresh = 0.0
    var lastWrite = 0.0
    /// The I/O module's output lease (s): outputs not refreshed for this long fall back to the
    /// safe state, like a watchdog (the Klipper pattern). It is what vents the boot when the link
    /// to the controller is lost.
    public static let outputLease = 0.5

    public var chamberCount: Int { physics.chamberCount }

    /// Advances the physics to `time` and reads the sensors. With the link lost the readings stop
    /// changing and their age grows, as from an I/O thread's mailbox that no reply refreshes.
    public func read(at sessionTime: Double) throws(HardwareError) -> BootInputs {
        let time = sessionTime + clockOffset
        physics.advance(to: time)
        if time - lastWrite > Self.outputLease { physics.command(.vented(chamberCount: chamberCount)) }
        // A direct E-stop is its own input: it is read even when the I/O link is down.
        let direct = physics.parameters.directEmergencyStop
        if physics.faults.communicationLost {
            var stale = lastInputs
            stale.age = time - lastFresh + physics.parameters.sensorLatency
            if direct { stale.emergencyStop = physics.faults.emergencyStop }
            return stale
        }
        let redundant = physics.parameters.redundantSensors ? physics.redundantReadings() : nil
        lastInputs = BootInputs(pressures: physics.sensorReadings(), redundant: redundant,
                                emergencyStop: physics.faults.emergencyStop, age: physics.parameters.sensorLatency)
        lastFresh = time
        return lastInputs
    }

    public func write(_ outputs: BootOutputs) throws(HardwareError) {
        // A lost link drops writes; the module's own output lease is what vents then.
        if physics.faults.communicationLost { return }
        lastWrite = physics.time
        physics.command(outputs)
    }

    public func vent() {
        physics.command(.vented(chamberCount: chamberCount))
    }

    public func takeLimbCompressions(into out: inout [LimbCompression], final: Bool) {
        physics.takeLimbCompressions(into: &out, final: final)
        for i in out.indices {
            out[i].start -= clockOffset
            out[i].end -= clockOffset
        }
    }

    /// The session after the garment check starts here: its pulses are not the session's
    /// compressions.
    public func shiftClock(by seconds: Double) {
        clockOffset += seconds
        physics.forgetLimbCompressions()
    }

    /// Changes the simulated faults (scenarios and tests).
    public func setFaults(_ faults: SimulatedFaults) { physics.faults = faults }
}
