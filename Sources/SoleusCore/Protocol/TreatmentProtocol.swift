/// A treatment protocol as written in `protocols/*.toml`: what to squeeze, how hard, in what order
/// and for how long. It is data; ``ProtocolValidator`` checks it against a boot and turns it into a
/// ``TreatmentPlan`` before anything can run.
///
/// The format is documented in `docs/protocols.md`.
public struct TreatmentProtocol: Sendable, Equatable {
    /// A human name, shown in session logs (e.g. "DVT prophylaxis, 3-chamber sequential").
    public var name: String
    /// Free text: indication, source of the numbers.
    public var summary: String
    /// Chamber names, distal → proximal. Each must exist in the hardware profile, in the same order.
    public var chambers: [String]
    /// How long the main part runs.
    public var length: SessionLength
    /// Named intensity levels, for protocols whose targets follow a level (recovery wave).
    public var intensity: Intensity?
    /// An optional cycle run once before the main cycles (e.g. proximal pre-clearance).
    public var prefix: CycleDefinition?
    /// The main part: phases run in order, each its `repeatCount` cycles, and the list repeated
    /// for the session length. A protocol with one `[cycle]` has one phase.
    public var phases: [ProgramPhase]
    /// An optional cycle run once after the main cycles (e.g. a final vent).
    public var suffix: CycleDefinition?
    /// The longest a chamber may stay pressurised in one go (s), if shorter than the profile's.
    public var maxCompressionSeconds: Double?
    /// Pressures built up over the first main cycles, if the protocol asks for it.
    public var buildUp: BuildUp?
    /// Which limbs of the boot the protocol runs on, and how.
    public var limbs: LimbMode = .single
    /// Rest set by the limb's measured refill time (`[refill]`), if the protocol asks for it.
    public var refill: RefillSensing?

    /// The first phase's cycle (the only one of a protocol written with `[cycle]`).
    public var cycle: CycleDefinition {
        get { phases[0].cycle }
        set { phases[0].cycle = newValue }
    }

    public init(
        name: String, summary: String = "", chambers: [String], length: SessionLength,
        intensity: Intensity? = nil, prefix: CycleDefinition? = nil, cycle: CycleDefinition,
        suffix: CycleDefinition? = nil
    ) {
        self.init(name: name, summary: summary, chambers: chambers, length: length, intensity: intensity,
                  prefix: prefix, phases: [ProgramPhase(cycle: cycle)], suffix: suffix)
    }

    public init(
        name: String, summary: String = "", chambers: [String], length: SessionLength,
        intensity: Intensity? = nil, prefix: CycleDefinition? = nil, phases: [ProgramPhase],
        suffix: CycleDefinition? = nil
    ) {
        self.name = name
        self.summary = summary
        self.chambers = chambers
        self.length = length
        self.intensity = intensity
        self.prefix = prefix
        self.phases = phases
        self.suffix = suffix
    }
}

/// Refill-adaptive cycles (`[refill]`, `docs/protocols.md`): after a compression one chamber
/// is held sealed at a low sensing pressure while the limb refills; the time the pressure takes to
/// level off sets the next cycles' rest, within bounds, and is measured again every
/// `everyCycles` cycles. Whenever a measurement cannot be trusted the cycle's fixed `rest_s`
/// applies.
public struct RefillSensing: Sendable, Equatable {
    /// The chamber that senses the refill (usually the calf: most of the blood moves there).
    public var chamber: String
    /// The sealed sleeve's pressure while sensing (mmHg).
    public var sensingMmHg: Double
    /// The shortest and longest rest a measurement may set (s).
    public var minRestSeconds: Double
    public var maxRestSeconds: Double
    /// Measure in the first main cycle and then every this many cycles.
    public var everyCycles: Int

    public init(chamber: String, sensingMmHg: Double = 5, minRestSeconds: Double, maxRestSeconds: Double, everyCycles: Int = 10) {
        self.chamber = chamber
        self.sensingMmHg = sensingMmHg
        self.minRestSeconds = minRestSeconds
        self.maxRestSeconds = maxRestSeconds
        self.everyCycles = everyCycles
    }
}

/// One phase of the main part: a cycle run `repeatCount` times in a row before the next phase
/// (e.g. a proximal clearance once, then the distal → proximal sequence five times).
public struct ProgramPhase: Sendable, Equatable {
    /// A name for logs ("clearance", "sequence"); empty for the one cycle of a protocol written
    /// with `[cycle]`.
    public var name: String
    public var repeatCount: Int
    public var cycle: CycleDefinition

    public init(name: String = "", repeatCount: Int = 1, cycle: CycleDefinition) {
        self.name = name
        self.repeatCount = repeatCount
        self.cycle = cycle
    }
}

/// Pressures that build up over the first main cycles, as lymphoedema pumps do by design: cycle
/// 1 runs at `startFraction` of every pressure, rising linearly to the full pressures at cycle
/// `cycles`.
public struct BuildUp: Sendable, Equatable {
    public var cycles: Int
    public var startFraction: Double

    public init(cycles: Int, startFraction: Double) {
        self.cycles = cycles
        self.startFraction = startFraction
    }

    /// The share of the prescribed pressures for main cycle `n` (1-based).
    public func fraction(mainCycle n: Int) -> Double {
        guard cycles > 1, n < cycles else { return 1 }
        return startFraction + (1 - startFraction) * Double(max(n, 1) - 1) / Double(cycles - 1)
    }
}

/// How a protocol runs on a boot with more than one limb.
public enum LimbMode: Sendable, Equatable {
    /// On one limb (chosen when the session starts, e.g. `soleus run --limb left`).
    case single
    /// On every limb at once, in step.
    case together
    /// On every limb, each limb's cycles starting `offsetSeconds` after the previous limb's (the
    /// alternating legs of DVT pumps). Nil: half the first phase's period.
    case alternating(offsetSeconds: Double?)
}

