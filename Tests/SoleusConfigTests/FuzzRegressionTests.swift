import Foundation
import Testing
import SoleusCore
@testable import SoleusConfig

/// Every input kept in Fuzz/regressions/ (inputs that crashed, hung or trapped an earlier reader,
/// and any the fuzzers find) goes through the reader its target fuzzes, in the ordinary test
/// run: each must be refused with an error that names the file and a key or a line.
@Suite struct FuzzRegressionTests {
    static let inputs: [(target: String, path: String)] = {
        let root = repoRoot + "/Fuzz/regressions"
        let targets = ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []).sorted()
        return targets.flatMap { t in
            ((try? FileManager.default.contentsOfDirectory(atPath: root + "/" + t)) ?? []).sorted().map { (t, root + "/" + t + "/" + $0) }
        }
    }()

    @Test func everyTargetKeepsItsRegressions() {
        #expect(Set(Self.inputs.map(\.target)) == ["fuzz-toml", "fuzz-protocol", "fuzz-profile", "fuzz-scenario", "fuzz-validator"])
    }

    @Test(arguments: inputs.map(\.path))
    func aKeptInputIsRefusedCleanly(path: String) throws {
        let target = URL(fileURLWithPath: path).deletingLastPathComponent().lastPathComponent
        let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: path)))
        let text = try #require(String(validating: bytes, as: UTF8.self))
        let error: ConfigError
        do {
            switch target {
            case "fuzz-toml":
                #expect(throws: TOMLTaggedJSON.Failure.self) { try TOMLTaggedJSON.decode(bytes) }
                _ = try TOMLNode.parse(bytes, file: path)
            case "fuzz-protocol": _ = try ProtocolFile.parse(text, file: path)
            case "fuzz-profile": _ = try HardwareProfileFile.parse(text, file: path)
            case "fuzz-scenario": _ = try ScenarioFile.parse(text, file: path, directory: repoRoot + "/scenarios")
            default: _ = try ProtocolFile.plan(text, file: path, for: BootDescription(chambers: ["ankle", "calf", "thigh"], limits: BootLimits()))
            }
            Issue.record("\(path) was accepted")
            return
        } catch let e { error = e }
        #expect(error.file == path)
        #expect(!error.issues.isEmpty)
        for issue in error.issues {
            #expect(issue.line != nil || !issue.keyPath.isEmpty, "\(issue)")
        }
    }
}
