/// Alarm priority after IEC 60601-1-8: high = immediate response, medium = prompt, low = awareness.
public enum AlarmPriority: Int, Sendable, Comparable, CustomStringConvertible {
    case low = 1, medium = 2, high = 3
    public static func < (a: AlarmPriority, b: AlarmPriority) -> Bool { a.rawValue < b.rawValue }
    public var description: String {
        switch self {
        case .low: "low"
        case .medium: "medium"
        case .high: "high"
        }
    }
}

/// What the supervisor does when a condition is present.
public enum AlarmReaction: Sendable, Equatable {
    /// Force the safe state (pump off, inlets closed, exhausts open) and end the session.
    case vent
    /// Alarm only; therapy goes on.
    case alarmOnly
}

/// Every condition the safety supervisor can detect. The policy of each (priority, latching,
/// reaction) is ``policy``: one table, mirrored in `docs/safety.md`.
public enum AlarmCondition: Int, Sendable, CaseIterable, CustomStringConvertible {
    case overPressure
    case overTarget
    case targetNotReached
    case leak
    case riseInletClosed
    case occlusion
    case noPressureRise
    case sensorFault
    case staleReadings
    case ventFailure
    case reverseGradient
    case sustainedPressure
    case emergencyStop
    /// One tick later than ``SafetySettings/overrunAfter``: its overshoot nears the regulation
    /// headroom (docs/safety.md, "Loop lateness").
    case loopOverrun
    /// A tick so late that the readings it acts on are older than the stale-readings limit.
    case loopStall
    /// Raised by the session runner, not the supervisor: the session log cannot be written.
    case storageFailure
    /// The two transducers of a chamber disagree (boots with a redundant pressure channel).
    case sensorDisagreement
    /// Air keeps going into a held chamber far beyond what a leak explains.
    case unexplainedAir
    /// Ticks keep missing their period (at least ``SafetySettings/lateShare`` of them over about
    /// ten seconds): each is harmless, but the controller's computer is overloaded.
    case loopLate

    public struct Policy: Sendable {
        /// The condition this row is about.
        public let condition: AlarmCondition
        public var priority: AlarmPriority
        /// A latching alarm stays on after its condition ends, until the operator resets it.
        public var latching: Bool
        public var reaction: AlarmReaction
        /// What the operator reads.
        public var meaning: String
        /// Opens the safety relay: every vent reaction does, so even a welded pump relay or a
        /// valve driver stuck on loses power.
        public var opensRelay: Bool { reaction == .vent }
        /// On a boot of two limbs whose profile says `on_limb_fault = "carry-on"`: can venting
        /// the faulted limb alone contain it, so the other limb carries on?
        public var confinement: Confinement {
            switch condition {
            // A faulty reading, a kinked hose, a garment that does not fill or was misprescribed:
            // the limb's own valves vent it, and nothing it shares with the other limb is at fault.
            case .targetNotReached, .leak, .sensorFault, .sensorDisagreement, .occlusion, .reverseGradient:
                .limb
            // The limb's valves or pump may not obey (pressure that should not be there, air that
            // goes nowhere, an exhaust that does not vent): only cutting its power contains it, so
            // the other limb carries on only if it has its own drive (pump and relay).
            case .overPressure, .overTarget, .riseInletClosed, .ventFailure, .unexplainedAir, .noPressureRise, .sustainedPressure:
                .ownDrive
            // Everything at once: the button, the loop, the I/O link, the log.
            case .emergencyStop, .staleReadings, .loopOverrun, .loopStall, .loopLate, .storageFailure:
                .boot
            }
        }
    }

    /// How far a venting fault reaches on a boot of two limbs (``Policy/confinement``).
    public enum Confinement: String, Sendable {
        /// Venting the faulted limb's chambers contains it.
        case limb
        /// Contained only by opening the faulted limb's own safety relay.
        case ownDrive = "own-drive"
        /// Every limb vents.
        case boot
    }

