import SoleusCore

/// One pressure/output sample of a session log.
public struct SessionSample: Sendable, Equatable {
    /// Session time (s), monotonic from the session's start.
    public var time: Double
    public var pressures: ChamberValues
    public var outputs: BootOutputs

    public init(time: Double, pressures: ChamberValues, outputs: BootOutputs) {
        self.time = time
        self.pressures = pressures
        self.outputs = outputs
    }
}

/// One entry of a session's event log: a phase change, a safety trip, an operator command.
public struct SessionEvent: Sendable, Equatable {
    public var time: Double
    /// Cycle number (1-based), 0 outside cycles.
    public var cycle: Int
    /// Machine-readable kind: `cycle-start`, `inflate`, `reached`, `hold`, `release`, `cycle-end`,
    /// `overrun`, `set-rest`, `finished`, `alarm`, `alarm-ended`, `alarm-acknowledged`,
    /// `alarm-reset`, `audio-paused`, `safe-state`, `operator-stop`, `hardware-error`, `vented`,
    /// `vent-unconfirmed`.
    public var kind: String
    /// Chamber name, when the event is about one chamber.
    public var chamber: String?
    /// The pressure that matters for the event (mmHg), if any.
    public var pressure: Double?
    /// Human-readable detail.
    public var message: String

    public init(time: Double, cycle: Int, kind: String, chamber: String? = nil, pressure: Double? = nil, message: String = "") {
        self.time = time
        self.cycle = cycle
        self.kind = kind
        self.chamber = chamber
        self.pressure = pressure
        self.message = message
    }
}

/// Why a session ended.
public enum EndReason: String, Sendable, Equatable {
    /// The protocol ran to its end.
    case completed
    /// The operator stopped it (Ctrl-C, stop command).
    case stopped
    /// The safety supervisor forced the safe state.
    case safetyTrip = "safety-trip"
    /// The hardware failed (read or write error).
    case hardwareError = "hardware-error"
    /// The process ended without recording an end (crash, power loss); set on the next start.
    case interrupted
    /// The session reached the profile's longest session (`limits.max_session_min`). Validation
    /// rejects protocols that must run longer; this ends one that waits on pressures so long it
    /// would.
    case lengthLimit = "length-limit"
    /// Therapy ran to its end, but the session log could not be stored in full (the detail says
    /// what was lost). Never reported as `completed`.
    case storageFailure = "storage-failure"
    /// On a boot of two limbs: a fault confined to one limb vented it, and the other limbs ran
    /// to the end (profile `on_limb_fault = "carry-on"`). The detail names the limb and the fault.
    case limbVented = "limb-vented"
    /// The garment check before therapy found no garment, or not the profile's: nothing was run
    /// (the detail says what was expected and what was found).
    case garmentNotDetected = "garment-not-detected"
}

/// What the runner hands the store at the start of a session.
public struct SessionHeader: Sendable {
    public var protocolName: String
    public var protocolPath: String
    public var protocolText: String
    public var profileName: String
    public var profilePath: String
    public var profileText: String
    public var backend: String
    public var chambers: [String]
    public var speed: String
    public var level: Int?

    public init(protocolName: String, protocolPath: String, protocolText: String, profileName: String, profilePath: String, profileText: String, backend: String, chambers: [String], speed: String, level: Int?) {
        self.protocolName = protocolName
        self.protocolPath = protocolPath
        self.protocolText = protocolText
        self.profileName = profileName
        self.profilePath = profilePath
        self.profileText = profileText
        self.backend = backend
        self.chambers = chambers
        self.speed = speed
        self.level = level
    }
}

/// How a session ended, as stored.
public struct SessionEnd: Sendable, Equatable {
    public var reason: EndReason
    public var detail: String
    /// Session time at the end, including the final vent (s).
    public var duration: Double
    public var cyclesCompleted: Int

    public init(reason: EndReason, detail: String, duration: Double, cyclesCompleted: Int) {
        self.reason = reason
        self.detail = detail
        self.duration = duration
        self.cyclesCompleted = cyclesCompleted
    }
}

/// A batch of log records handed to the sink.
public struct LogBatch: Sendable {
    public var samples: [SessionSample] = []
    public var events: [SessionEvent] = []
    public var summaries: [CycleSummary] = []
    public var compressions: [NumberedCompression] = []
    public var isEmpty: Bool { samples.isEmpty && events.isEmpty && summaries.isEmpty && compressions.isEmpty }
    public init() {}
}

/// A limb compression with its number within its limb (1-based), as the log keeps it.
public struct NumberedCompression: Sendable, Equatable {
    public var number: Int
    public var compression: LimbCompression
    public init(number: Int, compression: LimbCompression) {
        self.number = number
        self.compression = compression
    }
}

/// Where a running session's log goes. The SQLite ``SessionStore`` in production; tests may keep it
/// in memory.
public protocol SessionSink: AnyObject {
    /// Records the start; returns the session id.
    func begin(_ header: SessionHeader) throws -> Int64
    /// Appends records to session `id`.
    func append(_ batch: LogBatch, to id: Int64) throws
    /// Records the end.
    func end(_ id: Int64, _ end: SessionEnd) throws
}

/// A sink that keeps everything in memory (tests, dry runs).
public final class MemorySessionLog: SessionSink {
    public private(set) var header: SessionHeader?
    public private(set) var samples: [SessionSample] = []
    public private(set) var events: [SessionEvent] = []
    public private(set) var summaries: [CycleSummary] = []
    public private(set) var compressions: [NumberedCompression] = []
    public private(set) var ending: SessionEnd?

    public init() {}
    public func begin(_ header: SessionHeader) throws -> Int64 {
        self.header = header
        return 1
    }
    public func append(_ batch: LogBatch, to id: Int64) throws {
        samples += batch.samples
        events += batch.events
        summaries += batch.summaries
        compressions += batch.compressions
    }
    public func end(_ id: Int64, _ end: SessionEnd) throws { ending = end }
}

/// The session ran and the boot was vented, but its end (and possibly more) could not be stored.
public struct SessionLogError: Error, CustomStringConvertible, Sendable {
    public var description: String
}
