import Crypto
import Foundation
import GRDB
import SoleusCore

/// The session log on disk: one SQLite database (WAL journal, so a crash loses at most the batch
/// being written) holding sessions, events, cycle summaries and samples.
public final class SessionStore: SessionSink, Sendable {
    let db: DatabasePool
    /// The database file.
    public let path: String

    /// Opens (creating if needed) the store in `directory`.
    public init(directory: String) throws {
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw StoreError("cannot create the data directory \(directory): \(error.localizedDescription)")
        }
        path = (directory as NSString).appendingPathComponent("soleus.sqlite")
        do {
            db = try DatabasePool(path: path)
            try Self.migrator.migrate(db)
        } catch {
            throw StoreError("cannot open the session database \(path): \(error)")
        }
    }

    static var migrator: DatabaseMigrator {
        var m = DatabaseMigrator()
        m.registerMigration("v1") { db in
            try db.execute(sql: """
                CREATE TABLE session (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    started_at TEXT NOT NULL,
                    ended_at TEXT,
                    end_reason TEXT,
                    end_detail TEXT,
                    duration_s REAL,
                    cycles_completed INTEGER,
                    protocol_name TEXT NOT NULL,
                    protocol_path TEXT NOT NULL,
                    protocol_text TEXT NOT NULL,
                    protocol_sha256 TEXT NOT NULL,
                    profile_name TEXT NOT NULL,
                    profile_path TEXT NOT NULL,
                    profile_text TEXT NOT NULL,
                    backend TEXT NOT NULL,
                    chambers TEXT NOT NULL,
                    speed TEXT NOT NULL,
                    level INTEGER
                );
                CREATE TABLE event (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    session_id INTEGER NOT NULL REFERENCES session(id),
                    t REAL NOT NULL,
                    cycle INTEGER NOT NULL,
                    kind TEXT NOT NULL,
                    chamber TEXT,
                    pressure REAL,
                    message TEXT NOT NULL
                );
                CREATE INDEX event_session ON event(session_id, t);
                CREATE TABLE cycle_summary (
                    session_id INTEGER NOT NULL REFERENCES session(id),
                    cycle INTEGER NOT NULL,
                    part TEXT NOT NULL,
                    chamber TEXT NOT NULL,
                    target REAL NOT NULL,
                    inflate_offset_s REAL NOT NULL,
                    time_to_target_s REAL,
                    peak REAL NOT NULL,
                    time_at_target_s REAL NOT NULL
                );
                CREATE INDEX cycle_summary_session ON cycle_summary(session_id, cycle);
                CREATE TABLE sample (
                    session_id INTEGER NOT NULL REFERENCES session(id),
                    t REAL NOT NULL,
                    pressures BLOB NOT NULL,
                    pump INTEGER NOT NULL,
                    inlets INTEGER NOT NULL,
                    exhausts INTEGER NOT NULL
                );
                CREATE INDEX sample_session ON sample(session_id, t);
                """)
        }
        return m
    }

    // MARK: writing (SessionSink)

    public func begin(_ h: SessionHeader) throws -> Int64 {
        let hash = SHA256.hash(data: Data(h.protocolText.utf8)).map { String(format: "%02x", $0) }.joined()
        return try db.write { db in
            try db.execute(sql: """
                INSERT INTO session (started_at, protocol_name, protocol_path, protocol_text, protocol_sha256,
                    profile_name, profile_path, profile_text, backend, chambers, speed, level)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [Self.timestamp(), h.protocolName, h.protocolPath, h.protocolText, hash,
                                 h.profileName, h.profilePath, h.profileText, h.backend,
                                 h.chambers.joined(separator: ","), h.speed, h.level])
            return db.lastInsertedRowID
        }
    }

    public func append(_ batch: LogBatch, to id: Int64) throws {
        let names = try chamberNames(id)
        try db.write { db in
            let s = try db.makeStatement(sql: "INSERT INTO sample (session_id, t, pressures, pump, inlets, exhausts) VALUES (?, ?, ?, ?, ?, ?)")
            for x in batch.samples {
                try s.execute(arguments: [id, x.time, Self.encode(x.pressures, count: names.count), x.outputs.pump, Int(x.outputs.inlets.rawValue), Int(x.outputs.exhausts.rawValue)])
            }
            let e = try db.makeStatement(sql: "INSERT INTO event (session_id, t, cycle, kind, chamber, pressure, message) VALUES (?, ?, ?, ?, ?, ?, ?)")
            for x in batch.events {
                try e.execute(arguments: [id, x.time, x.cycle, x.kind, x.chamber, x.pressure, x.message])
            }
            let c = try db.makeStatement(sql: """
                INSERT INTO cycle_summary (session_id, cycle, part, chamber, target, inflate_offset_s, time_to_target_s, peak, time_at_target_s)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                """)
            for x in batch.summaries {
                try c.execute(arguments: [id, x.cycle, x.part.rawValue, names[x.chamber], x.target, x.inflateOffset,
                                          x.timeToTarget.isNaN ? nil : x.timeToTarget, x.peak, x.timeAtTarget])
            }
        }
    }

    public func end(_ id: Int64, _ end: SessionEnd) throws {
        try db.write { db in
            try db.execute(sql: """
                UPDATE session SET ended_at = ?, end_reason = ?, end_detail = ?, duration_s = ?, cycles_completed = ?
                WHERE id = ?
                """, arguments: [Self.timestamp(), end.reason.rawValue, end.detail, end.duration, end.cyclesCompleted, id])
        }
    }

    /// Marks every session without a recorded end as interrupted (run at start-up by whoever owns
    /// the boot, after it has vented). Returns how many were marked.
    @discardableResult
    public func markUnfinishedInterrupted() throws -> Int {
        try db.write { db in
            try db.execute(sql: """
                UPDATE session SET end_reason = 'interrupted', end_detail = 'no end was recorded (crash, power loss or kill); the log up to that point is kept'
                WHERE end_reason IS NULL
                """)
            return db.changesCount
        }
    }

    // MARK: reading

    /// One row of the session list.
    public struct SessionInfo: Sendable {
        public var id: Int64
        public var startedAt: String
        public var endedAt: String?
        public var endReason: String?
        public var endDetail: String?
        public var duration: Double?
        public var cyclesCompleted: Int?
        public var protocolName: String
        public var protocolPath: String
        public var protocolText: String
        public var protocolSHA256: String
        public var profileName: String
        public var profilePath: String
        public var backend: String
        public var chambers: [String]
        public var speed: String
        public var level: Int?
    }

    static func info(_ r: Row) -> SessionInfo {
        SessionInfo(
            id: r["id"], startedAt: r["started_at"], endedAt: r["ended_at"], endReason: r["end_reason"],
            endDetail: r["end_detail"], duration: r["duration_s"], cyclesCompleted: r["cycles_completed"],
            protocolName: r["protocol_name"], protocolPath: r["protocol_path"], protocolText: r["protocol_text"],
            protocolSHA256: r["protocol_sha256"], profileName: r["profile_name"], profilePath: r["profile_path"],
            backend: r["backend"], chambers: (r["chambers"] as String).split(separator: ",").map(String.init),
            speed: r["speed"], level: r["level"])
    }

    public func sessions() throws -> [SessionInfo] {
        try db.read { db in try Row.fetchAll(db, sql: "SELECT * FROM session ORDER BY id").map(Self.info) }
    }

    public func session(_ id: Int64) throws -> SessionInfo? {
        try db.read { db in try Row.fetchOne(db, sql: "SELECT * FROM session WHERE id = ?", arguments: [id]).map(Self.info) }
    }

    public func events(_ id: Int64) throws -> [SessionEvent] {
        try db.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM event WHERE session_id = ? ORDER BY id", arguments: [id]).map {
                SessionEvent(time: $0["t"], cycle: $0["cycle"], kind: $0["kind"], chamber: $0["chamber"], pressure: $0["pressure"], message: $0["message"])
            }
        }
    }

    /// Cycle summaries with the chamber's name.
    public func summaries(_ id: Int64) throws -> [(chamber: String, summary: CycleSummary)] {
        let names = try chamberNames(id)
        return try db.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM cycle_summary WHERE session_id = ? ORDER BY cycle, rowid", arguments: [id]).map { r in
                let name: String = r["chamber"]
                let ttt: Double? = r["time_to_target_s"]
                return (name, CycleSummary(
                    cycle: r["cycle"], part: CyclePart(rawValue: r["part"]) ?? .main, chamber: names.firstIndex(of: name) ?? -1,
                    target: r["target"], inflateOffset: r["inflate_offset_s"], timeToTarget: ttt ?? .nan,
                    peak: r["peak"], timeAtTarget: r["time_at_target_s"]))
            }
        }
    }

    /// Calls `body` for every sample of session `id` in time order, without loading them all.
    public func forEachSample(_ id: Int64, _ body: (SessionSample) throws -> Void) throws {
        try db.read { db in
            let cursor = try Row.fetchCursor(db, sql: "SELECT t, pressures, pump, inlets, exhausts FROM sample WHERE session_id = ? ORDER BY t", arguments: [id])
            while let r = try cursor.next() {
                let blob: Data = r["pressures"]
                let inlets: Int = r["inlets"], exhausts: Int = r["exhausts"]
                try body(SessionSample(
                    time: r["t"], pressures: Self.decode(blob),
                    outputs: BootOutputs(pump: r["pump"], inlets: ChamberSet(rawValue: UInt16(truncatingIfNeeded: inlets)), exhausts: ChamberSet(rawValue: UInt16(truncatingIfNeeded: exhausts)))))
            }
        }
    }

    func chamberNames(_ id: Int64) throws -> [String] {
        guard let s = try session(id) else { throw StoreError("no session \(id)") }
        return s.chambers
    }

    // MARK: encoding

    /// Pressures as little-endian Float32, one per chamber (0.01 mmHg resolution is plenty and a
    /// 30-minute session stays small).
    static func encode(_ p: ChamberValues, count: Int) -> Data {
        var d = Data(capacity: count * 4)
        for c in 0..<count { withUnsafeBytes(of: Float32(p[c]).bitPattern.littleEndian) { d.append(contentsOf: $0) } }
        return d
    }

    static func decode(_ d: Data) -> ChamberValues {
        var out = ChamberValues()
        let bytes = [UInt8](d)
        for c in 0..<min(bytes.count / 4, maxChambers) {
            var bits: UInt32 = 0
            for b in 0..<4 { bits |= UInt32(bytes[c * 4 + b]) << (8 * b) }
            out[c] = Double(Float32(bitPattern: bits))
        }
        return out
    }

    static func timestamp() -> String {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return f.string(from: Date())
    }
}

/// A storage failure, with the path or id it concerns.
public struct StoreError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ d: String) { description = d }
}