    /// The policy table.
    public var policy: Policy {
        switch self {
        case .overPressure: Policy(condition: self, priority: .high, latching: true, reaction: .vent, meaning: "pressure above the hardware ceiling")
        case .overTarget: Policy(condition: self, priority: .high, latching: true, reaction: .vent, meaning: "pressure above target + band for longer than the debounce")
        case .targetNotReached: Policy(condition: self, priority: .medium, latching: false, reaction: .vent, meaning: "target not reached in time (leak, disconnected garment, weak pump, valve stuck)")
        case .leak: Policy(condition: self, priority: .medium, latching: false, reaction: .alarmOnly, meaning: "pressure keeps falling in hold; the pump keeps topping up (leak)")
        case .riseInletClosed: Policy(condition: self, priority: .high, latching: true, reaction: .vent, meaning: "pressure rising with the inlet closed (inlet stuck open or leaking, or the garment pressed on)")
        case .occlusion: Policy(condition: self, priority: .high, latching: true, reaction: .vent, meaning: "pressure rising or falling implausibly fast (kinked or blocked hose: the sensor sees the hose, not the bladder)")
        case .noPressureRise: Policy(condition: self, priority: .medium, latching: false, reaction: .vent, meaning: "pump on with no pressure rise (pump failure or inlet stuck closed)")
        case .sensorFault: Policy(condition: self, priority: .high, latching: true, reaction: .vent, meaning: "pressure sensor out of range, invalid or frozen")
        case .staleReadings: Policy(condition: self, priority: .high, latching: false, reaction: .vent, meaning: "no fresh pressure readings (communication lost)")
        case .ventFailure: Policy(condition: self, priority: .high, latching: true, reaction: .vent, meaning: "pressure remains with the exhaust open (exhaust stuck closed or blocked, or sensor offset)")
        case .reverseGradient: Policy(condition: self, priority: .high, latching: false, reaction: .vent, meaning: "a proximal chamber above its distal neighbour during a compression")
        case .sustainedPressure: Policy(condition: self, priority: .high, latching: true, reaction: .vent, meaning: "a chamber pressurised for longer than allowed")
        case .emergencyStop: Policy(condition: self, priority: .high, latching: true, reaction: .vent, meaning: "emergency stop pressed")
        case .loopOverrun: Policy(condition: self, priority: .medium, latching: false, reaction: .alarmOnly, meaning: "control loop tick started late")
        // As stale as lost readings: nothing watched the chambers for that long.
        case .loopStall: Policy(condition: self, priority: .high, latching: true, reaction: .vent, meaning: "control loop stalled longer than the stale-readings limit")
        // Therapy itself is unaffected, so it goes on; latching, because records were lost.
        case .storageFailure: Policy(condition: self, priority: .medium, latching: true, reaction: .alarmOnly, meaning: "the session log cannot be written (disk full or failing); records are being lost")
        case .sensorDisagreement: Policy(condition: self, priority: .high, latching: true, reaction: .vent, meaning: "a chamber's two pressure transducers disagree (one has drifted, stuck or lost calibration)")
        case .unexplainedAir: Policy(condition: self, priority: .high, latching: true, reaction: .vent, meaning: "air keeps going into a held chamber without the pressure rising (torn bladder, or the sensor reads low)")
        case .loopLate: Policy(condition: self, priority: .low, latching: false, reaction: .alarmOnly, meaning: "control loop ticks keep missing their period (the controller's computer is overloaded); each is harmless")
        }
    }

    /// Stable identifier used in logs, scenario files and the API (`over-pressure`, ...).
    public var description: String {
        switch self {
        case .overPressure: "over-pressure"
        case .overTarget: "over-target"
        case .targetNotReached: "target-not-reached"
        case .leak: "leak"
        case .riseInletClosed: "rise-inlet-closed"
        case .occlusion: "occlusion"
        case .noPressureRise: "no-pressure-rise"
        case .sensorFault: "sensor-fault"
        case .staleReadings: "stale-readings"
        case .ventFailure: "vent-failure"
        case .reverseGradient: "reverse-gradient"
        case .sustainedPressure: "sustained-pressure"
        case .emergencyStop: "emergency-stop"
        case .loopOverrun: "loop-overrun"
        case .loopStall: "loop-stall"
        case .storageFailure: "storage-failure"
        case .sensorDisagreement: "sensor-disagreement"
        case .unexplainedAir: "unexplained-air"
        case .loopLate: "loop-late"
        }
    }

    /// The condition with this identifier.
    public init?(id: String) {
        guard let c = Self.allCases.first(where: { $0.description == id }) else { return nil }
        self = c
    }
}

/// A set of alarm conditions in one machine word.
public struct AlarmSet: Sendable, Hashable, OptionSet {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    public init(_ c: AlarmCondition) { rawValue = 1 << UInt32(c.rawValue) }
    public func contains(_ c: AlarmCondition) -> Bool { rawValue & (1 << UInt32(c.rawValue)) != 0 }
    public mutating func insert(_ c: AlarmCondition) { rawValue |= 1 << UInt32(c.rawValue) }
    public var conditions: [AlarmCondition] { AlarmCondition.allCases.filter { contains($0) } }
}

/// Where and why a condition was detected: the readings that caused it.
public struct AlarmDetail: Sendable, Equatable {
    /// Boot chamber index, or −1.
    public var chamber: Int
    /// The measured value (mmHg, mmHg/s, s; see ``limit``), or NaN.
    public var value: Double
    /// The threshold it crossed, or NaN.
    public var limit: Double
    /// Which of the condition's checks detected it, for conditions with more than one (0: the
    /// first; for `rise-inlet-closed`, 1 = too many exhaust trims while holding; for `occlusion`,
    /// 1 = too fast a fall; for `sensor-fault`, 1 = frozen while air moved, 2 = frozen while
    /// quiet, 3 = the redundant channel).
    public var check: Int

    public init(chamber: Int = -1, value: Double = .nan, limit: Double = .nan, check: Int = 0) {
        self.chamber = chamber
        self.value = value
        self.limit = limit
        self.check = check
    }
}
