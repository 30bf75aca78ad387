import Crypto
import Foundation
import GRDB
import SoleusCore
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The session log on disk: one SQLite database (WAL journal, so a crash loses at most the batch
/// being written) holding sessions, events, cycle summaries and samples.
public final class SessionStore: SessionSink, Sendable {
    let db: DatabasePool
    /// The database file.
    public let path: String

    /// Chamber names by session id, so appending a batch never re-reads the session row (which
    /// holds the protocol and profile texts).
    private let chamberCache = Mutex<[Int64: [String]]>([:])

    /// Opens (creating if needed) the store in `directory`. Errors say what is wrong with the
    /// directory or the database, and that nothing was changed.
    public init(directory: String) throws(StoreError) {
        try Self.prepareDirectory(directory)
        path = (directory as NSString).appendingPathComponent("soleus.sqlite")
        var config = Configuration()
        // A second writer waits for the first instead of failing at once.
        config.busyMode = .timeout(5)
        do {
            db = try DatabasePool(path: path, configuration: config)
        } catch {
            throw StoreError(Self.explain(error, path: path, doing: "open"))
        }
        do {
            try db.read { db in
                if try Self.migrator.hasBeenSuperseded(db) {
                    let known = Set(Self.migrator.migrations)
                    let unknown = try Self.migrator.appliedIdentifiers(db).subtracting(known).sorted()
                    throw StoreError("\(path) was written by a newer version of Soleus (schema \(unknown.joined(separator: ", "))); this version cannot use it safely. Nothing was changed: use a newer soleus, or another --data directory.")
                }
            }
            try Self.migrator.migrate(db)
        } catch let e as StoreError {
            throw e
        } catch {
            throw StoreError(Self.explain(error, path: path, doing: "open"))
        }
    }

    /// Creates `directory` if it is missing; refuses a path that is not a directory.
    static func prepareDirectory(_ directory: String) throws(StoreError) {
        guard !directory.isEmpty else { throw StoreError("the data directory is an empty path; give --data a directory") }
        var st = stat()
        if stat(directory, &st) == 0 {
            guard st.st_mode & S_IFMT == S_IFDIR else {
                throw StoreError("the data directory \(directory) is not a directory (it is a file); give --data a directory")
            }
        } else {
            try makeDirectories(directory)
        }
        guard access(directory, W_OK | X_OK) == 0 else {
            throw StoreError("cannot write to the data directory \(directory): \(String(cString: strerror(errno)))")
        }
    }

    /// `mkdir -p`, with the operating system's reason when it fails.
    static func makeDirectories(_ directory: String) throws(StoreError) {
        var path = directory.hasPrefix("/") ? "" : "."
        for part in directory.split(separator: "/") {
            path += "/" + part
            if mkdir(path, 0o755) != 0 && errno != EEXIST {
                throw StoreError("cannot create the data directory \(directory): \(String(cString: strerror(errno)))")
            }
        }
    }

    /// A storage error in words an operator can act on, naming the database.
    static func explain(_ error: any Error, path: String, doing what: String) -> String {
        guard let e = error as? DatabaseError else { return "cannot \(what) the session database \(path): \(error)" }
        let base = "cannot \(what) the session database \(path)"
        switch e.resultCode {
        case .SQLITE_FULL: return "\(base): the disk is full (SQLite: \(e.message ?? "database or disk is full"))"
        case .SQLITE_NOTADB, .SQLITE_CORRUPT:
            return "\(base): the file is damaged or not a Soleus database (SQLite: \(e.message ?? "corrupt")). Nothing was changed; move it aside to start a new log, or restore a backup."
        case .SQLITE_READONLY, .SQLITE_PERM, .SQLITE_AUTH: return "\(base): it is read-only (SQLite: \(e.message ?? "read-only"))"
        case .SQLITE_CANTOPEN: return "\(base): it cannot be opened (SQLite: \(e.message ?? "unable to open"))"
        case .SQLITE_BUSY, .SQLITE_LOCKED: return "\(base): another process holds it locked (SQLite: \(e.message ?? "busy"))"
        case .SQLITE_IOERR: return "\(base): input/output error (SQLite: \(e.message ?? "disk I/O error")); the disk may be failing or full"
        default: return "\(base): \(e.message ?? "\(e)")"
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
        m.registerMigration("v2-protocol-library") { db in
            // Protocols uploaded to the daemon. A session keeps its own copy of the text it ran,
            // so deleting a protocol never changes what a session record says.
            try db.execute(sql: """
                CREATE TABLE protocol (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    name TEXT NOT NULL UNIQUE,
                    text TEXT NOT NULL,
                    sha256 TEXT NOT NULL,
                    uploaded_at TEXT NOT NULL
                );
                """)
        }
        m.registerMigration("v3-limb-compression") { db in
            // What each compression did for the limb, as the simulator's limb model saw it.
            try db.execute(sql: """
                CREATE TABLE limb_compression (
                    session_id INTEGER NOT NULL REFERENCES session(id),
                    limb INTEGER NOT NULL,
                    number INTEGER NOT NULL,
                    start_s REAL NOT NULL,
                    end_s REAL,
                    expelled_ml REAL NOT NULL,
                    peak_flow_ml_s REAL NOT NULL,
                    peak_velocity_cm_s REAL NOT NULL,
                    refill_s REAL
                );
                CREATE INDEX limb_compression_session ON limb_compression(session_id, start_s);
                """)
        }
        return m
    }

    // MARK: writing (SessionSink)

    public func begin(_ h: SessionHeader) throws -> Int64 {
        let hash = Self.sha256(h.protocolText)
        let id: Int64
        do {
            id = try db.write { db in
                try db.execute(sql: """
                    INSERT INTO session (started_at, protocol_name, protocol_path, protocol_text, protocol_sha256,
                        profile_name, profile_path, profile_text, backend, chambers, speed, level)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """, arguments: [Self.timestamp(), h.protocolName, h.protocolPath, h.protocolText, hash,
                                     h.profileName, h.profilePath, h.profileText, h.backend,
                                     h.chambers.joined(separator: ","), h.speed, h.level])
                return db.lastInsertedRowID
            }
        } catch {
            throw StoreError(Self.explain(error, path: path, doing: "record a new session in"))
        }
        chamberCache.withLock { $0[id] = h.chambers }
        return id
    }

    public func append(_ batch: LogBatch, to id: Int64) throws {
        let names = try chamberNames(id)
        do {
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
                    let name = names.indices.contains(x.chamber) ? names[x.chamber] : "chamber \(x.chamber)"
                    try c.execute(arguments: [id, x.cycle, x.part.rawValue, name, x.target, x.inflateOffset,
                                              x.timeToTarget.isNaN ? nil : x.timeToTarget, x.peak, x.timeAtTarget])
                }
                if !batch.compressions.isEmpty {
                    let l = try db.makeStatement(sql: """
                        INSERT INTO limb_compression (session_id, limb, number, start_s, end_s, expelled_ml, peak_flow_ml_s, peak_velocity_cm_s, refill_s)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                        """)
                    for x in batch.compressions {
                        let k = x.compression
                        try l.execute(arguments: [id, k.limb, x.number, k.start, k.end.isNaN ? nil : k.end, k.expelledML, k.peakFlowMLPerS,
                                                  k.peakVelocityCMPerS, k.refillSeconds.isNaN ? nil : k.refillSeconds])
                    }
                }
            }
        } catch {
            throw StoreError(Self.explain(error, path: path, doing: "write to"))
        }
    }

    public func end(_ id: Int64, _ end: SessionEnd) throws {
        do {
            try db.write { db in
                try db.execute(sql: """
                    UPDATE session SET ended_at = ?, end_reason = ?, end_detail = ?, duration_s = ?, cycles_completed = ?
                    WHERE id = ?
                    """, arguments: [Self.timestamp(), end.reason.rawValue, end.detail, end.duration, end.cyclesCompleted, id])
            }
        } catch {
            throw StoreError(Self.explain(error, path: path, doing: "record the end of session \(id) in"))
        }
    }

    /// Marks every session without a recorded end as interrupted. Only whoever holds the
    /// directory's ``DataDirectoryLock`` may call this (no session can be running then): the
    /// runner at start, after venting, and ``recoverInterrupted()``. Returns how many were marked.
    @discardableResult
    public func markUnfinishedInterrupted() throws(StoreError) -> Int {
        do {
            return try db.write { db in
                try db.execute(sql: """
                    UPDATE session SET end_reason = 'interrupted', end_detail = 'no end was recorded (crash, power loss, kill, or storage failure); the log up to its last write is kept'
                    WHERE end_reason IS NULL
                    """)
                return db.changesCount
            }
        } catch {
            throw StoreError(Self.explain(error, path: path, doing: "update"))
        }
    }

    /// Marks sessions left without an end by a process that died as interrupted, unless a run
    /// holds the data directory (then its session is live, not interrupted). Every command that
    /// opens the store calls this, so a killed session shows as interrupted from the next command
    /// on. Returns how many were marked; a store that cannot be written is left as it is.
    @discardableResult
    public func recoverInterrupted() -> Recovery {
        guard let lock = try? DataDirectoryLock.acquire(directory: (path as NSString).deletingLastPathComponent, wait: 0) else {
            return .runInProgress
        }
        defer { withExtendedLifetime(lock) {} }
        do { return .marked(try markUnfinishedInterrupted()) } catch { return .failed(error.description) }
    }

    /// What ``recoverInterrupted()`` found.
    public enum Recovery: Sendable, Equatable {
        /// This many sessions were marked interrupted.
        case marked(Int)
        /// A run holds the directory: its session has no end yet because it is running.
        case runInProgress
        /// The store could not be updated (read-only, damaged); unfinished sessions stay as they are.
        case failed(String)
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

        public init(id: Int64, startedAt: String, endedAt: String?, endReason: String?, endDetail: String?, duration: Double?, cyclesCompleted: Int?,
                    protocolName: String, protocolPath: String, protocolText: String, protocolSHA256: String, profileName: String, profilePath: String,
                    backend: String, chambers: [String], speed: String, level: Int?) {
            self.id = id
            self.startedAt = startedAt
            self.endedAt = endedAt
            self.endReason = endReason
            self.endDetail = endDetail
            self.duration = duration
            self.cyclesCompleted = cyclesCompleted
            self.protocolName = protocolName
            self.protocolPath = protocolPath
            self.protocolText = protocolText
            self.protocolSHA256 = protocolSHA256
            self.profileName = profileName
            self.profilePath = profilePath
            self.backend = backend
            self.chambers = chambers
            self.speed = speed
            self.level = level
        }
    }

    /// Decodes a session row. Every column is checked, so a damaged value is an error naming the
    /// session and the column, never a crash.
    static func info(_ r: Row) throws -> SessionInfo {
        let id = try r.decode(Int64.self, forColumn: "id")
        let d = RowDecoder(row: r, what: "session \(id)")
        let chamberText: String = try d.value("chambers")
        let chambers = chamberText.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        guard (1...maxChambers).contains(chambers.count), !chambers.contains(where: \.isEmpty) else {
            throw StoreError("session \(id): its chamber list is damaged (\(chambers.count) names); its other records can still be exported")
        }
        return SessionInfo(
            id: id, startedAt: try d.value("started_at"), endedAt: try d.value("ended_at"), endReason: try d.value("end_reason"),
            endDetail: try d.value("end_detail"), duration: try d.value("duration_s"), cyclesCompleted: try d.value("cycles_completed"),
            protocolName: try d.value("protocol_name"), protocolPath: try d.value("protocol_path"), protocolText: try d.value("protocol_text"),
            protocolSHA256: try d.value("protocol_sha256"), profileName: try d.value("profile_name"), profilePath: try d.value("profile_path"),
            backend: try d.value("backend"), chambers: chambers, speed: try d.value("speed"), level: try d.value("level"))
    }

    /// Every session, oldest first. A row with damaged values is listed as an error naming it,
    /// so it cannot hide the others.
    public func sessions() throws -> [Result<SessionInfo, StoreError>] {
        try reading("list the sessions of") { db in
            try Row.fetchAll(db, sql: "SELECT * FROM session ORDER BY id").map { row in
                do { return .success(try Self.info(row)) } catch let e as StoreError { return .failure(e) } catch {
                    return .failure(StoreError("a session row is damaged: \(error)"))
                }
            }
        }
    }

    public func session(_ id: Int64) throws -> SessionInfo? {
        try reading("read session \(id) from") { db in try Row.fetchOne(db, sql: "SELECT * FROM session WHERE id = ?", arguments: [id]).map(Self.info) }
    }

    public func events(_ id: Int64) throws -> [SessionEvent] {
        try reading("read the events of session \(id) from") { db in
            try Row.fetchAll(db, sql: "SELECT * FROM event WHERE session_id = ? ORDER BY id", arguments: [id]).map {
                let d = RowDecoder(row: $0, what: "an event of session \(id)")
                return SessionEvent(time: try d.value("t"), cycle: try d.value("cycle"), kind: try d.value("kind"),
                                    chamber: try d.value("chamber"), pressure: try d.value("pressure"), message: try d.value("message"))
            }
        }
    }

    /// Cycle summaries with the chamber's name.
    public func summaries(_ id: Int64) throws -> [(chamber: String, summary: CycleSummary)] {
        let names = try chamberNames(id)
        return try reading("read the cycle summaries of session \(id) from") { db in
            try Row.fetchAll(db, sql: "SELECT * FROM cycle_summary WHERE session_id = ? ORDER BY cycle, rowid", arguments: [id]).map { r in
                let d = RowDecoder(row: r, what: "a cycle summary of session \(id)")
                let name: String = try d.value("chamber")
                let ttt: Double? = try d.value("time_to_target_s")
                let part: String = try d.value("part")
                return (name, CycleSummary(
                    cycle: try d.value("cycle"), part: CyclePart(rawValue: part) ?? .main, chamber: names.firstIndex(of: name) ?? -1,
                    target: try d.value("target"), inflateOffset: try d.value("inflate_offset_s"), timeToTarget: ttt ?? .nan,
                    peak: try d.value("peak"), timeAtTarget: try d.value("time_at_target_s")))
            }
        }
    }

    /// What each compression did for the limb (simulated boots with a limb model; empty otherwise).
    public func compressions(_ id: Int64) throws -> [NumberedCompression] {
        try reading("read the limb compressions of session \(id) from") { db in
            try Row.fetchAll(db, sql: "SELECT * FROM limb_compression WHERE session_id = ? ORDER BY start_s, limb", arguments: [id]).map { r in
                let d = RowDecoder(row: r, what: "a limb compression of session \(id)")
                let end: Double? = try d.value("end_s"), refill: Double? = try d.value("refill_s")
                return NumberedCompression(number: try d.value("number"), compression: LimbCompression(
                    limb: try d.value("limb"), start: try d.value("start_s"), end: end ?? .nan, expelledML: try d.value("expelled_ml"),
                    peakFlowMLPerS: try d.value("peak_flow_ml_s"), peakVelocityCMPerS: try d.value("peak_velocity_cm_s"), refillSeconds: refill ?? .nan))
            }
        }
    }

    /// Calls `body` for every sample of session `id` in time order, without loading them all.
    public func forEachSample(_ id: Int64, _ body: (SessionSample) throws -> Void) throws {
        try forEachSample(id, after: -.infinity, limit: -1, body)
    }

    /// Samples later than `after`, at most `limit` of them (−1: all).
    func forEachSample(_ id: Int64, after: Double, limit: Int, _ body: (SessionSample) throws -> Void) throws {
        try reading("read the samples of session \(id) from") { db in
            let cursor = try Row.fetchCursor(db, sql: "SELECT t, pressures, pump, inlets, exhausts FROM sample WHERE session_id = ? AND t > ? ORDER BY t LIMIT ?", arguments: [id, after, limit])
            while let r = try cursor.next() {
                let row = RowDecoder(row: r, what: "a sample of session \(id)")
                let blob: Data = try row.value("pressures")
                let inlets: Int = try row.value("inlets"), exhausts: Int = try row.value("exhausts")
                try body(SessionSample(
                    time: try row.value("t"), pressures: Self.decode(blob),
                    outputs: BootOutputs(pump: try row.value("pump"), inlets: ChamberSet(rawValue: UInt32(truncatingIfNeeded: inlets)), exhausts: ChamberSet(rawValue: UInt32(truncatingIfNeeded: exhausts)))))
            }
        }
    }

    func chamberNames(_ id: Int64) throws -> [String] {
        if let cached = chamberCache.withLock({ $0[id] }) { return cached }
        let text: String? = try reading("read session \(id) from") { db in
            try Row.fetchOne(db, sql: "SELECT id, chambers FROM session WHERE id = ?", arguments: [id]).map {
                try RowDecoder(row: $0, what: "session \(id)").value("chambers")
            }
        }
        guard let text else { throw StoreError("no session \(id) in \(path)") }
        let names = text.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        guard (1...maxChambers).contains(names.count) else { throw StoreError("session \(id): its chamber list is damaged (\(names.count) names)") }
        chamberCache.withLock { $0[id] = names }
        return names
    }

    /// A read, with SQLite's errors (a damaged file, a disk error) explained.
    func reading<T>(_ what: String, _ body: (Database) throws -> T) throws -> T {
        do { return try db.read(body) } catch let e as StoreError { throw e } catch {
            throw StoreError(Self.explain(error, path: path, doing: what))
        }
    }

    // MARK: encoding

    /// Pressures as little-endian Float32, one per chamber (0.01 mmHg resolution is plenty and a
    /// 30-minute session stays small).
    static func encode(_ p: ChamberValues, count: Int) -> Data {
        var d = Data(capacity: count * 4)
        for c in 0..<count { withUnsafeBytes(of: Float32(p[c]).bitPattern.littleEndian) { d.append(contentsOf: $0) } }
        return d
    }

    /// Pressures of a sample; chambers the blob does not cover (a damaged or short value) read
    /// as NaN, never as an out-of-range access.
    static func decode(_ d: Data) -> ChamberValues {
        var out = ChamberValues()
        let bytes = [UInt8](d)
        for c in 0..<maxChambers { out[c] = .nan }
        for c in 0..<min(bytes.count / 4, maxChambers) {
            var bits: UInt32 = 0
            for b in 0..<4 { bits |= UInt32(bytes[c * 4 + b]) << (8 * b) }
            out[c] = Double(Float32(bitPattern: bits))
        }
        return out
    }

    static func sha256(_ text: String) -> String {
        SHA256.hash(data: Data(text.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    static func timestamp() -> String {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return f.string(from: Date())
    }
}

/// Decodes columns of one row, turning a missing column or a value of the wrong type into an
/// error naming the record and the column (GRDB's subscripts would stop the process).
struct RowDecoder {
    let row: Row
    let what: String

    func value<T: DatabaseValueConvertible>(_ column: String) throws -> T {
        do { return try row.decode(T.self, forColumn: column) } catch {
            let found = row[column].map { String("\($0)".prefix(40)) } ?? "nothing"
            throw StoreError("\(what): column \(column) holds a damaged value (\(found)); the database may be corrupted")
        }
    }
}

/// A storage failure, with the path or id it concerns.
public struct StoreError: Error, CustomStringConvertible, Sendable, Equatable {
    public var description: String
    public init(_ d: String) { description = d }
}
