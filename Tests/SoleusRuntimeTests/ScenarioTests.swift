import Foundation
import Testing
import SoleusConfig
import SoleusCore
@testable import SoleusRuntime

let scenarioFiles: [String] = {
    let dir = repoPath("scenarios")
    return ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).filter { $0.hasSuffix(".toml") }.sorted().map { dir + "/" + $0 }
}()

@Suite struct ScenarioTests {
    @Test func thereIsAScenarioForEveryAlarmCondition() throws {
        var covered = Set<String>()
        for f in scenarioFiles { if let a = try ScenarioFile.load(path: f).expect.alarm { covered.insert(a.description) } }
        #expect(covered == Set(SoleusCore.AlarmCondition.allCases.map(\.description)))
    }

    @Test(arguments: scenarioFiles)
    func scenarioMeetsItsExpectation(file: String) throws {
        let scenario = try ScenarioFile.load(path: file)
        let outcome = try ScenarioRunner(scenario: scenario).run()
        for c in outcome.checks {
            #expect(c.passed, "\(URL(fileURLWithPath: file).lastPathComponent): \(c.what): \(c.detail)")
        }
        #expect(!outcome.checks.isEmpty)
    }

    @Test func aBadScenarioNamesFileAndKey() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("bad-\(UUID().uuidString).toml").path
        let text = """
        [scenario]
        name = "bad"
        protocol = "\(repoPath("protocols/dvt-3-chamber.toml"))"
        hardware = "\(repoPath("hardware/sim-3-dvt.toml"))"
        [[event]]
        at_s = 3
        fault = "leak"
        chamber = "knee"
        coefficient = 0.1
        [expect]
        alarm = "leek"
        """
        _ = FileManager.default.createFile(atPath: path, contents: Data(text.utf8))
        do {
            _ = try ScenarioFile.load(path: path)
            Issue.record("expected an error")
        } catch {
            #expect(error.description.contains("\(path): event[0].chamber: \"knee\" is not a chamber"))
            #expect(error.description.contains("\(path): expect.alarm: \"leek\" is not an alarm"))
        }
    }
}
