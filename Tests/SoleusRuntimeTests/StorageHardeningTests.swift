import Foundation
import GRDB
import Testing
import SoleusCore
import SoleusSimulation
@testable import SoleusRuntime

/// The data directory and the session database under everything that goes wrong on a real
/// controller: bad paths, damaged or foreign files, a newer schema, a second process, a killed
/// run, a full disk. Each case gets a clear message, and nothing already stored is lost.
@Suite struct StorageHardeningTests {
    let header = SessionHeader(protocolName: "p", protocolPath: "p.toml", protocolText: "x", profileName: "h", profilePath: "h.toml",
                               profileText: "", backend: "b", chambers: ["ankle", "calf"], speed: "max", level: nil)

    /// A store holding one finished session, closed again (its WAL checkpointed into the file).
    func storeWithOneSession() throws -> String {
        let dir = temporaryDirectory()
        let store = try SessionStore(directory: dir)
        let id = try store.begin(header)
        var batch = LogBatch()
        batch.events = [SessionEvent(time: 1, cycle: 1, kind: "inflate", chamber: "ankle", pressure: 40, message: "ankle inflates")]
        batch.samples = [SessionSample(time: 0, pressures: ChamberValues(), outputs: .vented(chamberCount: 2))]
        try store.append(batch, to: id)
        try store.end(id, SessionEnd(reason: .completed, detail: "done", duration: 1, cyclesCompleted: 1))
        return dir
    }

    func rawWrite(_ dir: String, _ sql: String) throws {
        let q = try DatabaseQueue(path: dir + "/soleus.sqlite")
        try q.write { try $0.execute(sql: sql) }
    }

    func error(_ body: () throws -> Void) -> String {
        do { try body(); return "" } catch { return "\(error)" }
    }

    @Test func aDataPathThatIsAFileIsRefused() throws {
        let file = temporaryDirectory() + "/not-a-dir"
        #expect(FileManager.default.createFile(atPath: file, contents: Data("x".utf8)))
        #expect(error { _ = try SessionStore(directory: file) } == "the data directory \(file) is not a directory (it is a file); give --data a directory")
        #expect(try String(contentsOfFile: file, encoding: .utf8) == "x")
    }

    @Test func aMissingDataDirectoryIsCreatedAndAnImpossibleOneExplained() throws {
        let nested = temporaryDirectory() + "/a/b/c"
        _ = try SessionStore(directory: nested)
        #expect(FileManager.default.fileExists(atPath: nested + "/soleus.sqlite"))
        let message = error { _ = try SessionStore(directory: "/proc/soleus-cannot-be-here") }
        #expect(message.hasPrefix("cannot create the data directory /proc/soleus-cannot-be-here: "))
        let underFile = temporaryDirectory() + "/f"
        #expect(FileManager.default.createFile(atPath: underFile, contents: nil))
        #expect(error { _ = try SessionStore(directory: underFile + "/sub") }.contains("Not a directory"))
    }

    @Test func aFileThatIsNotADatabaseIsExplainedAndLeftAlone() throws {
        let dir = temporaryDirectory()
        let garbage = Data(repeating: 0x41, count: 8192)
        #expect(FileManager.default.createFile(atPath: dir + "/soleus.sqlite", contents: garbage))
        let message = error { _ = try SessionStore(directory: dir) }
        #expect(message.contains("the file is damaged or not a Soleus database"))
        #expect(message.contains("Nothing was changed"))
        #expect(try Data(contentsOf: URL(fileURLWithPath: dir + "/soleus.sqlite")) == garbage)
    }

    @Test func aTruncatedDatabaseIsAnErrorNotACrashAndIsNotRewritten() throws {
        let dir = try storeWithOneSession()
        let path = dir + "/soleus.sqlite"
        let full = try Data(contentsOf: URL(fileURLWithPath: path))
        let cut = full.prefix(full.count / 2)
        try cut.write(to: URL(fileURLWithPath: path))
        let message = error {
            let store = try SessionStore(directory: dir)
            _ = try store.sessions().map { try $0.get() }
            _ = try store.events(1)
        }
        #expect(message.contains("damaged") || message.contains("not a Soleus database"), "\(message)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == cut)
    }

