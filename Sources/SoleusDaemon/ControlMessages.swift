import Foundation
import SoleusCore
import SoleusRuntime

/// What the API process asks of the therapy process, one request per connection on the control
/// socket (one JSON line each way).
public struct ControlRequest: Codable, Sendable, Equatable {
    public enum Operation: String, Codable, Sendable {
        case status, start, command, ping
    }

    public var op: Operation
    /// For `start`: the stored protocol, and the optional overrides.
    public var protocolId: Int64?
    public var level: Int?
    public var minutes: Double?
    public var cycles: Int?
    public var limb: String?
    /// For `command`: an ``OperatorCommand`` raw value.
    public var command: String?

    public init(op: Operation, protocolId: Int64? = nil, level: Int? = nil, minutes: Double? = nil, cycles: Int? = nil, limb: String? = nil, command: String? = nil) {
        self.op = op
        self.protocolId = protocolId
        self.level = level
        self.minutes = minutes
        self.cycles = cycles
        self.limb = limb
        self.command = command
    }
}

/// The therapy process's answer. `status` is an HTTP status code the API passes on.
public struct ControlReply: Codable, Sendable {
    public var status: Int
    public var error: String?
    /// Problems of a protocol that cannot start, one line each (as `soleus validate` prints them).
    public var problems: [String]?
    public var sessionId: Int64?
    public var report: StatusReport?

    public init(status: Int, error: String? = nil, problems: [String]? = nil, sessionId: Int64? = nil, report: StatusReport? = nil) {
        self.status = status
        self.error = error
        self.problems = problems
        self.sessionId = sessionId
        self.report = report
    }

    public static func failure(_ status: Int, _ error: String, problems: [String]? = nil) -> ControlReply {
        ControlReply(status: status, error: error, problems: problems)
    }
}

/// The device's state for a display: what `GET /v1/status` returns and the live stream sends.
public struct StatusReport: Codable, Sendable, Equatable {
    public struct Chamber: Codable, Sendable, Equatable {
        public var name: String
        public var pressureMmhg: Double?
        public var targetMmhg: Double
        public var phase: String
        public var inletOpen: Bool
        public var exhaustOpen: Bool
    }

    public struct Alarm: Codable, Sendable, Equatable {
        public var condition: String
        public var priority: String
        public var active: Bool
        public var acknowledged: Bool
        public var meaning: String
    }

    public struct Loop: Codable, Sendable, Equatable {
        public var periodS: Double
        public var ticks: Int
        public var p50S: Double
        public var p99S: Double
        public var p999S: Double
        public var maxS: Double
        public var missedPeriods: Int
        public var paced: Bool
    }

    public struct LastSession: Codable, Sendable, Equatable {
        public var id: Int64
        public var endReason: String
        public var detail: String
    }

    /// "idle", "starting", "running", "paused" or "stopping".
    public var state: String
    public var hardware: String
    public var speed: String
    public var sessionId: Int64?
    public var protocolName: String?
    public var timeS: Double?
    public var part: String?
    public var cycle: Int?
    public var set: Int?
    public var pump: Bool?
    public var chambers: [Chamber]
    public var alarms: [Alarm]
    public var audioPaused: Bool
    public var loop: Loop?
    public var lastSession: LastSession?

    public init(state: String, hardware: String, speed: String, chambers: [String]) {
        self.state = state
        self.hardware = hardware
        self.speed = speed
        self.chambers = chambers.map { Chamber(name: $0, pressureMmhg: nil, targetMmhg: 0, phase: "vented", inletOpen: false, exhaustOpen: true) }
        alarms = []
        audioPaused = false
    }

    /// Fills in a running session's snapshot.
    mutating func take(_ p: SessionProgress, names: [String]) {
        timeS = p.time
        part = p.part.rawValue
        cycle = p.cycle
        set = p.set
        pump = p.outputs.pump
        chambers = names.indices.map { c in
            Chamber(name: names[c], pressureMmhg: p.pressures[c].isFinite ? p.pressures[c] : nil, targetMmhg: p.setPoints[c], phase: p.phases[c].description,
                    inletOpen: p.outputs.inlets.contains(index: c), exhaustOpen: p.outputs.exhausts.contains(index: c))
        }
        alarms = AlarmCondition.allCases.filter { p.alarmsShown.contains($0) }.map { c in
            Alarm(condition: c.description, priority: "\(c.policy.priority)", active: p.alarmsActive.contains(c),
                  acknowledged: p.alarmsAcknowledged.contains(c), meaning: c.policy.meaning)
        }.sorted { $0.priority == $1.priority ? $0.condition < $1.condition : Self.rank($0.priority) > Self.rank($1.priority) }
        audioPaused = p.audioPausedUntil > p.time
        let t = p.timing
        loop = Loop(periodS: t.period, ticks: t.ticks, p50S: t.p50, p99S: t.p99, p999S: t.p999, maxS: t.max, missedPeriods: t.overruns, paced: t.paced)
        if p.paused { state = "paused" }
    }

    static func rank(_ priority: String) -> Int { ["low": 1, "medium": 2, "high": 3][priority] ?? 0 }
}

/// JSON as the API speaks it: snake_case keys, sorted, so the same value always gives the same text.
public enum WireJSON {
    public static func encoder() -> JSONEncoder {
        let e = JSONEncoder()
        e.keyEncodingStrategy = .convertToSnakeCase
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        e.nonConformingFloatEncodingStrategy = .throw
        return e
    }

    public static func decoder() -> JSONDecoder {
        let d = JSONDecoder()
        d.keyDecodingStrategy = .convertFromSnakeCase
        return d
    }

    public static func encode<T: Encodable>(_ value: T) throws -> Data { try encoder().encode(value) }
    public static func decode<T: Decodable>(_ type: T.Type, from data: Data) throws -> T { try decoder().decode(type, from: data) }
}
