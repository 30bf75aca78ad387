import ArgumentParser
import Foundation
import NIOHTTP1
import SoleusCore
import SoleusDaemon
import SoleusHardware
import SoleusRuntime

struct Sessions: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List the stored sessions (the local store's, or a daemon's with --device).")
    @OptionGroup var data: DataOptions
    @OptionGroup var device: DeviceOptions

    func run() throws {
        if device.isRemote(given: data) {
            let client = try device.client()
            let list = try waitFor { try await client.decode([APIModel.Session].self, "/v1/sessions") }
            let status = try waitFor { try await client.decode(StatusReport.self, "/v1/status") }
            if list.isEmpty { print("No sessions on \(client.base).") } else {
                printList(list.map { Result<SessionStore.SessionInfo, StoreError>.success($0.info) }, running: status.sessionId)
            }
            return
        }
        let (store, recovery) = try data.open()
        let list = try store.sessions()
        if list.isEmpty {
            print("No sessions in \(store.path).")
            return
        }
        printList(list, running: recovery == .runInProgress ? list.last.flatMap { try? $0.get().id } : nil)
    }

    func printList(_ list: [Result<SessionStore.SessionInfo, StoreError>], running: Int64?) {
        print("   id  started                    duration  cycles  end               protocol")
        for entry in list {
            let s: SessionStore.SessionInfo
            switch entry {
            case .success(let info): s = info
            case .failure(let e):
                print("    ?  damaged: \(e.description)")
                continue
            }
            let duration = s.duration.map(formatDuration) ?? "   -    "
            let cycles = s.cyclesCompleted.map { "\($0)" } ?? "-"
            let end = s.endReason ?? (s.id == running ? "running" : "no end yet")
            print(pad("\(s.id)", 5) + "  " + s.startedAt.padding(25) + "  " + duration + pad(cycles, 8) + "  " + end.padding(16) + "  " + s.protocolName)
        }
    }
}

struct Show: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show what a session delivered: per-cycle, per-chamber numbers, alarms and how it ended.")
    @Argument(help: "Session id (see `soleus sessions`).")
    var id: Int64

    @Flag(name: .long, help: "List every event, including routine phase changes.")
    var allEvents = false

    @OptionGroup var data: DataOptions
    @OptionGroup var device: DeviceOptions

    func run() throws {
        let source = SessionSource(data: data, device: device)
        let (s, rows, events) = try source.load(id)
        report(s, rows, events)
        limbReport(try source.compressions(s), limbs: s.chambers.contains { $0.contains(".") })
    }

    /// What each compression did for the blood in the limb, and the session's totals (simulated
    /// limbs only: a real boot cannot see the limb).
    func limbReport(_ compressions: [NumberedCompression], limbs: Bool) {
        guard !compressions.isEmpty else { return }
        print("")
        print("Limb (simulated limb model): what each compression did for the venous blood")
        print((limbs ? "limb  " : "") + "compression   start s   expelled mL   peak mL/s   velocity cm/s   refill s")
        for n in compressions {
            let c = n.compression
            print((limbs ? pad("\(c.limb)", 4) + "  " : "") + pad("\(n.number)", 11) + pad(formatFixed(c.start, decimals: 1), 10)
                + pad(formatFixed(c.expelledML, decimals: 1), 14) + pad(formatFixed(c.peakFlowMLPerS, decimals: 1), 12)
                + pad(formatFixed(c.peakVelocityCMPerS, decimals: 1), 16) + pad(c.refillSeconds.isNaN ? "-" : formatFixed(c.refillSeconds, decimals: 1), 11))
        }
        let total = compressions.reduce(0) { $0 + $1.compression.expelledML }
        let refills = compressions.map(\.compression.refillSeconds).filter(\.isFinite)
        let meanRefill = refills.isEmpty ? "no refill completed before the next compression" : "mean refill \(formatFixed(refills.reduce(0, +) / Double(refills.count), decimals: 1)) s"
        print("  \(formatFixed(total, decimals: 0)) mL expelled in \(compressions.count) compressions (mean \(formatFixed(total / Double(compressions.count), decimals: 1)) mL); \(meanRefill)")
    }

    /// Prints the session's record, its per-chamber table, every cycle and the notable events.
    func report(_ s: SessionStore.SessionInfo, _ rows: [(chamber: String, summary: CycleSummary)], _ events: [SessionEvent]) {
        print("Session \(s.id): \(s.protocolName)")
        print("  protocol   \(s.protocolPath)  sha256 \(s.protocolSHA256)")
        print("  hardware   \(s.profileName) (\(s.profilePath)), \(s.backend)")
        if let level = s.level { print("  level      \(level)") }
        print("  started    \(s.startedAt)")
        print("  ended      \(s.endedAt ?? "-")")
        print("  end        \(s.endReason ?? "no end recorded (still running, or interrupted)")\(s.endDetail.map { " — \($0)" } ?? "")")
        print("  duration   \(s.duration.map(formatDuration) ?? "-"), \(s.cyclesCompleted ?? 0) main cycles, speed \(s.speed)")
        print("")
        for line in chamberTable(rows, chambers: s.chambers) { print(line) }
        print("")
        print("cycle  part    chamber      target   peak   start   to target  at target")
        for (name, c) in rows {
            print(pad("\(c.cycle)", 5) + "  " + c.part.rawValue.padding(6) + "  " + name.padding(11) + pad(formatMMHg(c.target), 7)
                + pad(formatMMHg(c.peak), 7) + pad(formatFixed(c.inflateOffset, decimals: 2), 8)
                + pad(c.timeToTarget.isNaN ? "never" : formatFixed(c.timeToTarget, decimals: 2), 11)
                + pad(formatFixed(c.timeAtTarget, decimals: 1), 11))
        }
        print("")
        let routine: Set<String> = ["cycle-start", "cycle-end", "inflate", "reached", "hold", "release"]
        let shown = allEvents ? events : events.filter { !routine.contains($0.kind) }
        print(allEvents ? "Events:" : "Events (alarms, stops, venting; --all-events for every phase change):")
        if shown.isEmpty { print("  none") }
        for e in shown {
            print("  " + pad(formatFixed(e.time, decimals: 2), 9) + " s  " + e.kind.padding(16) + e.message)
        }
    }
}

struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Export a session's samples as CSV or JSON Lines.",
        discussion: "CSV columns: t_s, one <chamber>_mmHg per chamber, pump, then <chamber>_inlet and <chamber>_exhaust (1 = open) per chamber. JSON Lines: one object per sample, then one per event with \"event\", then one per limb compression with \"compression\" (simulated limbs). --compressions: the limb compressions alone, as CSV (limb, number, start_s, end_s, expelled_ml, peak_flow_ml_s, peak_velocity_cm_s, refill_s) or JSON Lines.")

    enum Format: String, ExpressibleByArgument, CaseIterable { case csv, jsonl }

    @Argument(help: "Session id.")
    var id: Int64
    @Option(name: .long, help: "csv or jsonl.")
    var format: Format = .csv
    @Option(name: [.short, .long], help: "Write to this file instead of standard output.")
    var output: String?
    @Flag(name: .long, help: "Export what each compression did for the limb (simulated limbs) instead of the samples.")
    var compressions = false
    @OptionGroup var data: DataOptions
    @OptionGroup var device: DeviceOptions

    /// One compression as a CSV row or a JSON line.
    static func lines(_ list: [NumberedCompression], format: Format) -> [String] {
        func n(_ v: Double, _ d: Int) -> String { v.isFinite ? formatFixed(v, decimals: d) : "" }
        func j(_ v: Double, _ d: Int) -> String { v.isFinite ? formatFixed(v, decimals: d) : "null" }
        switch format {
        case .csv:
            return ["limb,number,start_s,end_s,expelled_ml,peak_flow_ml_s,peak_velocity_cm_s,refill_s"] + list.map { x in
                let c = x.compression
                return "\(c.limb),\(x.number),\(n(c.start, 3)),\(n(c.end, 3)),\(n(c.expelledML, 2)),\(n(c.peakFlowMLPerS, 2)),\(n(c.peakVelocityCMPerS, 2)),\(n(c.refillSeconds, 2))"
            }
        case .jsonl:
            return list.map { x in
                let c = x.compression
                return "{\"compression\":\(x.number),\"limb\":\(c.limb),\"start_s\":\(j(c.start, 3)),\"end_s\":\(j(c.end, 3)),\"expelled_ml\":\(j(c.expelledML, 2)),\"peak_flow_ml_s\":\(j(c.peakFlowMLPerS, 2)),\"peak_velocity_cm_s\":\(j(c.peakVelocityCMPerS, 2)),\"refill_s\":\(j(c.refillSeconds, 2))}"
            }
        }
    }

    func run() throws {
        if device.isRemote(given: data) { return try remote() }
        let (store, _) = try data.open()
        guard let s = try store.session(id) else { throw CLIError("no session \(id) in \(store.path) (see `soleus sessions`)") }
        let out: FileHandle
        if let output {
            guard FileManager.default.createFile(atPath: output, contents: nil), let h = FileHandle(forWritingAtPath: output) else {
                throw CLIError("cannot write \(output)")
            }
            out = h
        } else {
            out = FileHandle.standardOutput
        }
        var buffer = ""
        func emit(_ line: String) throws {
            buffer += line + "\n"
            if buffer.utf8.count > 1 << 16 { try out.write(contentsOf: Data(buffer.utf8)); buffer = "" }
        }
        let text = SampleText(chambers: s.chambers)
        if compressions {
            for line in Self.lines(try store.compressions(id), format: format) { try emit(line) }
        } else {
            switch format {
            case .csv:
                try emit(text.csvHeader)
                try store.forEachSample(id) { try emit(text.csv($0)) }
            case .jsonl:
                try store.forEachSample(id) { try emit(text.json($0)) }
                for e in try store.events(id) { try emit(SampleText.json(e)) }
                for line in Self.lines(try store.compressions(id), format: .jsonl) { try emit(line) }
            }
        }
        try out.write(contentsOf: Data(buffer.utf8))
        if output != nil { try out.close() }
    }

    /// The daemon streams the same bytes the local export writes.
    func remote() throws {
        let client = try device.client()
        let out = try openOutput()
        let sink = OutputSink(handle: out)
        let list = try waitFor { try await client.decode([APIModel.Compression].self, "/v1/sessions/\(id)/compressions") }.map(\.numbered)
        if compressions {
            try sink.write(Data(Self.lines(list, format: format).map { $0 + "\n" }.joined().utf8))
        } else {
            let path = "/v1/sessions/\(id)/samples?format=\(format.rawValue)"
            try waitFor { try await client.stream(path) { try sink.write(Data($0.readableBytesView)) } }
            if format == .jsonl { try sink.write(Data(Self.lines(list, format: .jsonl).map { $0 + "\n" }.joined().utf8)) }
        }
        if output != nil { try out.close() }
    }

    func openOutput() throws -> FileHandle {
        guard let output else { return FileHandle.standardOutput }
        guard FileManager.default.createFile(atPath: output, contents: nil), let h = FileHandle(forWritingAtPath: output) else {
            throw CLIError("cannot write \(output)")
        }
        return h
    }
}