    @Test func damagedValuesAreErrorsNamingSessionAndColumnAndHideNothingElse() throws {
        let dir = try storeWithOneSession()
        do {
            let store = try SessionStore(directory: dir)
            _ = try store.begin(header)
        }
        try rawWrite(dir, "UPDATE session SET started_at = x'FF00FF' WHERE id = 1")
        try rawWrite(dir, "UPDATE event SET t = 'soon' WHERE session_id = 1")
        let store = try SessionStore(directory: dir)
        let list = try store.sessions()
        #expect(list.count == 2)
        if case .failure(let e) = list[0] {
            #expect(e.description.hasPrefix("session 1: column started_at holds a damaged value"))
        } else { Issue.record("session 1 should be reported damaged") }
        #expect((try? list[1].get())?.id == 2)
        #expect(error { _ = try store.events(1) }.hasPrefix("an event of session 1: column t holds a damaged value"))
        // The samples of the damaged session are still there to export.
        var samples = 0
        try store.forEachSample(1) { _ in samples += 1 }
        #expect(samples == 1)
    }

    @Test func aChamberListLongerThanAnyBootIsAnError() throws {
        let dir = try storeWithOneSession()
        let names = (0..<40).map { "c\($0)" }.joined(separator: ",")
        try rawWrite(dir, "UPDATE session SET chambers = '\(names)' WHERE id = 1")
        let store = try SessionStore(directory: dir)
        #expect(error { _ = try store.session(1) } == "session 1: its chamber list is damaged (40 names); its other records can still be exported")
        #expect(error { _ = try store.summaries(1) } == "session 1: its chamber list is damaged (40 names)")
    }

    @Test func aShortPressureBlobReadsAsMissingValues() throws {
        let dir = try storeWithOneSession()
        try rawWrite(dir, "UPDATE sample SET pressures = x'0000' WHERE session_id = 1")
        let store = try SessionStore(directory: dir)
        var seen: [SessionSample] = []
        try store.forEachSample(1) { seen.append($0) }
        #expect(seen.count == 1 && seen[0].pressures[0].isNaN && seen[0].pressures[7].isNaN)
    }

