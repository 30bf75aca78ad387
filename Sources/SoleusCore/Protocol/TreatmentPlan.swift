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
    public var cycle: CyclePlan
    public var suffix: CyclePlan?
    /// The intensity level in use, if the protocol has levels.
    public var level: Int?
    /// The sustained-pressure limit in force: the protocol's, or else the profile's (s).
    public var maxCompressionSeconds: Double

    /// Number of chambers on the boot.
    public var chamberCount: Int { bootChambers.count }
}

/// Which part of a session a cycle belongs to.
public enum CyclePart: String, Sendable, Equatable, CaseIterable {
    case prefix, main, suffix
}

/// One cycle resolved to chamber indices and absolute pressures.
public struct CyclePlan: Sendable, Equatable {
    public var pacing: CyclePacing
    /// At most one step per chamber, ordered distal → proximal.
    public var steps: [StepPlan]
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
}

/// A trigger resolved to boot chamber indices.
public struct PlanTrigger: Sendable, Equatable {
    public enum Event: Sendable, Equatable {
        case cycleStart
        case inflated(Int)
        case reached(Int)
        case allReached
        case released(Int)
    }
    public var event: Event
    public var delay: Double
}
