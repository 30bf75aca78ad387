import Foundation
import Testing

/// Runs the built `soleus` executable, as a user would.
struct CLI {
    static let root: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    /// The `soleus` binary next to the test bundle.
    static let binary: URL = {
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        // On Linux the test runner is .build/<triple>/debug/SoleusPackageTests.xctest.
        if dir.lastPathComponent.hasSuffix(".xctest") { dir.deleteLastPathComponent() }
        return dir.appendingPathComponent("soleus")
    }()

    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// Runs `soleus` with `args`; with `fileSizeLimitKiB`, under that file-size limit (writes past
    /// it fail as on a full disk).
    static func run(_ args: [String], fileSizeLimitKiB: Int? = nil) throws -> Result {
        let p = Process()
        if let kib = fileSizeLimitKiB {
            p.executableURL = URL(fileURLWithPath: "/bin/bash")
            p.arguments = ["-c", "ulimit -f \(kib); exec \"$0\" \"$@\"", binary.path] + args
        } else {
            p.executableURL = binary
            p.arguments = args
        }
        p.currentDirectoryURL = URL(fileURLWithPath: root)
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return Result(status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self), stderr: String(decoding: e, as: UTF8.self))
    }

    /// Starts a `soleus run` in the background and returns once its session is running (its
    /// first line printed), with the rest of its output still to read.
    static func startRun(_ args: [String]) throws -> (Process, FileHandle) {
        let p = Process()
        p.executableURL = binary
        p.arguments = ["run"] + args
        p.currentDirectoryURL = URL(fileURLWithPath: root)
        let out = Pipe()
        p.standardOutput = out
        p.standardError = Pipe()
        try p.run()
        var seen = Data()
        while !String(decoding: seen, as: UTF8.self).contains("Ctrl-C stops") {
            let chunk = out.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            seen += chunk
        }
        return (p, out.fileHandleForReading)
    }

    static func tempDir() -> String {
        let d = FileManager.default.temporaryDirectory.appendingPathComponent("soleus-cli-\(UUID().uuidString)").path
        try? FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        return d
    }

    static func write(_ text: String, name: String = "p.toml") -> String {
        let path = tempDir() + "/" + name
        _ = FileManager.default.createFile(atPath: path, contents: Data(text.utf8))
        return path
    }
}

let goodProtocol = """
[protocol]
name = "test"
chambers = ["ankle", "calf"]
[session]
cycles = 2
[cycle]
period_s = 20
[[cycle.chamber]]
name = "ankle"
target_mmHg = 45
inflate = { at_s = 0 }
release = { at_s = 8 }
[[cycle.chamber]]
name = "calf"
target_mmHg = 40
inflate = { at_s = 2 }
release = { at_s = 8 }
"""

