import ArgumentParser
import Foundation
import SoleusRuntime

struct Plot: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Draw a session as an SVG: pressure per chamber with targets, phases, alarms; the first cycles in detail; per-cycle peaks and times to target.")

    @Argument(help: "Session id.") var id: Int64
    @Option(name: [.short, .long], help: "The SVG file to write.") var output: String
    @OptionGroup var data: DataOptions
    @OptionGroup var device: DeviceOptions

    func run() throws {
        let source = SessionSource(data: data, device: device)
        let (s, rows, events) = try source.load(id)
        let samples = try source.samples(s)
        let plot = SessionPlot(title: "Session \(s.id): \(s.protocolName) — \(s.endReason ?? "no end recorded")", chambers: s.chambers,
                               samples: samples, events: events, cycles: rows, compressions: try source.compressions(s))
        do { try plot.svg().write(toFile: output, atomically: true, encoding: .utf8) } catch {
            throw CLIError("cannot write \(output): \(error.localizedDescription)")
        }
        print("Wrote \(output): \(samples.count) samples, \(rows.count) chamber-cycles, \(events.filter { $0.kind == "alarm" }.count) alarms")
    }
}