    @Test func aDatabaseFromANewerSchemaIsRefusedUntouched() throws {
        let dir = try storeWithOneSession()
        try rawWrite(dir, "INSERT INTO grdb_migrations (identifier) VALUES ('v9-from-the-future')")
        // What is stored, read without GRDB's migrator (SQLite may checkpoint the file's bytes).
        func content() throws -> [String] {
            let q = try DatabaseQueue(path: dir + "/soleus.sqlite")
            return try q.read { db in
                try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations ORDER BY identifier")
                    + String.fetchAll(db, sql: "SELECT started_at || end_reason FROM session")
                    + [String(try Int.fetchOne(db, sql: "SELECT count(*) FROM sample") ?? -1)]
            }
        }
        let before = try content()
        #expect(error { _ = try SessionStore(directory: dir) }
            == "\(dir)/soleus.sqlite was written by a newer version of Soleus (schema v9-from-the-future); this version cannot use it safely. Nothing was changed: use a newer soleus, or another --data directory.")
        #expect(try content() == before)
        #expect(before.contains("v9-from-the-future") && before.last == "1")
    }

    @Test func appendingUsesTheChamberNamesKnownAtBeginWithoutRereadingTheSession() throws {
        let dir = temporaryDirectory()
        let store = try SessionStore(directory: dir)
        let id = try store.begin(header)
        // Were the row re-read on every flush, this change would rename the summary's chamber.
        try store.db.write { try $0.execute(sql: "UPDATE session SET chambers = 'x,y' WHERE id = ?", arguments: [id]) }
        var batch = LogBatch()
        batch.summaries = [CycleSummary(cycle: 1, part: .main, chamber: 1, target: 40, inflateOffset: 0, timeToTarget: 1, peak: 40, timeAtTarget: 5)]
        try store.append(batch, to: id)
        let chamber = try store.db.read { try String.fetchOne($0, sql: "SELECT chamber FROM cycle_summary") }
        #expect(chamber == "calf")
    }

    // MARK: the directory lock and killed runs

    @Test func aSecondHolderIsRefusedWithThePIDOfTheFirst() throws {
        let dir = temporaryDirectory()
        do {
            let first = try DataDirectoryLock.acquire(directory: dir)
            #expect(error { _ = try DataDirectoryLock.acquire(directory: dir, wait: 0.1) }
                == "the data directory \(dir) is in use by another soleus process (pid \(getpid())); wait for its session to end, or use another --data directory")
            withExtendedLifetime(first) {}
        }
        _ = try DataDirectoryLock.acquire(directory: dir, wait: 0)
    }

    @Test func aSessionWithoutAnEndIsRunningWhileLockedAndInterruptedOnceNot() throws {
        let dir = temporaryDirectory()
        let store = try SessionStore(directory: dir)
        var lock: DataDirectoryLock? = try DataDirectoryLock.acquire(directory: dir)
        let id = try store.begin(header)
        #expect(store.recoverInterrupted() == .runInProgress)
        #expect(try store.session(id)?.endReason == nil)
        lock = nil
        #expect(lock == nil)
        #expect(store.recoverInterrupted() == .marked(1))
        let info = try #require(try store.session(id))
        #expect(info.endReason == "interrupted")
        #expect(info.endDetail?.contains("the log up to its last write is kept") == true)
    }

    // MARK: a failing store during a session

    /// Fails writes whose latest record falls in [from, to), like a disk that fills and is
    /// cleared; `failBegin` fails the very first write.
    final class FailingSink: SessionSink {
        let inner = MemorySessionLog()
        var from = Double.infinity, to = Double.infinity, failBegin = false
        func failing(_ t: Double) -> Bool { t >= from && t < to }
        func begin(_ h: SessionHeader) throws -> Int64 {
            if failBegin { throw StoreError("database or disk is full") }
            return try inner.begin(h)
        }
        func append(_ b: LogBatch, to id: Int64) throws {
            if failing(max(b.samples.last?.time ?? 0, b.events.map(\.time).max() ?? 0)) { throw StoreError("database or disk is full") }
            try inner.append(b, to: id)
        }
        func end(_ id: Int64, _ e: SessionEnd) throws {
            if failing(e.duration) { throw StoreError("database or disk is full") }
            try inner.end(id, e)
        }
    }

    func run(_ sink: FailingSink, cycles: Int = 2) throws -> (SessionResult, WatchedBoot) {
        var prepared = try prepare("protocols/dvt-3-chamber.toml", "hardware/sim-3-dvt.toml")
        prepared.plan.length = .cycles(cycles)
        guard let sim = (try prepared.makeBackend()) as? SimulatedBoot else { throw StoreError("not simulated") }
        let boot = WatchedBoot(sim)
        let result = try prepared.runner(backend: boot, sink: sink, options: .init(speed: .max)).run()
        return (result, boot)
    }

    @Test func aFullDiskBeforeTheSessionRunsNothing() throws {
        let sink = FailingSink()
        sink.failBegin = true
        var prepared = try prepare("protocols/dvt-3-chamber.toml", "hardware/sim-3-dvt.toml")
        prepared.plan.length = .cycles(1)
        guard let sim = (try prepared.makeBackend()) as? SimulatedBoot else { throw StoreError("not simulated") }
        let boot = WatchedBoot(sim)
        #expect(throws: StoreError.self) { try prepared.runner(backend: boot, sink: sink, options: .init(speed: .max)).run() }
        #expect(boot.ticks == 0)
        #expect(boot.lastOutputs == .vented(chamberCount: 3))
    }

    @Test func aDiskThatFillsAndClearsLosesNothingButTheEndSaysSo() throws {
        let sink = FailingSink()
        (sink.from, sink.to) = (20, 50)
        let (result, _) = try run(sink)
        #expect(result.end.reason == .storageFailure)
        #expect(result.end.detail.hasPrefix("protocol completed, but the session log was at risk: storage failed at 20.0 s"))
        #expect(result.end.detail.hasSuffix("and recovered; nothing was lost"))
        #expect(result.alarms.map(\.condition) == [.storageFailure])
        // Every sample was stored in the end: no gap at 20–50 s.
        let times = sink.inner.samples.map(\.time)
        #expect(zip(times, times.dropFirst()).allSatisfy { $1 - $0 < 0.051 })
        #expect(sink.inner.events.contains { $0.kind == "storage-error" })
        #expect(sink.inner.events.contains { $0.kind == "storage-recovered" })
        #expect(sink.inner.ending?.reason == .storageFailure)
    }

    @Test func aDiskThatStaysFullDropsSamplesBoundedAndTheRunSaysWhatWasLost() throws {
        let sink = FailingSink()
        (sink.from, sink.to) = (30, .infinity)
        #expect {
            _ = try run(sink, cycles: 15)
        } throws: { e in
            let text = "\(e)"
            return e is SessionLogError && text.contains("the session ran (storage-failure, ")
                && text.contains("samples while storage failed") && text.contains("It will show as interrupted.")
        }
        // What was written before the disk filled is kept.
        #expect(sink.inner.samples.count >= 29 * 20)
        #expect(sink.inner.samples.allSatisfy { $0.time < 30 })
    }

    @Test func aSensorReading1e300InALiveSessionIsAnAlarmNotACrash() throws {
        let prepared = try prepare("protocols/dvt-3-chamber.toml", "hardware/sim-3-dvt.toml")
        let (result, _, log) = try runWatched(prepared, configure: { boot in
            boot.onRead = fault(at: 10) { $0.sensor[1] = .stuck(1e300) }
        })
        #expect(result.end.reason == .safetyTrip)
        #expect(result.alarms.first?.condition == .overPressure)
        #expect(log.events.contains { $0.kind == "alarm" && $0.message.contains("calf 1e+300") })
    }
}
