import ArgumentParser
import Foundation
import NIOHTTP1
import NIOCore
import SoleusCore
import SoleusDaemon
import SoleusRuntime

#if canImport(Glibc)
import Glibc
#endif

struct Status: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show the daemon's state: phase, cycle, each chamber's pressure against its target, alarms, loop timing.",
        discussion: "With --watch, a live view redrawn in place from the daemon's event stream (Ctrl-C leaves it; the session is not affected).")

    @Flag(name: .long, help: "Keep watching (live).") var watch = false
    @Option(name: .long, help: "With --watch: stop after this many seconds.") var seconds: Double?
    @Flag(name: .long, help: "Print the status as JSON.") var json = false
    @OptionGroup var device: DeviceOptions

    func validate() throws {
        if let seconds, !(seconds > 0) { throw ValidationError("--seconds must be more than 0") }
    }

    func run() throws {
        let client = try device.client()
        guard watch else {
            let data = try waitFor { try await client.call(.GET, "/v1/status") }
            if json { print(String(decoding: data, as: UTF8.self)); return }
            let r: StatusReport
            do { r = try WireJSON.decode(StatusReport.self, from: data) } catch { throw CLIError("the daemon's status cannot be read: \(error)") }
            for line in StatusView.lines(r) { print(line) }
            return
        }
        let view = StatusView(tty: isatty(STDOUT_FILENO) == 1, json: json)
        let deadline = seconds.map { Date().addingTimeInterval($0) }
        let parser = EventStreamParser()
        do {
            try waitFor {
                try await client.stream("/v1/stream") { chunk in
                    for (name, data) in parser.feed(chunk) { view.show(event: name, data: data) }
                    if let deadline, Date() >= deadline { throw StopWatching() }
                }
            }
        } catch is StopWatching {}
        view.finish()
    }

    struct StopWatching: Error {}
}

/// Splits a server-sent event stream into (event, data) pairs.
final class EventStreamParser: @unchecked Sendable {
    var pending = ""
    func feed(_ chunk: ByteBuffer) -> [(String, String)] {
        pending += String(decoding: chunk.readableBytesView, as: UTF8.self)
        var out: [(String, String)] = []
        while let end = pending.range(of: "\n\n") {
            let block = pending[..<end.lowerBound]
            pending = String(pending[end.upperBound...])
            var name = "message", data = ""
            for line in block.split(separator: "\n") {
                if line.hasPrefix("event: ") { name = String(line.dropFirst(7)) }
                if line.hasPrefix("data: ") { data += line.dropFirst(6) }
            }
            out.append((name, data))
        }
        return out
    }
}

/// The live terminal view: bars of pressure against target per chamber, redrawn in place on a
/// terminal; on a pipe, one block whenever the phase, cycle or alarms change.
final class StatusView: @unchecked Sendable {
    let tty: Bool
    let json: Bool
    var drawn = 0
    var lastKey = ""

    init(tty: Bool, json: Bool) {
        self.tty = tty
        self.json = json
    }

    func show(event: String, data: String) {
        if json { print("\(event) \(data)"); fflush(nil); return }
        if event == "session-event" {
            guard !tty, let e = try? WireJSON.decode(APIModel.StreamEvent.self, from: Data(data.utf8)) else { return }
            if ["alarm", "alarm-acknowledged", "alarm-reset", "alarm-ended", "operator-stop", "operator-pause", "operator-resume", "safe-state"].contains(e.event) {
                print("  event \(formatFixed(e.tS ?? 0, decimals: 2)) s  \(e.event)  \(e.message)")
            }
            return
        }
        guard event == "status", let r = try? WireJSON.decode(StatusReport.self, from: Data(data.utf8)) else {
            if event == "error" { print("daemon: \(data)") }
            return
        }
        let lines = Self.lines(r)
        if tty {
            var out = drawn > 0 ? "\u{1B}[\(drawn)A" : ""
            for l in lines { out += "\u{1B}[2K" + l + "\n" }
            if drawn > lines.count { for _ in lines.count..<drawn { out += "\u{1B}[2K\n" } }
            print(out, terminator: "")
            drawn = max(drawn, lines.count)
        } else {
            let key = "\(r.state) \(r.cycle ?? 0) \(r.alarms.map { "\($0.condition)\($0.active)\($0.acknowledged)" })"
            guard key != lastKey else { return }
            lastKey = key
            for l in lines { print(l) }
        }
        fflush(nil)
    }

    func finish() { fflush(nil) }

    /// The status as text: a header, one bar per chamber, the alarms, the loop's timing.
    static func lines(_ r: StatusReport) -> [String] {
        var out: [String] = []
        var head = "\(r.state.uppercased())  \(r.hardware)"
        if let id = r.sessionId { head += "  session \(id) \"\(r.protocolName ?? "")\"" }
        if let t = r.timeS { head += "  \(formatDuration(t))  \(r.part ?? "") cycle \(r.cycle ?? 0)" }
        if let pump = r.pump { head += "  pump \(pump ? "on" : "off")" }
        out.append(head)
        let scale = max(60, ((r.chambers.map { max($0.targetMmhg, $0.pressureMmhg ?? 0) }.max() ?? 0) / 10).rounded(.up) * 10 + 10)
        let width = 40
        let nameWidth = max(8, r.chambers.map(\.name.count).max() ?? 0)
        for c in r.chambers {
            let p = c.pressureMmhg ?? 0
            let filled = Int((min(max(p, 0), scale) / scale * Double(width)).rounded())
            var bar = Array(repeating: "█", count: filled) + Array(repeating: "·", count: width - filled)
            if c.targetMmhg > 0 {
                let at = min(width - 1, Int((c.targetMmhg / scale * Double(width)).rounded()))
                bar[at] = "|"
            }
            let valve = c.inletOpen ? "▲ in" : (c.exhaustOpen ? "▽ out" : "= held")
            let reading = c.pressureMmhg.map { pad(formatMMHg($0), 6) } ?? "     ?"
            let target = c.targetMmhg > 0 ? " / " + pad(formatMMHg(c.targetMmhg), 5) : "        "
            out.append("  " + c.name.padding(nameWidth) + bar.joined() + " " + reading + target + " mmHg  " + c.phase.padding(9) + valve)
        }
        if r.alarms.isEmpty {
            out.append("  alarms: none")
        } else {
            for a in r.alarms {
                out.append("  ALARM \(a.priority.uppercased()) \(a.condition)" + (a.active ? "" : " (latched, condition ended)") + (a.acknowledged ? " — acknowledged" : "") + (r.audioPaused ? " — audio paused" : ""))
            }
        }
        if let l = r.loop, l.paced {
            out.append("  loop: \(l.ticks) ticks, late p50 \(LoopTiming.format(l.p50S)) p99 \(LoopTiming.format(l.p99S)) max \(LoopTiming.format(l.maxS)), \(l.missedPeriods) missed")
        }
        if r.sessionId == nil, let last = r.lastSession {
            out.append("  last session \(last.id): \(last.endReason) — \(last.detail)")
        }
        return out
    }
}
