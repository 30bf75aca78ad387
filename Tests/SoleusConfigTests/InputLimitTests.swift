import Foundation
import Testing
import SoleusCore
@testable import SoleusConfig

/// Every class of extreme input from the hardening issue gets a clean error naming the file and
/// the key (or line), before any conversion or long computation.
@Suite struct InputLimitTests {
    func messages(_ text: String) -> [String] { configIssues(text).map(\.description) }

    // MARK: numbers past any sensible range

    @Test func hugeNumbersAreRangeErrorsNamingTheKey() {
        #expect(messages(dvtText.replacingFirst("target_mmHg = 45", with: "target_mmHg = 1e19"))
            == ["cycle.chamber[0].target_mmHg: 1e+19 is out of range: at most 1000 mmHg"])
        #expect(messages(dvtText.replacingFirst("period_s = 60", with: "period_s = 1e19"))
            == ["cycle.period_s: 1e+19 is out of range: at most 3600 s"])
        #expect(messages(dvtText.replacingFirst("release = { at_s = 11 }", with: "release = { at_s = 1e300 }"))
            == ["cycle.chamber[0].release.at_s: 1e+300 is out of range: at most 3600 s"])
        #expect(messages(dvtText.replacingFirst("minutes = 30", with: "minutes = -1e308"))
            == ["session.minutes: -1e+308 is out of range: at most 1440 min"])
        #expect(messages(dvtText.replacingFirst("period_s = 60", with: "period_s = inf"))
            == ["cycle.period_s: must be a number, found inf (out of range)"])
    }

    @Test func aProfileCeilingOf1e300IsRefusedWithItsValue() throws {
        let text = try String(contentsOfFile: repoRoot + "/hardware/sim-3-dvt.toml", encoding: .utf8)
            .replacingOccurrences(of: #"ceiling_mmHg = [0-9.]+"#, with: "ceiling_mmHg = 1e300", options: .regularExpression)
            .replacingOccurrences(of: #"max_session_min = [0-9.]+"#, with: "max_session_min = 1e300", options: .regularExpression)
        #expect(throws: ConfigError.self) { try HardwareProfileFile.parse(text, file: "h.toml") }
        do { _ = try HardwareProfileFile.parse(text, file: "h.toml") } catch {
            #expect(error.description.contains("h.toml: limits.ceiling_mmHg: 1e+300 mmHg is above the absolute ceiling of 150.0 mmHg"))
            #expect(error.description.contains("h.toml: limits.max_session_min: must be above 0 and at most 1440 min"))
        }
    }

    @Test func formattingNeverTrapsOnAnyDouble() {
        #expect(formatMMHg(1e300) == "1e+300")
        #expect(formatMMHg(-1e300) == "-1e+300")
        #expect(formatMMHg(.greatestFiniteMagnitude) == "1.7976931348623157e+308")
        #expect(formatMMHg(9.3e15) == "9.3e+15")
        #expect(formatMMHg(8.9e14) == "890000000000000.0")
        #expect(formatMMHg(.leastNonzeroMagnitude) == "0.0")
        #expect(formatMMHg(-0.0) == "0.0")
        #expect(formatMMHg(.nan) == "nan")
        #expect(formatMMHg(-.infinity) == "-inf")
        #expect(formatFixed(1.25, decimals: 99) == "1.250000000")
    }

    @Test func saturatingConversion() {
        #expect(Int(saturating: .nan) == 0)
        #expect(Int(saturating: .infinity) == .max)
        #expect(Int(saturating: -1e300) == .min)
        #expect(Int(saturating: 1e19) == .max)
        #expect(Int(saturating: -3.9) == -3)
    }

    // MARK: work an input can ask for

    @Test func aHundredThousandChambersAreRefusedBeforeValidation() {
        let names = (0..<100_000).map { "\"c\($0)\"" }.joined(separator: ",")
        let text = dvtText.replacingFirst("chambers = [\"ankle\", \"calf\", \"thigh\"]", with: "chambers = [\(names)]")
        #expect(messages(text) == ["protocol.chambers: lists 100000 items; at most \(maxChambers) are allowed"])
    }

    @Test func cycleAndSetCountsAreBounded() {
        #expect(messages(dvtText.replacingFirst("minutes = 30", with: "cycles = 1000000"))
            == ["session.cycles: 1000000 is out of range: at most 100000"])
        #expect(messages(dvtText.replacingFirst("minutes = 30", with: "sets = 1001\ncycles_per_set = 1"))
            == ["session.sets: 1001 is out of range: at most 1000"])
    }

    /// The session-length limit covers every length form, rest pacing and sets included.
    @Test func everyLengthFormIsCheckedAgainstTheSessionLimit() {
        let rest = dvtText.replacingFirst("period_s = 60", with: "rest_s = 30")
        #expect(messages(rest.replacingFirst("minutes = 30", with: "cycles = 1000")).first?
            .hasPrefix("session.cycles: 1000 cycles of at least 41.0 s last at least 683.3 min, longer than the profile's limit of 120 min") == true)
        #expect(messages(rest.replacingFirst("minutes = 30", with: "sets = 1000\ncycles_per_set = 1000")).first?
            .hasPrefix("session.sets: 1000 sets of 1000 cycles of at least 41.0 s") == true)
        #expect(messages(dvtText.replacingFirst("minutes = 30", with: "sets = 2\ncycles_per_set = 1\nrest_between_sets_s = 1e9"))
            == ["session.rest_between_sets_s: 1000000000.000 is out of range: at most 3600 s"])
        #expect(messages(dvtText.replacingFirst("minutes = 30", with: "sets = 3\ncycles_per_set = 10\nrest_between_sets_s = 3600")).first?
            .hasPrefix("session.sets: 3 sets of 10 cycles of at least 60.0 s with 3600 s between sets last at least 150.0 min") == true)
        #expect(messages(dvtText.replacingFirst("minutes = 30", with: "sets = 3\ncycles_per_set = 10\nrest_between_sets_s = 60")) == [])
    }

    // MARK: files that are not regular files

    @Test func onlyRegularFilesAreRead() throws {
        let fifo = NSTemporaryDirectory() + "soleus-fifo-\(UUID().uuidString)"
        #expect(mkfifo(fifo, 0o600) == 0)
        defer { unlink(fifo) }
        let cases: [(String, String)] = [
            (fifo, "is a FIFO (named pipe), not a regular file"),
            ("/dev/zero", "is a character device, not a regular file"),
            ("/dev/null", "is a character device, not a regular file"),
            (NSTemporaryDirectory(), "is a directory, not a regular file"),
            ("/nonexistent/p.toml", "cannot open: No such file or directory"),
        ]
        for (path, message) in cases {
            #expect(throws: ConfigError.self) { try ProtocolFile.load(path: path) }
            do { _ = try HardwareProfileFile.load(path: path) } catch {
                #expect(error.description == "\(path): \(message)" + (message.hasPrefix("cannot") ? "" : "; give the path of a .toml file"))
            }
        }
    }

    @Test func aFileOverOneMebibyteIsRefusedBeforeReading() throws {
        let path = NSTemporaryDirectory() + "soleus-big-\(UUID().uuidString).toml"
        #expect(FileManager.default.createFile(atPath: path, contents: Data(count: InputLimits.maxFileBytes + 1)))
        defer { unlink(path) }
        do { _ = try ProtocolFile.load(path: path) } catch {
            #expect(error.description == "\(path): is 1048577 bytes; files larger than 1048576 bytes (1 MiB) are refused")
        }
    }

    @Test func nonUTF8TextNamesTheOffset() throws {
        let path = NSTemporaryDirectory() + "soleus-latin1-\(UUID().uuidString).toml"
        #expect(FileManager.default.createFile(atPath: path, contents: Data([0x23, 0x20, 0xE9, 0x0A])))
        defer { unlink(path) }
        do { _ = try ProtocolFile.load(path: path) } catch {
            #expect(error.description == "\(path): is not UTF-8 text (invalid byte at offset 2); save it as UTF-8")
        }
    }

    // MARK: scenarios

    func scenario(_ body: String, protocolPath: String = "protocols/dvt-3-chamber.toml") throws -> ConfigError? {
        let dir = NSTemporaryDirectory() + "soleus-scn-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let path = dir + "/s.toml"
        let proto = protocolPath.hasPrefix("/") ? protocolPath : repoRoot + "/" + protocolPath
        let text = """
            [scenario]
            name = "s"
            protocol = "\(proto)"
            hardware = "\(repoRoot)/hardware/sim-3-dvt.toml"
            \(body)
            """
        #expect(FileManager.default.createFile(atPath: path, contents: Data(text.utf8)))
        do { _ = try ScenarioFile.load(path: path); return nil } catch { return error }
    }

    @Test func scenarioTimesCountsAndCyclesAreBounded() throws {
        let huge = try #require(try scenario("cycles = 100000\n[[event]]\nat_s = 1e19\nfault = \"pump-dead\"\n[expect]\nalarm = \"none\""))
        #expect(huge.issues.map(\.description) == [
            "scenario.cycles: 100000 is out of range: at most 1000",
            "event[0].at_s: must be between 0.000 and 86400.000 s, got 1e+19",
        ])
        let events = String(repeating: "[[event]]\nat_s = 1\nfault = \"pump-dead\"\n", count: 1001)
        let many = try #require(try scenario(events + "[expect]\nalarm = \"none\""))
        #expect(many.issues.map(\.description) == ["event: has 1001 entries; at most 1000 are allowed"])
    }

    @Test func aScenarioNamingADeviceAsItsProtocolIsRefused() throws {
        // The protocol is read when the scenario runs; the reader refuses it there.
        #expect(throws: ConfigError.self) { try ProtocolFile.load(path: "/dev/zero") }
        #expect(try scenario("[expect]\nalarm = \"none\"", protocolPath: "/dev/zero") == nil)
    }
}
