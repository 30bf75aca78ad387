import Foundation
import Testing

/// The CLI as a user meets it when things are wrong: bad arguments, files that are not files,
/// a full disk (a file-size limit makes writes fail as a full disk does), a second run, a killed run. Every case is a clear message, and no stored session
/// is lost.
@Suite struct HardeningCLITests {
    static let dvt = "protocols/dvt-3-chamber.toml"
    static let dvtBoot = "hardware/sim-3-dvt.toml"

    func dvtCycles(_ n: Int) throws -> String {
        let text = try String(contentsOfFile: CLI.root + "/" + Self.dvt, encoding: .utf8)
            .replacingOccurrences(of: "minutes = 30", with: "cycles = \(n)")
        return CLI.write(text, name: "dvt-\(n).toml")
    }

    // MARK: arguments

    @Test(arguments: [("nan", "not \"nan\""), ("-1", "not \"-1\""), ("1e-12", "not \"1e-12\""), ("inf", "not \"inf\""), ("1e9", "not \"1e9\"")])
    func everyBadSpeedIsAClearError(value: String, tail: String) throws {
        let r = try CLI.run(["run", Self.dvt, "--hardware", Self.dvtBoot, "--speed", value, "--data", CLI.tempDir()])
        #expect(r.status == 64)
        #expect(r.stderr.contains("--speed must be realtime, max, or a speed-up factor between 0.01 and 10000, \(tail)"))
    }

    @Test func badSessionIdsAndFormatsAreClearErrors() throws {
        let data = CLI.tempDir()
        let abc = try CLI.run(["show", "abc", "--data", data])
        #expect(abc.status == 64 && abc.stderr.contains("The value 'abc' is invalid for '<id>'"))
        let missing = try CLI.run(["show", "999999", "--data", data])
        #expect(missing.status == 1 && missing.stderr.contains("no session 999999 in \(data)/soleus.sqlite"))
        let format = try CLI.run(["export", "1", "--format", "xml", "--data", data])
        #expect(format.status == 64 && format.stderr.contains("Please provide one of 'csv' and 'jsonl'"))
        let level = try CLI.run(["run", "protocols/recovery-wave-5-zone.toml", "--hardware", "hardware/sim-5-recovery.toml", "--level", "-2", "--data", data])
        #expect(level.status == 64 && level.stderr.contains("--level must be 1 or more, not -2"))
    }

    @Test func devicesAndPipesAreRefusedNotReadForever() throws {
        let r = try CLI.run(["validate", "--hardware", "/dev/stdin", Self.dvt])
        #expect(r.status != 0)
        #expect(r.stderr.contains("/dev/stdin: is a") && r.stderr.contains("not a regular file"))
        let z = try CLI.run(["validate", "--hardware", Self.dvtBoot, "/dev/zero"])
        #expect(z.stderr.contains("/dev/zero: is a character device, not a regular file"))
        let fifo = CLI.tempDir() + "/fifo.toml"
        #expect(mkfifo(fifo, 0o600) == 0)
        let f = try CLI.run(["run", fifo, "--hardware", Self.dvtBoot, "--data", CLI.tempDir()])
        #expect(f.status == 2 && f.stderr.contains("\(fifo): is a FIFO (named pipe), not a regular file"))
    }

    // MARK: a full disk

    @Test func aFullDiskBeforeTheRunRunsNothing() throws {
        let data = CLI.tempDir()
        let r = try CLI.run(["run", Self.dvt, "--hardware", Self.dvtBoot, "--speed", "max", "--quiet", "--data", data], fileSizeLimitKiB: 1)
        #expect(r.status == 1)
        #expect(r.stderr.contains("cannot open the session database \(data)/soleus.sqlite"))
        #expect(r.stderr.contains("nothing was run"))
        #expect(!r.stdout.contains("Running"))
    }

