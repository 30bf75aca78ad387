import SoleusCore

/// Faults the simulator can apply to the boot. Scenarios set them at scheduled times.
public struct SimulatedFaults: Sendable, Equatable {
    public enum ValveFault: Sendable, Equatable { case normal, stuckOpen, stuckClosed }
    public enum SensorFault: Sendable, Equatable {
        case none
        /// Reports this value forever.
        case stuck(Double)
        /// Adds `perSecond` mmHg per second since session time `since`.
        case drift(perSecond: Double, since: Double)
        /// No reading (NaN), as from a broken wire.
        case disconnected
        /// Reads this many mmHg off (a shifted zero or a damaged diaphragm).
        case offset(Double)
        /// Adds Gaussian noise of this standard deviation (mmHg): a failing transducer or
        /// amplifier, electrical interference.
        case noisy(Double)
    }

    /// Extra leak per chamber (orifice coefficient, normal litres/s per √mmHg).
    public var leak: [Double] = Array(repeating: 0, count: maxChambers)
    public var inlet: [ValveFault] = Array(repeating: .normal, count: maxChambers)
    public var exhaust: [ValveFault] = Array(repeating: .normal, count: maxChambers)
    public var sensor: [SensorFault] = Array(repeating: .none, count: maxChambers)
    /// Faults of the redundant transducers (boots that have them).
    public var redundantSensor: [SensorFault] = Array(repeating: .none, count: maxChambers)
    /// Kinked hose between the valve block and the bladder: the valves and the sensor (which sits
    /// at the valve block) see only the short hose; the bladder is cut off.
    public var occlusion: [Bool] = Array(repeating: false, count: maxChambers)
    /// Something pressing on the chamber (limb movement, someone leaning on the boot): the fraction
    /// of its resting volume squeezed out, 0…0.9.
    public var squeeze: [Double] = Array(repeating: 0, count: maxChambers)
    /// The garment's hose is off this outlet (or no garment at all): the valve block's port is open
    /// to the room, so the air the pump sends there escapes and the sensor reads 0.
    public var disconnected: [Bool] = Array(repeating: false, count: maxChambers)
    /// The I/O link is down: readings stop updating (and grow old), writes are lost.
    public var communicationLost = false
    /// 1 = healthy pump; 0.3 = a weak one.
    public var pumpStrength = 1.0
    public var pumpDead = false
    /// The pump runs whatever it is told (a welded relay).
    public var pumpStuckOn = false
    public var emergencyStop = false

    public init() {}

    @inline(__always) func occluded(_ c: Int) -> Bool { occlusion[c] }
}