/// How long the main part of a session runs.
public enum SessionLength: Sendable, Equatable {
    /// Start cycles until this many minutes have passed since the first main cycle began; the
    /// cycle running at that moment finishes (a compression is never cut short).
    case minutes(Double)
    /// Exactly this many cycles.
    case cycles(Int)
    /// `count` sets of `cyclesPerSet` cycles with `restSeconds` of rest (all vented) between sets.
    case sets(count: Int, cyclesPerSet: Int, restSeconds: Double)
}

/// Intensity levels: a table of pressures a protocol's targets can refer to, and the chosen level.
public struct Intensity: Sendable, Equatable {
    /// Level 1 is `levels[0]`.
    public var levels: [Pressure]
    /// The level in use, 1-based (the CLI's `--level` can override it).
    public var level: Int
    /// An optional extra pressure on one chamber (the "boost zone").
    public var boost: Boost?

    public struct Boost: Sendable, Equatable {
        public var chamber: String
        public var extra: Pressure
        public init(chamber: String, extra: Pressure) {
            self.chamber = chamber
            self.extra = extra
        }
    }

    public init(levels: [Pressure], level: Int, boost: Boost? = nil) {
        self.levels = levels
        self.level = level
        self.boost = boost
    }
}

/// A target pressure as written: absolute, or relative to the intensity level.
public enum PressureSpec: Sendable, Equatable {
    case absolute(Pressure)
    /// The intensity level's pressure plus this offset (usually negative, for a gradient).
    case levelOffset(Pressure)
}

/// One cycle: what each taking-part chamber does, and how the cycle is paced.
public struct CycleDefinition: Sendable, Equatable {
    public var pacing: CyclePacing
    /// The chambers that inflate in this cycle; the others stay vented throughout.
    public var steps: [ChamberStep]

    public init(pacing: CyclePacing, steps: [ChamberStep]) {
        self.pacing = pacing
        self.steps = steps
    }
}

/// When the next cycle starts.
public enum CyclePacing: Sendable, Equatable {
    /// Start to start, in seconds (the brief's "60 s cycle"). If a cycle's releases come later
    /// than this, the next cycle starts at the last release and an overrun is logged.
    case period(Double)
    /// Rest, in seconds, after the last chamber of the cycle released.
    case rest(Double)
}

/// What one chamber does in one cycle: inflate to a target, optionally settle to a lower hold
/// pressure, then release (vent).
public struct ChamberStep: Sendable, Equatable {
    /// Chamber name from the protocol's list.
    public var chamber: String
    public var target: PressureSpec
    /// When inflation starts.
    public var inflate: Trigger
    /// Seconds over which the set point rises linearly to the target; 0 means as fast as the pump
    /// allows.
    public var rampSeconds: Double
    /// An optional lower pressure to settle to after the target (the "pulse → gradient hold" of
    /// recovery boots), and when.
    public var hold: HoldStep?
    /// When the chamber vents.
    public var release: Trigger
    /// The name triggers use for this step (`"calf-2.reached"`): the chamber's name unless given.
    /// A chamber that inflates twice in a cycle needs an id on its second step.
    public var id: String?
    /// The chamber must reach its target within this many seconds of inflating (a rapid-inflation
    /// device's specification); validation checks the garment can, and a late rise is logged.
    public var riseSeconds: Double?

    /// The name triggers refer to this step by.
    public var stepID: String { id ?? chamber }

    public struct HoldStep: Sendable, Equatable {
        public var pressure: PressureSpec
        public var at: Trigger
        public init(pressure: PressureSpec, at: Trigger) {
            self.pressure = pressure
            self.at = at
        }
    }

    public init(
        chamber: String, target: PressureSpec, inflate: Trigger, rampSeconds: Double = 0,
        hold: HoldStep? = nil, release: Trigger, id: String? = nil, riseSeconds: Double? = nil
    ) {
        self.id = id
        self.riseSeconds = riseSeconds
        self.chamber = chamber
        self.target = target
        self.inflate = inflate
        self.rampSeconds = rampSeconds
        self.hold = hold
        self.release = release
    }
}

/// "`delay` seconds after `event`": when a chamber inflates, settles or releases.
public struct Trigger: Sendable, Equatable, CustomStringConvertible {
    public var event: TriggerEvent
    public var delaySeconds: Double

    public init(_ event: TriggerEvent, delay: Double = 0) {
        self.event = event
        self.delaySeconds = delay
    }

    /// `seconds` after the cycle starts.
    public static func at(_ seconds: Double) -> Trigger { Trigger(.cycleStart, delay: seconds) }

    public var description: String {
        let d = delaySeconds == 0 ? "" : " + \(formatFixed(delaySeconds, decimals: 2)) s"
        return "\(event)\(d)"
    }
}

/// Events within a cycle that triggers can follow.
public enum TriggerEvent: Sendable, Equatable, CustomStringConvertible {
    /// The cycle began.
    case cycleStart
    /// The named chamber started inflating.
    case inflated(String)
    /// The named chamber first reached its target in this cycle.
    case reached(String)
    /// Every chamber of the cycle has reached its target ("hold until all inflated").
    case allReached
    /// The named chamber released.
    case released(String)

    public var description: String {
        switch self {
        case .cycleStart: "cycle"
        case .inflated(let c): "\(c).inflate"
        case .reached(let c): "\(c).reached"
        case .allReached: "all.reached"
        case .released(let c): "\(c).release"
        }
    }
}
