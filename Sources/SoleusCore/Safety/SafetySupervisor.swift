/// Why the supervisor forced the safe state.
public struct SafetyTrip: Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable, Equatable {
        case overPressure = "over-pressure"
        case invalidReading = "invalid-reading"
        case emergencyStop = "emergency-stop"
    }
    public var kind: Kind
    /// Session time of the trip (s).
    public var time: Double
    /// The chamber concerned, or −1.
    public var chamber: Int
    /// The reading that caused it (mmHg), or NaN.
    public var pressure: Double
    /// The limit it crossed (mmHg), or NaN.
    public var limit: Double

    public var description: String {
        switch kind {
        case .overPressure: "over-pressure: chamber \(chamber) read \(formatMMHg(pressure)) mmHg, above the ceiling of \(formatMMHg(limit)) mmHg"
        case .invalidReading: "invalid pressure reading on chamber \(chamber) (\(pressure))"
        case .emergencyStop: "emergency stop pressed"
        }
    }
}

/// The independent safety layer. Runs every tick *after* the controller, sees only the sensor
/// readings and the commanded outputs, and overrides the outputs with the safe state (pump off,
/// inlets closed, exhausts open) when a limit is crossed. A trip latches: once tripped, every
/// later tick is vented too, whatever the controller asks.
///
/// This is the basic layer (ceiling, invalid readings, E-stop); `docs/safety.md` lists the checks.
public struct SafetySupervisor: Sendable {
    public let limits: BootLimits
    public let chamberCount: Int
    /// The first trip, if any. Latched.
    public private(set) var trip: SafetyTrip?

    public init(limits: BootLimits, chamberCount: Int) {
        self.limits = limits
        self.chamberCount = chamberCount
    }

    /// Checks one tick; returns the outputs to apply (the commanded ones, or the safe state).
    public mutating func check(time: Double, inputs: BootInputs, commanded: BootOutputs) -> BootOutputs {
        if trip == nil { trip = evaluate(time: time, inputs: inputs) }
        return trip == nil ? commanded : .vented(chamberCount: chamberCount)
    }

    func evaluate(time: Double, inputs: BootInputs) -> SafetyTrip? {
        if inputs.emergencyStop {
            return SafetyTrip(kind: .emergencyStop, time: time, chamber: -1, pressure: .nan, limit: .nan)
        }
        for c in 0..<chamberCount {
            let p = inputs.pressures[c]
            if !p.isFinite {
                return SafetyTrip(kind: .invalidReading, time: time, chamber: c, pressure: p, limit: .nan)
            }
            if p > limits.ceiling.mmHg {
                return SafetyTrip(kind: .overPressure, time: time, chamber: c, pressure: p, limit: limits.ceiling.mmHg)
            }
        }
        return nil
    }
}
