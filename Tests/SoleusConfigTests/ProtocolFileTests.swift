import Foundation
import Testing
import SoleusCore
@testable import SoleusConfig

let dvtText = """
[protocol]
name = "DVT"
chambers = ["ankle", "calf", "thigh"]

[session]
minutes = 30

[cycle]
period_s = 60

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
inflate = { after = "calf.reached", delay_s = 0.5 }
release = { after = "all.reached", delay_s = 3 }
"""

let boot = BootDescription(chambers: ["ankle", "calf", "thigh"], limits: BootLimits())

func configIssues(_ text: String, file: String = "p.toml") -> [ConfigIssue] {
    do {
        _ = try ProtocolFile.plan(text, file: file, for: boot)
        return []
    } catch {
        #expect(error.file == file)
        return error.issues
    }
}

@Suite struct ProtocolFileTests {
    @Test func parsesTheFullFormat() throws {
        let p = try ProtocolFile.parse(dvtText, file: "dvt.toml")
        #expect(p.name == "DVT")
        #expect(p.chambers == ["ankle", "calf", "thigh"])
        #expect(p.length == .minutes(30))
        #expect(p.cycle.pacing == .period(60))
        #expect(p.cycle.steps[1].inflate == .at(2.5))
        #expect(p.cycle.steps[2].inflate == Trigger(.reached("calf"), delay: 0.5))
        #expect(p.cycle.steps[0].target == .absolute(Pressure(mmHg: 45)))
    }

    @Test func syntaxErrorGivesLineAndColumn() {
        let text = "[protocol]\nname = \"x\"\nchambers = [\"ankle\"\n"
        let found = configIssues(text)
        #expect(found.count == 1)
        #expect(found.first?.line == 4 || found.first?.line == 3)
        #expect(found.first?.column != nil)
        #expect(found.first?.message.hasPrefix("TOML syntax error") == true)
    }

    @Test func unknownKeyIsNamedWithASuggestion() {
        let text = dvtText.replacingFirst("target_mmHg = 40", with: "targt_mmHg = 40\ntarget_mmHg = 40")
        let found = configIssues(text)
        #expect(found.map(\.keyPath) == ["cycle.chamber[1].targt_mmHg"])
        #expect(found.first?.message.contains("did you mean \"target_mmHg\"") == true)
    }

    @Test func unknownTopLevelTable() {
        let found = configIssues(dvtText + "\n[sesion]\nminutes = 3\n")
        #expect(found.map(\.keyPath) == ["sesion"])
    }

    @Test func wrongTypeIsNamed() {
        let found = configIssues(dvtText.replacingFirst("target_mmHg = 45", with: "target_mmHg = \"45\""))
        #expect(found.map(\.keyPath) == ["cycle.chamber[0].target_mmHg"])
        #expect(found.first?.message == "must be a number, found a string")
    }

    @Test func nanAndInfinityAreNotPressures() {
        let found = configIssues(dvtText.replacingFirst("target_mmHg = 45", with: "target_mmHg = nan"))
        #expect(found.map(\.keyPath) == ["cycle.chamber[0].target_mmHg"])
        #expect(found.first?.message == "must be a number, found nan")
        #expect(configIssues(dvtText.replacingFirst("period_s = 60", with: "period_s = inf")).map(\.keyPath) == ["cycle.period_s"])
    }

    @Test func arrayItemsAreTypeChecked() {
        let found = configIssues(dvtText.replacingFirst("chambers = [\"ankle\", \"calf\", \"thigh\"]", with: "chambers = [\"ankle\", 2, \"thigh\"]"))
        #expect(found.map(\.keyPath) == ["protocol.chambers[1]"])
        #expect(found.first?.message == "must be a string, found an integer")
    }

    @Test func reverseGradientFromAFileNamesFileAndKey() throws {
        let text = dvtText.replacingFirst("target_mmHg = 40", with: "target_mmHg = 50")
        do {
            _ = try ProtocolFile.plan(text, file: "bad.toml", for: boot)
            Issue.record("expected an error")
        } catch {
            #expect(error.description.hasPrefix("bad.toml: cycle.chamber[1].target_mmHg: reverse gradient"))
        }
    }

    @Test func aboveCeilingFromAFile() {
        let found = configIssues(dvtText.replacingFirst("target_mmHg = 45", with: "target_mmHg = 155"))
        #expect(found.first?.keyPath == "cycle.chamber[0].target_mmHg")
        #expect(found.first?.message.contains("ceiling") == true)
    }

    @Test func badEventNameIsExplained() {
        let found = configIssues(dvtText.replacingFirst("\"calf.reached\"", with: "\"calf.full\""))
        #expect(found.map(\.keyPath) == ["cycle.chamber[2].inflate.after"])
    }

    @Test func sessionNeedsExactlyOneLength() {
        let found = configIssues(dvtText.replacingFirst("minutes = 30", with: "minutes = 30\ncycles = 4"))
        #expect(found.map(\.keyPath) == ["session"])
    }

    @Test func missingRequiredKeys() {
        let found = configIssues(dvtText.replacingFirst("release = { at_s = 11 }", with: ""))
        #expect(found.map(\.keyPath) == ["cycle.chamber[0].release"])
    }

    @Test func readingAMissingFileNamesIt() {
        do {
            _ = try ProtocolFile.load(path: "/nonexistent/p.toml")
            Issue.record("expected an error")
        } catch {
            #expect(error.description == "/nonexistent/p.toml: cannot open: No such file or directory")
        }
    }

    @Test func editDistanceSuggestsOnlyCloseKeys() {
        #expect(closest(to: "period", in: ["period_s", "rest_s"]) == "period_s")
        #expect(closest(to: "zzzzzzzz", in: ["period_s", "rest_s"]) == nil)
    }
}

extension String {
    func replacingFirst(_ target: String, with replacement: String) -> String {
        guard let r = range(of: target) else { return self }
        return replacingCharacters(in: r, with: replacement)
    }
}