@Suite(.serialized) struct CLITests {
    @Test func validateAcceptsEveryShippedProtocol() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: CLI.root + "/protocols").filter { $0.hasSuffix(".toml") }.map { "protocols/" + $0 }
        let r = try CLI.run(["validate"] + files)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.components(separatedBy: ": ok").count - 1 == files.count)
    }

    @Test func validateRejectsAReverseGradient() throws {
        let f = CLI.write(goodProtocol.replacingOccurrences(of: "target_mmHg = 40", with: "target_mmHg = 50"))
        let r = try CLI.run(["validate", f])
        #expect(r.status == 1)
        #expect(r.stderr.contains("\(f): cycle.chamber[1].target_mmHg: reverse gradient"))
    }

    @Test func validateRejectsAPressureAboveTheCeiling() throws {
        let f = CLI.write(goodProtocol.replacingOccurrences(of: "target_mmHg = 45", with: "target_mmHg = 180"))
        let r = try CLI.run(["validate", "--hardware", "hardware/sim-3-dvt.toml", f])
        #expect(r.status == 1)
        #expect(r.stderr.contains("\(f): cycle.chamber[0].target_mmHg: target 180.0 mmHg for ankle is above the hardware ceiling of 150.0 mmHg"))
    }

    @Test func validateRejectsAnUnknownKey() throws {
        let f = CLI.write(goodProtocol.replacingOccurrences(of: "period_s = 20", with: "period_s = 20\nperiod = 20"))
        let r = try CLI.run(["validate", f])
        #expect(r.status == 1)
        #expect(r.stderr.contains("\(f): cycle.period: unknown key; did you mean \"period_s\"?"))
    }

    @Test func validateRejectsATOMLSyntaxErrorWithLineAndColumn() throws {
        let f = CLI.write(goodProtocol.replacingOccurrences(of: "cycles = 2", with: "cycles = = 2"))
        let r = try CLI.run(["validate", f])
        #expect(r.status == 1)
        #expect(r.stderr.contains("\(f): line 5, column"))
        #expect(r.stderr.contains("TOML syntax error"))
    }

    @Test func validateReportsEveryFileAndAMissingOne() throws {
        let good = CLI.write(goodProtocol)
        let r = try CLI.run(["validate", good, "/nonexistent/x.toml"])
        #expect(r.status == 1)
        #expect(r.stdout.contains("\(good): ok"))
        #expect(r.stderr.contains("/nonexistent/x.toml: cannot open: No such file or directory"))
        #expect(r.stderr.contains("1 of 2 protocol file(s) invalid"))
    }

    @Test func runShowAndExportASession() throws {
        let data = CLI.tempDir()
        let f = CLI.write(goodProtocol)
        let run = try CLI.run(["run", f, "--hardware", "hardware/sim-3-dvt.toml", "--speed", "max", "--data", data])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("Session 1: completed"))

        let list = try CLI.run(["sessions", "--data", data])
        #expect(list.stdout.contains("completed"))

        let show = try CLI.run(["show", "1", "--data", data])
        #expect(show.status == 0)
        #expect(show.stdout.contains("end        completed"))
        #expect(show.stdout.contains("sha256 "))
        let peakLines = show.stdout.split(separator: "\n").filter { $0.contains("  main  ") }
        #expect(peakLines.count == 4) // 2 cycles × 2 chambers

        let csv = try CLI.run(["export", "1", "--format", "csv", "--data", data])
        #expect(csv.status == 0)
        let lines = csv.stdout.split(separator: "\n")
        #expect(lines.first == "t_s,ankle_mmHg,calf_mmHg,thigh_mmHg,pump,ankle_inlet,ankle_exhaust,calf_inlet,calf_exhaust,thigh_inlet,thigh_exhaust")
        let times = lines.dropFirst().compactMap { Double($0.split(separator: ",")[0]) }
        #expect(times.count == lines.count - 1)
        #expect(zip(times, times.dropFirst()).allSatisfy { $0 < $1 })
        // At least 10 Hz: no gap longer than 0.1 s.
        #expect(zip(times, times.dropFirst()).allSatisfy { $1 - $0 <= 0.1 + 1e-9 })
        #expect(times.last ?? 0 >= 40)
        let peakAnkle = lines.dropFirst().compactMap { Double($0.split(separator: ",")[1]) }.max() ?? 0
        #expect(abs(peakAnkle - 45) < 3)

        let jsonl = try CLI.run(["export", "1", "--format", "jsonl", "--data", data])
        let objects = jsonl.stdout.split(separator: "\n")
        #expect(objects.count > times.count)
        for line in objects.prefix(3) + objects.suffix(3) {
            #expect(throws: Never.self) { try JSONSerialization.jsonObject(with: Data(line.utf8)) }
        }
    }

    @Test func showOfAMissingSessionIsAClearError() throws {
        let r = try CLI.run(["show", "42", "--data", CLI.tempDir()])
        #expect(r.status != 0)
        #expect(r.stderr.contains("no session 42"))
    }

    @Test func runWithAMissingProfileNamesIt() throws {
        let r = try CLI.run(["run", "protocols/dvt-3-chamber.toml", "--hardware", "hardware/nope.toml", "--data", CLI.tempDir()])
        #expect(r.status == 2)
        #expect(r.stderr.contains("hardware/nope.toml: cannot open"))
    }

    @Test func runOnTheWrongBootNamesTheMissingChamber() throws {
        let r = try CLI.run(["run", "protocols/dvt-3-chamber.toml", "--hardware", "hardware/sim-1-foot.toml", "--speed", "max", "--data", CLI.tempDir()])
        #expect(r.status == 2)
        #expect(r.stderr.contains("protocols/dvt-3-chamber.toml: protocol.chambers: the protocol names 3 chambers but the boot has only 1 (foot)"))
    }

    @Test func badSpeedIsRejected() throws {
        let r = try CLI.run(["run", "protocols/dvt-3-chamber.toml", "--hardware", "hardware/sim-3-dvt.toml", "--speed", "fast", "--data", CLI.tempDir()])
        #expect(r.status != 0)
        #expect(r.stderr.contains("--speed must be realtime, max, or a speed-up factor between 0.01 and 10000, not \"fast\""))
    }

    @Test func interruptStopsTheSessionVented() throws {
        let data = CLI.tempDir()
        // Once the session is running, press Ctrl-C.
        let (p, out) = try CLI.startRun(["protocols/dvt-3-chamber.toml", "--hardware", "hardware/sim-3-dvt.toml", "--speed", "20", "--data", data, "--quiet"])
        usleep(300_000)
        p.interrupt()
        let rest = out.readDataToEndOfFile()
        p.waitUntilExit()
        let text = String(decoding: rest, as: UTF8.self)
        #expect(p.terminationStatus == 130)
        #expect(text.contains("stopped — stopped by the operator"))
        let show = try CLI.run(["show", "1", "--data", data])
        #expect(show.stdout.contains("operator-stop"))
        #expect(show.stdout.contains("vented"))
    }
}

@Suite struct ScenarioCLITests {
    @Test func scenarioPrintsTheTraceAndPasses() throws {
        let r = try CLI.run(["scenario", "scenarios/exhaust-stuck-closed.toml"])
        #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
        #expect(r.stdout.contains("alarm           high priority: vent-failure — calf still at"))
        #expect(r.stdout.contains("PASS  alarm vent-failure raised"))
        #expect(r.stdout.contains("1 passed, 0 failed"))
    }

    @Test func aFailingExpectationExitsNonZero() throws {
        let text = try String(contentsOfFile: CLI.root + "/scenarios/emergency-stop.toml", encoding: .utf8)
            .replacingOccurrences(of: "alarm = \"emergency-stop\"", with: "alarm = \"leak\"")
            .replacingOccurrences(of: "\"../", with: "\"\(CLI.root)/")
        let f = CLI.write(text, name: "wrong.toml")
        let r = try CLI.run(["scenario", f])
        #expect(r.status == 1)
        #expect(r.stdout.contains("FAIL  alarm leak raised: raised instead: emergency-stop"))
    }
}
