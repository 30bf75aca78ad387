/// A protocol checked against one boot and resolved to that boot's chamber indices and absolute
/// pressures: what the controller executes. Made only by ``ProtocolValidator``.
public struct TreatmentPlan: Sendable, Equatable {
    /// The protocol's name, for logs.
    public var name: String
    /// The boot's chamber names, distal → proximal (the controller drives all of them; chambers the
    /// protocol does not use stay vented).
    public var bootChambers: [String]
    public var length: SessionLength
    public var prefix: CyclePlan?
    /// The main part's phases, in order; the list repeats for the session length.
    public var phases: [PhasePlan]
    public var suffix: CyclePlan?
    /// Pressures built up over the first main cycles.
    public var buildUp: BuildUp?
    /// The intensity level in use, if the protocol has levels.
    public var level: Int?
    /// The sustained-pressure limit in force: the protocol's, or else the profile's (s).
    public var maxCompressionSeconds: Double
    /// The limbs it runs on, and when each starts. The plan's chambers are one limb's; every
    /// limb it runs on has the same garment.
    public var limbs: [LimbRun] = [LimbRun(limb: 0, offsetSeconds: 0)]
    /// Refill-adaptive rests of the main cycles, if the protocol asks for them.
    public var refill: RefillPlan?

    /// Number of chambers on the boot.
    public var chamberCount: Int { bootChambers.count }
    /// The first phase's cycle.
    public var cycle: CyclePlan { phases[0].cycle }
    /// Every cycle plan of the session: prefix, phases, suffix.
    public var allCycles: [CyclePlan] { (prefix.map { [$0] } ?? []) + phases.map(\.cycle) + (suffix.map { [$0] } ?? []) }
}

/// ``RefillSensing`` resolved: the sensing chamber's index in the plan's chambers, and the fixed
/// rest that applies until a measurement is trusted.
public struct RefillPlan: Sendable, Equatable {
    public var chamber: Int
    public var sensing: Pressure
    public var minRestSeconds: Double
    public var maxRestSeconds: Double
    public var everyCycles: Int
    public var fixedRestSeconds: Double

    public init(chamber: Int, sensing: Pressure, minRestSeconds: Double, maxRestSeconds: Double, everyCycles: Int, fixedRestSeconds: Double) {
        self.chamber = chamber
        self.sensing = sensing
        self.minRestSeconds = minRestSeconds
        self.maxRestSeconds = maxRestSeconds
        self.everyCycles = everyCycles
        self.fixedRestSeconds = fixedRestSeconds
    }

    /// The rest a measured refill time sets: the refill time within the bounds.
    public func rest(forRefill seconds: Double) -> Double { min(max(seconds, minRestSeconds), maxRestSeconds) }
}

/// One limb a plan runs on.
public struct LimbRun: Sendable, Equatable {
    /// Index into ``BootDescription/limbs``.
    public var limb: Int
    /// Session time (s) at which this limb's first cycle starts: 0, or the alternating offset.
    public var offsetSeconds: Double

    public init(limb: Int, offsetSeconds: Double) {
        self.limb = limb
        self.offsetSeconds = offsetSeconds
    }
}

/// One phase of the main part, resolved.
public struct PhasePlan: Sendable, Equatable {
    public var name: String
    public var repeatCount: Int
    public var cycle: CyclePlan
}

/// Which part of a session a cycle belongs to.
public enum CyclePart: String, Sendable, Equatable, CaseIterable {
    case prefix, main, suffix
}

/// One cycle resolved to chamber indices and absolute pressures.
public struct CyclePlan: Sendable, Equatable {
    public var pacing: CyclePacing
    /// The steps in the protocol's order; a chamber may have several that follow each other.
    /// Triggers refer to steps by their index here.
    public var steps: [StepPlan]
    /// Per step, when it inflates and releases (s after the cycle starts), where that depends on
    /// the clock only; nil where it waits on a pressure event. Found by validation.
    public internal(set) var fixedInflate: [Double?] = []
    public internal(set) var fixedRelease: [Double?] = []
}

/// One chamber's inflate → (hold) → release within a cycle.
public struct StepPlan: Sendable, Equatable {
    /// Boot chamber index (0 = most distal).
    public var chamber: Int
    public var target: Pressure
    public var inflate: PlanTrigger
    public var rampSeconds: Double
    public var holdPressure: Pressure?
    public var hold: PlanTrigger?
    public var release: PlanTrigger
    /// Extra pressure added in the hold (the boost zone); 0 without one.
    public var boost: Pressure = Pressure(mmHg: 0)
    /// The required rise time (s), if the protocol gives one.
    public var riseSeconds: Double?
    /// The step's name for triggers and logs, and where it is in the protocol file
    /// (`cycle.chamber[1]`), for messages.
    public var id: String = ""
    public var keyPath: String = ""
}

/// A trigger resolved to step indices of its cycle.
public struct PlanTrigger: Sendable, Equatable {
    public enum Event: Sendable, Equatable {
        case cycleStart
        /// Step index within the cycle.
        case inflated(Int)
        case reached(Int)
        case allReached
        case released(Int)
    }
    public var event: Event
    public var delay: Double
}
