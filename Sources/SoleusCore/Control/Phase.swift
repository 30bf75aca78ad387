/// Where one chamber is within the current cycle.
public enum Phase: UInt8, Sendable, Equatable, CustomStringConvertible {
    /// Not yet inflated in this cycle (vented), or not taking part.
    case waiting
    /// Inflating towards the target (or following its ramp).
    case inflating
    /// Reached the target and holding it.
    case holding
    /// Settled to the lower hold pressure.
    case settled
    /// Released: venting.
    case released
    /// Held sealed at a low pressure after its release while the limb refills (refill-adaptive
    /// cycles): the refill is measured from its pressure.
    case sensing

    public var description: String {
        switch self {
        case .waiting: "wait"
        case .inflating: "inflate"
        case .holding: "hold"
        case .settled: "settle"
        case .released: "release"
        case .sensing: "sense"
        }
    }

    /// True while the chamber is meant to be pressurised.
    @inlinable public var isPressurised: Bool { self == .inflating || self == .holding || self == .settled }
}

/// Something the controller did, for the session log. Emitted into a preallocated buffer.
public struct ControlEvent: Sendable, Equatable {
    public enum Kind: String, Sendable, Equatable {
        case cycleStarted = "cycle-start"
        case inflate
        case reached
        case hold
        /// The boost zone's extra pressure starts (in the hold).
        case boost
        /// A step with a required rise time (`rise_s`) has not reached its target in that time.
        case riseLate = "rise-late"
        case release
        case cycleEnded = "cycle-end"
        /// A cycle's releases came later than its period allows.
        case overrun
        case setRest = "set-rest"
        /// The operator paused therapy: the running cycle is abandoned and every chamber vents.
        case paused
        /// Therapy resumes with a new cycle.
        case resumed
        /// The sensing chamber is sealed at its sensing pressure: the refill measurement begins.
        case refillSensing = "refill-sensing"
        /// A refill time was measured and sets the rest (``ControlEvent/refill``).
        case refillMeasured = "refill-measured"
        /// The measurement could not be trusted: the fixed rest applies (``ControlEvent/refill``
        /// says why).
        case refillFallback = "refill-fallback"
        case finished
    }
    public var kind: Kind
    /// Session time, seconds.
    public var time: Double
    /// Cycle number within the session, 1-based, counting prefix, main and suffix cycles.
    public var cycle: Int
    public var part: CyclePart
    /// Boot chamber index, or −1 when the event is not about one chamber.
    public var chamber: Int
    /// The pressure that matters for the event (target for inflate/hold, reading for reached).
    public var pressure: Double
    /// A refill measurement's result (refill events only).
    public var refill: RefillResult?

    public init(kind: Kind, time: Double, cycle: Int, part: CyclePart, chamber: Int = -1, pressure: Double = .nan, refill: RefillResult? = nil) {
        self.kind = kind
        self.time = time
        self.cycle = cycle
        self.part = part
        self.chamber = chamber
        self.pressure = pressure
        self.refill = refill
    }
}
