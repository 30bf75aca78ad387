import ArgumentParser
import Foundation
import SoleusCore
import SoleusRuntime

struct Sessions: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List the stored sessions.")
    @OptionGroup var data: DataOptions

    func run() throws {
        let (store, recovery) = try data.open()
        let list = try store.sessions()
        if list.isEmpty {
            print("No sessions in \(store.path).")
            return
        }
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
            let end = s.endReason ?? (recovery == .runInProgress ? "running" : "no end yet")
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

    func run() throws {
        let (store, _) = try data.open()
        guard let s = try store.session(id) else { throw CLIError("no session \(id) in \(store.path) (see `soleus sessions`)") }
        let rows = try store.summaries(id)
        let events = try store.events(id)
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
        discussion: "CSV columns: t_s, one <chamber>_mmHg per chamber, pump, then <chamber>_inlet and <chamber>_exhaust (1 = open) per chamber. JSON Lines: one object per sample, then one per event with \"event\".")

    enum Format: String, ExpressibleByArgument, CaseIterable { case csv, jsonl }

    @Argument(help: "Session id.")
    var id: Int64
    @Option(name: .long, help: "csv or jsonl.")
    var format: Format = .csv
    @Option(name: [.short, .long], help: "Write to this file instead of standard output.")
    var output: String?
    @OptionGroup var data: DataOptions

    func run() throws {
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
        switch format {
        case .csv:
            try emit(text.csvHeader)
            try store.forEachSample(id) { try emit(text.csv($0)) }
        case .jsonl:
            try store.forEachSample(id) { try emit(text.json($0)) }
            for e in try store.events(id) { try emit(SampleText.json(e)) }
        }
        try out.write(contentsOf: Data(buffer.utf8))
        if output != nil { try out.close() }
    }
}