    @Test func aDiskThatFillsDuringARunEndsWithTheLossStatedAndKeepsEarlierSessions() throws {
        let data = CLI.tempDir()
        let first = try CLI.run(["run", try dvtCycles(1), "--hardware", Self.dvtBoot, "--speed", "max", "--quiet", "--data", data])
        #expect(first.status == 0)
        let r = try CLI.run(["run", try dvtCycles(6), "--hardware", Self.dvtBoot, "--speed", "max", "--quiet", "--data", data], fileSizeLimitKiB: 200)
        #expect(r.status == 1)
        let list = try CLI.run(["sessions", "--data", data])
        let lines = list.stdout.split(separator: "\n")
        #expect(lines.count == 3)
        #expect(lines[1].contains("completed"))
        // The session's end says the log is incomplete; or, had the end not fit either, it
        // shows as interrupted. Never "completed".
        #expect(lines[2].contains("storage-failure") || lines[2].contains("interrupted"), "\(list.stdout)")
        let show = try CLI.run(["show", "2", "--data", data])
        #expect(show.stdout.contains("the session log is incomplete") || show.stdout.contains("interrupted"))
        // What was written before the disk filled (several seconds at 20 Hz) is kept.
        let export = try CLI.run(["export", "2", "--data", data])
        #expect(export.stdout.split(separator: "\n").count > 5 * 20)
        let firstExport = try CLI.run(["export", "1", "--data", data])
        #expect(firstExport.stdout.split(separator: "\n").count > 60 * 20)
    }

    // MARK: a second run, and a killed one

    @Test func aSecondRunIsRefusedAndAKilledRunShowsAsInterruptedWithItsSamples() throws {
        let data = CLI.tempDir()
        let (a, _) = try CLI.startRun([Self.dvt, "--hardware", Self.dvtBoot, "--speed", "20", "--quiet", "--data", data])
        usleep(1_500_000)  // 30 s of session at 20×: several flushes stored

        let b = try CLI.run(["run", Self.dvt, "--hardware", Self.dvtBoot, "--speed", "max", "--quiet", "--data", data])
        #expect(b.status == 1)
        #expect(b.stderr.contains("the data directory \(data) is in use by another soleus process (pid \(a.processIdentifier))"))
        #expect(b.stderr.contains("nothing was run"))
        #expect(try CLI.run(["sessions", "--data", data]).stdout.contains("running"))

        kill(a.processIdentifier, SIGKILL)
        a.waitUntilExit()
        let list = try CLI.run(["sessions", "--data", data])
        #expect(list.stdout.contains("interrupted"), "\(list.stdout)")
        let show = try CLI.run(["show", "1", "--data", data])
        #expect(show.stdout.contains("interrupted — no end was recorded"))
        let export = try CLI.run(["export", "1", "--data", data])
        #expect(export.stdout.split(separator: "\n").count > 20 * 20)
        // The directory is free again.
        let again = try CLI.run(["run", try dvtCycles(1), "--hardware", Self.dvtBoot, "--speed", "max", "--quiet", "--data", data])
        #expect(again.status == 0)
    }
}

/// Soleus's TOML reader against Python's standard `tomllib`, an independent TOML 1.0
/// implementation, on the committed corpus and thousands of deterministic mutants of it
/// (scripts/toml-differential.py; its allowed differences are Soleus's documented limits).
@Suite struct TOMLDifferentialTests {
    @Test func theReaderAgreesWithTomllibOnTheCorpusAndItsMutants() throws {
        let decoder = CLI.binary.deletingLastPathComponent().appendingPathComponent("soleus-toml-decode").path
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", "scripts/toml-differential.py", decoder, "Tests/TOMLCorpus", "--mutants", "3000", "--seed", "1"]
        p.currentDirectoryURL = URL(fileURLWithPath: CLI.root)
        let out = Pipe()
        p.standardOutput = out
        p.standardError = out
        try p.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        #expect(p.terminationStatus == 0, "\(text)")
        #expect(text.contains("toml-differential: 3236 documents, 0 failures"), "\(text)")
        // Both sides must really have accepted and rejected documents, not one way only.
        #expect(text.contains("accepted by both:") && !text.contains("accepted by both:                    0\n"))
    }
}
