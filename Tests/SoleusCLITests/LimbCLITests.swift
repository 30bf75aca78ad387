import Foundation
import Testing

/// The limb figures, the refill-adaptive protocol, the garment check and the report through the
/// `soleus` binary.
@Suite struct LimbCLITests {
    static let adaptive = """
        [protocol]
        name = "Adaptive, short"
        chambers = ["ankle", "calf", "thigh"]
        [session]
        cycles = 2
        [cycle]
        rest_s = 49
        [[cycle.chamber]]
        name = "ankle"
        target_mmHg = 45
        inflate = { at_s = 0 }
        release = { at_s = 11 }
        [[cycle.chamber]]
        name = "calf"
        target_mmHg = 40
        inflate = { at_s = 2.5 }
        release = { at_s = 11 }
        [[cycle.chamber]]
        name = "thigh"
        target_mmHg = 30
        inflate = { at_s = 5.5 }
        release = { at_s = 11 }
        [refill]
        chamber = "calf"
        min_rest_s = 20
        max_rest_s = 60
        every_cycles = 1
        """

    @Test func runShowExportAndReportTheLimbsFigures() throws {
        let data = CLI.tempDir()
        let f = CLI.write(Self.adaptive)
        let run = try CLI.run(["run", f, "--hardware", "hardware/sim-3-dvt.toml", "--speed", "max", "--data", data])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.hasPrefix("garment detected as expected: ankle a bladder rising"))

        let show = try CLI.run(["show", "1", "--data", data])
        #expect(show.stdout.contains("Limb (simulated limb model): what each compression did for the venous blood"))
        #expect(show.stdout.contains("mL expelled in 2 compressions"))
        #expect(show.stdout.contains("refill-measured"))
        #expect(show.stdout.contains("garment-detected"))

        let csv = try CLI.run(["export", "1", "--compressions", "--data", data])
        let rows = csv.stdout.split(separator: "\n")
        #expect(rows.first == "limb,number,start_s,end_s,expelled_ml,peak_flow_ml_s,peak_velocity_cm_s,refill_s")
        #expect(rows.count == 3)
        let expelled = rows.dropFirst().compactMap { Double($0.split(separator: ",", omittingEmptySubsequences: false)[4]) }
        #expect(expelled.count == 2 && expelled.allSatisfy { $0 > 70 && $0 < 180 })

        let jsonl = try CLI.run(["export", "1", "--format", "jsonl", "--data", data])
        let compressions = jsonl.stdout.split(separator: "\n").filter { $0.hasPrefix("{\"compression\":") }
        #expect(compressions.count == 2)
        for line in compressions { #expect(throws: Never.self) { try JSONSerialization.jsonObject(with: Data(line.utf8)) } }

        let plot = try CLI.run(["plot", "1", "-o", data + "/p.svg", "--data", data])
        #expect(plot.status == 0)
        let svg = try String(contentsOfFile: data + "/p.svg", encoding: .utf8)
        #expect(svg.contains("Venous blood expelled per compression"))
        #expect(svg.components(separatedBy: "class=\"compression\"").count - 1 == 4, "two bars in each of the two panels")

        let f2 = DateFormatter()
        f2.dateFormat = "yyyy-MM-dd"
        let today = f2.string(from: Date())
        let report = try CLI.run(["report", "--from", today, "--to", today, "--data", data])
        #expect(report.status == 0, "\(report.stderr)")
        #expect(report.stdout.contains("1 of 1 days with therapy"))
        let reportCSV = try CLI.run(["report", "--from", today, "--to", today, "--csv", "--data", data])
        #expect(reportCSV.stdout.hasPrefix("date,sessions,completed,ended_early,therapy_min,cycles,protocols,early_reasons\n\(today),1,1,0,"))
        let bad = try CLI.run(["report", "--from", "2026-02-30", "--to", today, "--data", data])
        #expect(bad.status == 1)
        #expect(bad.stderr.contains("--from 2026-02-30 is not a date"))
    }

    @Test func theWrongGarmentOrNoneIsRefusedBeforeTherapy() throws {
        let data = CLI.tempDir()
        let swapped = try CLI.run(["run", "protocols/dvt-3-chamber.toml", "--hardware", "hardware/sim-3-dvt.toml", "--speed", "max", "--data", data,
                                   "--simulate-garment", "hardware/sim-1-calf-sleeve.toml"])
        #expect(swapped.status == 1)
        #expect(swapped.stdout.hasPrefix("REFUSED: garment does not match the profile: ankle: expected a bladder rising"))
        #expect(swapped.stdout.contains("calf: expected a bladder rising 3.1 mmHg, found nothing (no rise)"))
        #expect(swapped.stdout.contains("responds like: Simulated single-chamber calf sleeve"))
        #expect(swapped.stdout.contains("Session 1: garment-not-detected"))
        #expect(swapped.stdout.contains("0 main cycles"))

        let none = try CLI.run(["run", "protocols/dvt-3-chamber.toml", "--hardware", "hardware/sim-3-dvt.toml", "--speed", "max", "--data", data,
                                "--simulate-garment", "none", "--quiet"])
        #expect(none.status == 1)
        #expect(none.stdout.hasPrefix("REFUSED: garment not detected (no outlet holds air: is the garment connected?)"))

        let show = try CLI.run(["show", "2", "--data", data])
        #expect(show.stdout.contains("end        garment-not-detected — garment not detected"))
        #expect(show.stdout.contains("garment-not-detected"))
        // Skipping the check runs therapy on whatever is there: here nothing, so it trips.
        let skipped = try CLI.run(["run", "protocols/dvt-3-chamber.toml", "--hardware", "hardware/sim-3-dvt.toml", "--speed", "max", "--data", data,
                                   "--simulate-garment", "none", "--no-garment-check", "--quiet"])
        #expect(skipped.status == 1)
        #expect(skipped.stdout.contains("safety-trip"))
    }
}
