import Foundation
import SoleusCore
import SoleusRuntime

/// The JSON bodies of the daemon's HTTP API (docs/openapi.json), shared by the server and the
/// CLI's remote mode. Keys are snake_case on the wire (``WireJSON``).
public enum APIModel {
    public struct ProtocolInfo: Codable, Sendable, Equatable {
        public var id: Int64
        public var name: String
        public var sha256: String
        public var uploadedAt: String
        /// The TOML text (only when one protocol is asked for).
        public var text: String?
        /// Timing the garment meets with little to spare (upload only).
        public var warnings: [String]?

        public init(_ p: StoredProtocol, withText: Bool, warnings: [String]? = nil) {
            id = p.id
            name = p.name
            sha256 = p.sha256
            uploadedAt = p.uploadedAt
            text = withText ? p.text : nil
            self.warnings = warnings
        }
    }

    public struct StartRequest: Codable, Sendable, Equatable {
        public var protocolId: Int64
        public var level: Int?
        public var minutes: Double?
        public var cycles: Int?
        public var limb: String?

        public init(protocolId: Int64, level: Int? = nil, minutes: Double? = nil, cycles: Int? = nil, limb: String? = nil) {
            self.protocolId = protocolId
            self.level = level
            self.minutes = minutes
            self.cycles = cycles
            self.limb = limb
        }
    }

    public struct Started: Codable, Sendable, Equatable {
        public var sessionId: Int64
        public init(sessionId: Int64) { self.sessionId = sessionId }
    }

    public struct Session: Codable, Sendable, Equatable {
        public var id: Int64
        public var startedAt: String
        public var endedAt: String?
        public var endReason: String?
        public var endDetail: String?
        public var durationS: Double?
        public var cyclesCompleted: Int?
        public var protocolName: String
        public var protocolPath: String
        public var protocolSha256: String
        public var profileName: String
        public var profilePath: String
        public var backend: String
        public var chambers: [String]
        public var speed: String
        public var level: Int?
        /// The protocol text the session ran (only when one session is asked for).
        public var protocolText: String?

        public init(_ s: SessionStore.SessionInfo, withText: Bool) {
            id = s.id
            startedAt = s.startedAt
            endedAt = s.endedAt
            endReason = s.endReason
            endDetail = s.endDetail
            durationS = s.duration.flatMap { $0.isFinite ? $0 : nil }
            cyclesCompleted = s.cyclesCompleted
            protocolName = s.protocolName
            protocolPath = s.protocolPath
            protocolSha256 = s.protocolSHA256
            profileName = s.profileName
            profilePath = s.profilePath
            backend = s.backend
            chambers = s.chambers
            speed = s.speed
            level = s.level
            protocolText = withText ? s.protocolText : nil
        }

        /// Back to the store's shape, for the CLI's shared printing.
        public var info: SessionStore.SessionInfo {
            SessionStore.SessionInfo(
                id: id, startedAt: startedAt, endedAt: endedAt, endReason: endReason, endDetail: endDetail, duration: durationS,
                cyclesCompleted: cyclesCompleted, protocolName: protocolName, protocolPath: protocolPath, protocolText: protocolText ?? "",
                protocolSHA256: protocolSha256, profileName: profileName, profilePath: profilePath, backend: backend, chambers: chambers,
                speed: speed, level: level)
        }
    }

    /// What one compression did for the limb (simulated limbs).
    public struct Compression: Codable, Sendable, Equatable {
        public var limb: Int
        public var number: Int
        public var startS: Double
        public var endS: Double?
        public var expelledMl: Double
        public var peakFlowMlS: Double
        public var peakVelocityCmS: Double
        public var refillS: Double?

        public init(_ n: NumberedCompression) {
            let c = n.compression
            limb = c.limb
            number = n.number
            startS = c.start.isFinite ? c.start : 0
            endS = c.end.isFinite ? c.end : nil
            expelledMl = c.expelledML.isFinite ? c.expelledML : 0
            peakFlowMlS = c.peakFlowMLPerS.isFinite ? c.peakFlowMLPerS : 0
            peakVelocityCmS = c.peakVelocityCMPerS.isFinite ? c.peakVelocityCMPerS : 0
            refillS = c.refillSeconds.isFinite ? c.refillSeconds : nil
        }

        public var numbered: NumberedCompression {
            NumberedCompression(number: number, compression: LimbCompression(
                limb: limb, start: startS, end: endS ?? .nan, expelledML: expelledMl, peakFlowMLPerS: peakFlowMlS,
                peakVelocityCMPerS: peakVelocityCmS, refillSeconds: refillS ?? .nan))
        }
    }

    public struct Cycle: Codable, Sendable, Equatable {
        public var cycle: Int
        public var part: String
        public var chamber: String
        public var targetMmhg: Double
        public var peakMmhg: Double
        public var inflateOffsetS: Double
        /// Null when the target was never reached.
        public var timeToTargetS: Double?
        public var timeAtTargetS: Double

        public init(chamber: String, _ c: CycleSummary) {
            cycle = c.cycle
            part = c.part.rawValue
            self.chamber = chamber
            targetMmhg = Self.finite(c.target)
            peakMmhg = Self.finite(c.peak)
            inflateOffsetS = Self.finite(c.inflateOffset)
            timeToTargetS = c.timeToTarget.isFinite ? c.timeToTarget : nil
            timeAtTargetS = Self.finite(c.timeAtTarget)
        }

        static func finite(_ v: Double) -> Double { v.isFinite ? v : 0 }

        public func summary(chambers: [String]) -> CycleSummary {
            CycleSummary(cycle: cycle, part: CyclePart(rawValue: part) ?? .main, chamber: chambers.firstIndex(of: chamber) ?? -1,
                         target: targetMmhg, inflateOffset: inflateOffsetS, timeToTarget: timeToTargetS ?? .nan, peak: peakMmhg,
                         timeAtTarget: timeAtTargetS)
        }
    }

    public struct Event: Codable, Sendable, Equatable {
        public var tS: Double?
        public var cycle: Int
        public var kind: String
        public var chamber: String?
        public var mmhg: Double?
        public var message: String

        public init(_ e: SessionEvent) {
            tS = e.time.isFinite ? e.time : nil
            cycle = e.cycle
            kind = e.kind
            chamber = e.chamber
            mmhg = e.pressure.flatMap { $0.isFinite ? $0 : nil }
            message = e.message
        }

        public var event: SessionEvent {
            SessionEvent(time: tS ?? .nan, cycle: cycle, kind: kind, chamber: chamber, pressure: mmhg, message: message)
        }
    }

    /// The data of a `session-event` on the live stream: an event in the export's JSON Lines shape
    /// (`event`, `mmHg`; docs/openapi.json, StreamSessionEvent), with its session's id.
    public struct StreamEvent: Decodable, Sendable, Equatable {
        public var sessionId: Int64
        public var event: String
        public var tS: Double?
        public var cycle: Int
        public var chamber: String?
        public var mmHg: Double?
        public var message: String
    }

    public struct Problem: Codable, Sendable, Equatable {
        public var error: String
        public var problems: [String]?
        public init(error: String, problems: [String]? = nil) {
            self.error = error
            self.problems = problems
        }
    }

    public struct Health: Codable, Sendable, Equatable {
        public var status: String
        public var therapy: String
        public var apiPid: Int32

        public init(status: String, therapy: String, apiPid: Int32) {
            self.status = status
            self.therapy = therapy
            self.apiPid = apiPid
        }
    }
}