final class OutputSink: @unchecked Sendable {
    let handle: FileHandle
    init(handle: FileHandle) { self.handle = handle }
    func write(_ d: Data) throws { try handle.write(contentsOf: d) }
}

/// A session's record, from the local store or from a daemon.
struct SessionSource {
    let data: DataOptions
    let device: DeviceOptions

    func load(_ id: Int64) throws -> (SessionStore.SessionInfo, [(chamber: String, summary: CycleSummary)], [SessionEvent]) {
        if device.isRemote(given: data) {
            let client = try device.client()
            let s = try waitFor { try await client.decode(APIModel.Session.self, "/v1/sessions/\(id)") }
            let cycles = try waitFor { try await client.decode([APIModel.Cycle].self, "/v1/sessions/\(id)/cycles") }
            let events = try waitFor { try await client.decode([APIModel.Event].self, "/v1/sessions/\(id)/events") }
            return (s.info, cycles.map { ($0.chamber, $0.summary(chambers: s.chambers)) }, events.map(\.event))
        }
        let (store, _) = try data.open()
        guard let s = try store.session(id) else { throw CLIError("no session \(id) in \(store.path) (see `soleus sessions`)") }
        return (s, try store.summaries(id), try store.events(id))
    }

    /// What each compression did for the limb (simulated limbs).
    func compressions(_ s: SessionStore.SessionInfo) throws -> [NumberedCompression] {
        if device.isRemote(given: data) {
            let client = try device.client()
            return try waitFor { try await client.decode([APIModel.Compression].self, "/v1/sessions/\(s.id)/compressions") }.map(\.numbered)
        }
        let (store, _) = try data.open()
        return try store.compressions(s.id)
    }

    /// Every sample of the session.
    func samples(_ s: SessionStore.SessionInfo) throws -> [SessionSample] {
        if device.isRemote(given: data) {
            let client = try device.client()
            let parser = CSVSamples(chambers: s.chambers)
            try waitFor { try await client.stream("/v1/sessions/\(s.id)/samples?format=csv") { parser.feed(Data($0.readableBytesView)) } }
            return parser.finish()
        }
        let (store, _) = try data.open()
        var out: [SessionSample] = []
        try store.forEachSample(s.id) { out.append($0) }
        return out
    }
}

/// Reads the export CSV back into samples (the remote plot's source).
final class CSVSamples: @unchecked Sendable {
    let n: Int
    var pending = Data()
    var samples: [SessionSample] = []
    var header = true

    init(chambers: [String]) { n = chambers.count }

    func feed(_ d: Data) {
        pending.append(d)
        while let nl = pending.firstIndex(of: UInt8(ascii: "\n")) {
            let line = String(decoding: pending[pending.startIndex..<nl], as: UTF8.self)
            pending.removeSubrange(pending.startIndex...nl)
            if header { header = false; continue }
            take(line)
        }
    }

    func take(_ line: String) {
        let cols = line.split(separator: ",", omittingEmptySubsequences: false)
        guard cols.count == 2 + 3 * n, let t = Double(cols[0]) else { return }
        var p = ChamberValues()
        for c in 0..<n { p[c] = Double(cols[1 + c]) ?? .nan }
        var inlets = ChamberSet(), exhausts = ChamberSet()
        for c in 0..<n {
            inlets.set(c, cols[2 + n + 2 * c] == "1")
            exhausts.set(c, cols[3 + n + 2 * c] == "1")
        }
        samples.append(SessionSample(time: t, pressures: p, outputs: BootOutputs(pump: cols[1 + n] == "1", inlets: inlets, exhausts: exhausts)))
    }

    func finish() -> [SessionSample] { samples }
}
