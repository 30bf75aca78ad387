import Testing
import SoleusCore
@testable import SoleusConfig

let profileText = """
[profile]
name = "test"
backend = "simulated"
chambers = ["ankle", "calf"]

[limits]
ceiling_mmHg = 120

[simulation]
seed = 7

[[simulation.chamber]]
name = "ankle"
volume_l = 0.2
compliance_l_per_mmHg = 0.008

[[simulation.chamber]]
name = "calf"
volume_l = 0.3
compliance_l_per_mmHg = 0.012
leak = 0.001
"""

func profileIssues(_ text: String) -> [ConfigIssue] {
    do {
        _ = try HardwareProfileFile.parse(text, file: "hw.toml")
        return []
    } catch {
        return error.issues
    }
}

@Suite struct HardwareProfileTests {
    @Test func parsesLimitsAndSimulation() throws {
        let p = try HardwareProfileFile.parse(profileText, file: "hw.toml")
        #expect(p.boot.chambers == ["ankle", "calf"])
        #expect(p.boot.limits.ceiling == Pressure(mmHg: 120))
        #expect(p.boot.limits.maxTarget == Pressure(mmHg: 110))
        guard case .simulated(let sim) = p.backend else { Issue.record("not simulated"); return }
        #expect(sim.seed == 7)
        #expect(sim.chambers[1].leak == 0.001)
        #expect(p.regulator.tickSeconds == 0.01)
    }

    @Test func ceilingAbove150IsRefused() {
        let found = profileIssues(profileText.replacingFirst("ceiling_mmHg = 120", with: "ceiling_mmHg = 151"))
        #expect(found.map(\.keyPath) == ["limits.ceiling_mmHg"])
        #expect(found.first?.message.contains("never raise it") == true)
    }

    @Test func simulationChambersMustMatchTheProfile() {
        let found = profileIssues(profileText.replacingFirst("name = \"calf\"", with: "name = \"thigh\""))
        #expect(found.map(\.keyPath) == ["simulation.chamber[1].name"])
    }

    @Test func unsupportedBackendIsNamed() {
        let found = profileIssues(profileText.replacingFirst("backend = \"simulated\"", with: "backend = \"gpio\""))
        #expect(found.map(\.keyPath) == ["profile.backend"])
    }

    @Test func tooManyChambers() {
        let names = (1...(maxChambers + 1)).map { "\"c\($0)\"" }.joined(separator: ", ")
        let found = profileIssues(profileText.replacingFirst("chambers = [\"ankle\", \"calf\"]", with: "chambers = [\(names)]"))
        #expect(found.contains { $0.keyPath == "profile.chambers" })
    }

    @Test func controllerRateOutOfRange() {
        let found = profileIssues(profileText + "\n[controller]\nrate_hz = 5\n")
        #expect(found.map(\.keyPath) == ["controller.rate_hz"])
    }
}

/// Two-limb profiles (`[[limb]]`): names, drives, and the errors a malformed one gets.
@Suite struct LimbProfileTests {
    static let twoLegs = """
    [profile]
    name = "legs"
    backend = "simulated"
    on_limb_fault = "carry-on"
    [[limb]]
    name = "left"
    chambers = ["ankle", "calf"]
    pump = "own"
    [[limb]]
    name = "right"
    chambers = ["ankle", "calf"]
    pump = "own"
    [simulation]
    [[simulation.chamber]]
    name = "left.ankle"
    volume_l = 0.2
    compliance_l_per_mmHg = 0.008
    [[simulation.chamber]]
    name = "left.calf"
    volume_l = 0.3
    compliance_l_per_mmHg = 0.012
    [[simulation.chamber]]
    name = "right.ankle"
    volume_l = 0.2
    compliance_l_per_mmHg = 0.008
    [[simulation.chamber]]
    name = "right.calf"
    volume_l = 0.3
    compliance_l_per_mmHg = 0.012
    """

    @Test func twoLimbsWithTheirOwnPumpsHaveTwoDrives() throws {
        let p = try HardwareProfileFile.parse(Self.twoLegs, file: "legs.toml")
        #expect(p.boot.chambers == ["left.ankle", "left.calf", "right.ankle", "right.calf"])
        #expect(p.boot.limbs.map(\.drive) == [0, 1])
        #expect(p.boot.limbs.map(\.firstChamber) == [0, 2])
        #expect(p.boot.onLimbFault == .carryOn)
        guard case .simulated(let params) = p.backend else { return }
        #expect(params.drives == [0, 0, 1, 1])
    }

    @Test func sharedPumpsShareADrive() throws {
        let p = try HardwareProfileFile.parse(Self.twoLegs.replacingOccurrences(of: "pump = \"own\"", with: "pump = \"shared\""), file: "legs.toml")
        #expect(p.boot.limbs.map(\.drive) == [0, 0])
    }

    @Test func malformedLimbsAreNamed() {
        let both = profileIssues(Self.twoLegs.replacingOccurrences(of: "on_limb_fault = \"carry-on\"", with: "chambers = [\"a\"]"))
        #expect(both.map(\.keyPath) == ["profile"])
        let pump = profileIssues(Self.twoLegs.replacingFirst("pump = \"own\"", with: "pump = \"two\""))
        #expect(pump.map(\.keyPath) == ["limb[0].pump"])
        let dup = profileIssues(Self.twoLegs.replacingOccurrences(of: "name = \"right\"", with: "name = \"left\""))
        #expect(dup.first?.keyPath == "limb[1].name")
        let dotted = profileIssues(Self.twoLegs.replacingOccurrences(of: "name = \"right\"", with: "name = \"right.leg\""))
        #expect(dotted.first?.keyPath == "limb[1].name")
        let policy = profileIssues(Self.twoLegs.replacingOccurrences(of: "\"carry-on\"", with: "\"sometimes\""))
        #expect(policy.map(\.keyPath) == ["profile.on_limb_fault"])
        let order = profileIssues(Self.twoLegs.replacingFirst("name = \"left.calf\"", with: "name = \"right.calf\""))
        #expect(order.map(\.keyPath) == ["simulation.chamber[1].name"])
    }
}
