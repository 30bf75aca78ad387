import Foundation
import Testing
import SoleusConfig
import SoleusCore
import SoleusSimulation
@testable import SoleusRuntime

/// Issue 8's device families on the simulator: two legs alternating (and one leg faulting), 12-
/// and 24-chamber lymphoedema programs with phases and build-up, a wave pulsing every chamber
/// twice, a boost on a proximal zone, 32 chambers, and timing the garment cannot meet.
@Suite struct ProgramFamilyTests {
    func inflateTimes(_ log: MemorySessionLog, _ chamber: String) -> [Double] {
        log.events.filter { $0.kind == "inflate" && $0.chamber == chamber }.map(\.time)
    }

    @Test func alternatingLegsStartHalfAPeriodApartAndNeverSqueezeTogether() throws {
        var prepared = try prepare("protocols/dvt-alternating-two-legs.toml", "hardware/sim-6-dvt-two-legs.toml")
        prepared.plan.length = .cycles(3)
        let (result, boot, log) = try runWatched(prepared)
        #expect(result.end.reason == .completed)
        #expect(result.alarms.isEmpty)
        for (got, want) in zip(inflateTimes(log, "left.ankle"), [0.0, 60, 120]) { #expect(abs(got - want) < 0.02) }
        for (got, want) in zip(inflateTimes(log, "right.ankle"), [30.0, 90, 150]) { #expect(abs(got - want) < 0.02) }
        // Every sample: no leg has a chamber closed to atmosphere while the other leg does.
        for s in log.samples {
            let left = (0..<3).contains { !s.outputs.exhausts.contains(index: $0) }
            let right = (3..<6).contains { !s.outputs.exhausts.contains(index: $0) }
            #expect(!(left && right), "both legs compressed at \(s.time) s")
        }
        #expect(boot.worstReverseGradient < RegulatorSettings().gradientAllowance)
        #expect(result.summaries.filter { $0.chamber >= 3 }.count == 9)
    }

    @Test func aTornSleeveOnOneLegVentsThatLegAndTheOtherLegCompletes() throws {
        var prepared = try prepare("protocols/dvt-alternating-two-legs.toml", "hardware/sim-6-dvt-two-legs.toml")
        prepared.plan.length = .cycles(4)
        let (result, boot, log) = try runWatched(prepared, configure: { boot in
            boot.onRead = fault(at: 61) { $0.leak[1] = 0.05 }
        })
        #expect(result.end.reason == .limbVented, "\(result.end.detail)")
        #expect(result.end.detail.contains("left at 71.0 s by target-not-reached"))
        #expect(result.alarms.map(\.condition) == [.targetNotReached])
        #expect(result.alarms.first?.detail.chamber == 1)
        let vented = try #require(log.events.first { $0.kind == "limb-vented" })
        #expect(vented.message.hasPrefix("left limb vented by target-not-reached"))
        // The right leg ran all four cycles, on target.
        let right = result.summaries.filter { $0.chamber >= 3 && $0.part == .main }
        #expect(Set(right.map(\.cycle)) == [1, 2, 3, 4])
        #expect(right.allSatisfy { abs($0.peak - $0.target) <= 2 })
        // The left leg stopped in its second cycle and stayed vented while the right leg went on.
        #expect(result.summaries.filter { $0.chamber < 3 }.map(\.cycle).max() == 2)
        let after = log.samples.filter { $0.time > vented.time + 3 }
        #expect(!after.isEmpty)
        for s in after { for c in 0..<3 { #expect(s.pressures[c] < 5, "left chamber \(c) at \(s.pressures[c]) mmHg at \(s.time) s") } }
        #expect(after.contains { $0.pressures[3] > 40 })
        for c in 0..<6 { #expect(boot.sim.physics.pressure[c] < 5) }
    }

    @Test func aSensorLostForGoodOnOneLegStillLetsTheOtherLegFinish() throws {
        // A disconnected sensor keeps its condition present to the end; when the right leg
        // finishes, that is still the confined fault it was, not a reason to trip the session.
        var prepared = try prepare("protocols/dvt-alternating-two-legs.toml", "hardware/sim-6-dvt-two-legs.toml")
        prepared.plan.length = .cycles(3)
        let (result, _, _) = try runWatched(prepared, configure: { boot in
            boot.onRead = fault(at: 65) { $0.sensor[1] = .disconnected }
        })
        #expect(result.end.reason == .limbVented, "\(result.end.detail)")
        #expect(result.alarms.first?.condition == .sensorFault)
        #expect(Set(result.summaries.filter { $0.chamber >= 3 }.map(\.cycle)) == [1, 2, 3])
        // Its pressure is unknown, so the end cannot confirm it vented, and says so.
        #expect(result.ventUnconfirmed?.contains("left.calf unknown") == true)
    }

    @Test func aSingleLegProgramOnTheRightLegLeavesTheLeftLegOpen() throws {
        var prepared = try PreparedSession.load(
            protocolPath: repoPath("protocols/dvt-3-chamber.toml"), profilePath: repoPath("hardware/sim-6-dvt-two-legs.toml"), limb: "right")
        prepared.plan.length = .cycles(2)
        let (result, _, log) = try runWatched(prepared)
        #expect(result.end.reason == .completed)
        #expect(result.alarms.isEmpty)
        #expect(Set(result.summaries.map(\.chamber)) == [3, 4, 5])
        #expect(log.samples.allSatisfy { s in (0..<3).allSatisfy { s.outputs.exhausts.contains(index: $0) && !s.outputs.inlets.contains(index: $0) } })
        #expect(log.events.contains { $0.kind == "inflate" && $0.chamber == "right.ankle" })
    }

    @Test func aFaultThatMayHidePressureOnASharedPumpVentsBothLegs() throws {
        var prepared = try prepare("protocols/dvt-alternating-two-legs.toml", "hardware/sim-6-dvt-two-legs.toml")
        prepared.plan.length = .cycles(4)
        // The left calf's inlet sticks open while it holds; the pump, filling the right leg later,
        // could keep feeding it, and the right leg's relay is the left leg's too.
        let (result, boot, _) = try runWatched(prepared, configure: { boot in
            boot.onRead = fault(at: 66) { $0.inlet[1] = .stuckOpen }
        })
        #expect(result.end.reason == .safetyTrip, "\(result.end.detail)")
        #expect(result.alarms.contains { $0.condition.policy.confinement == .ownDrive })
        #expect(boot.lastOutputs.isVented(chamberCount: 6))
        #expect(boot.lastOutputs.powered.isEmpty)
    }

    @Test func theTwelveChamberProgramRunsItsClearancePhaseThenFiveSequences() throws {
        var prepared = try prepare("protocols/lymphoedema-12-chamber.toml", "hardware/sim-12-lymph.toml")
        prepared.plan.length = .cycles(7)
        let (result, _, _) = try runWatched(prepared)
        #expect(result.end.reason == .completed)
        #expect(result.alarms.isEmpty)
        let perCycle = Dictionary(grouping: result.summaries, by: \.cycle).mapValues(\.count)
        // Cycle 1 and 7: the 3-chamber clearance; 2–6: the 12-chamber sequence.
        #expect(perCycle == [1: 3, 2: 12, 3: 12, 4: 12, 5: 12, 6: 12, 7: 3])
        // Build-up: the foot at 60 %, 80 %, then 100 % of 50 mmHg in main cycles 1–3 (cycle 1 is
        // the clearance, so the foot's first sequence is cycle 2, at 80 %).
        let foot = result.summaries.filter { $0.chamber == 0 }.sorted { $0.cycle < $1.cycle }
        #expect(foot.map(\.target) == [40, 50, 50, 50, 50])
        #expect(foot.allSatisfy { abs($0.peak - $0.target) <= 2 })
    }

    @Test func theTwentyFourChamberProgramBuildsUpAndHoldsItsGradient() throws {
        var prepared = try prepare("protocols/lymphoedema-24-chamber.toml", "hardware/sim-24-lymph.toml")
        prepared.plan.length = .cycles(4)
        let (result, boot, _) = try runWatched(prepared)
        #expect(result.end.reason == .completed)
        #expect(result.alarms.isEmpty)
        #expect(result.summaries.count == 96)
        let first = result.summaries.filter { $0.chamber == 0 }.sorted { $0.cycle < $1.cycle }.map(\.target)
        for (got, want) in zip(first, [30.0, 40, 50, 50]) { #expect(abs(got - want) < 1e-9) }
        #expect(result.summaries.allSatisfy { abs($0.peak - $0.target) <= 2 })
        #expect(boot.worstReverseGradient < RegulatorSettings().gradientAllowance)
    }

    @Test func theWavePulsesEveryChamberTwicePerCycleAsABandOfPressure() throws {
        var prepared = try prepare("protocols/lymphoedema-wave-12-chamber.toml", "hardware/sim-12-lymph.toml")
        prepared.plan.length = .cycles(2)
        let (result, _, log) = try runWatched(prepared)
        #expect(result.end.reason == .completed)
        #expect(result.alarms.isEmpty)
        for c in 0..<12 { #expect(result.summaries.filter { $0.chamber == c }.count == 4) }
        // A travelling band: never more than three chambers closed to atmosphere at once.
        let widest = log.samples.map { s in (0..<12).filter { !s.outputs.exhausts.contains(index: $0) }.count }.max() ?? 0
        #expect(widest <= 3 && widest >= 2)
    }

    @Test func aBoostOnTheCalfRunsWithoutAlarmAndStaysWithinItsAllowance() throws {
        var prepared = try prepare("scenarios/protocols/recovery-boost-calf.toml", "hardware/sim-5-recovery.toml")
        prepared.plan.length = .cycles(3)
        let (result, boot, log) = try runWatched(prepared)
        #expect(result.end.reason == .completed)
        #expect(result.alarms.isEmpty, "\(result.alarms.map(\.condition))")
        #expect(log.events.filter { $0.kind == "boost" && $0.chamber == "calf" }.count == 3)
        // The calf's pulse is boosted to 80 over the ankle's 75: above its neighbour in the hold,
        // never by more than the allowance.
        #expect(result.summaries.filter { $0.chamber == 2 }.allSatisfy { $0.target == 80 && abs($0.peak - 80) <= 2 })
        #expect(boot.worstReverseGradient <= SafetySettings().boostAllowance + RegulatorSettings().gradientAllowance)
    }

    @Test func aThirtyTwoChamberGarmentRuns() throws {
        let dir = temporaryDirectory()
        let names = (1...32).map { "z\($0)" }
        var profile = try String(contentsOfFile: repoPath("hardware/sim-24-lymph.toml"), encoding: .utf8)
        let start = try #require(profile.range(of: "[[simulation.chamber]]"))
        profile = String(profile[..<start.lowerBound])
            .replacingOccurrences(of: (1...24).map { String(format: "\"c%02d\"", $0) }.joined(separator: ", "), with: names.map { "\"\($0)\"" }.joined(separator: ", "))
        for n in names { profile += "[[simulation.chamber]]\nname = \"\(n)\"\nvolume_l = 0.04\ncompliance_l_per_mmHg = 0.002\nleak = 0.0002\n\n" }
        var proto = "[protocol]\nname = \"32\"\nchambers = [\(names.map { "\"\($0)\"" }.joined(separator: ", "))]\n[session]\ncycles = 2\n[cycle]\nperiod_s = 60\n"
        for (i, n) in names.enumerated() {
            let inflate = i == 0 ? "{ at_s = 0 }" : "{ after = \"z\(i).reached\" }"
            proto += "[[cycle.chamber]]\nname = \"\(n)\"\ntarget_mmHg = \(50 - i / 2)\ninflate = \(inflate)\nrelease = { after = \"all.reached\", delay_s = 3 }\n"
        }
        try profile.write(toFile: dir + "/p.toml", atomically: true, encoding: .utf8)
        try proto.write(toFile: dir + "/q.toml", atomically: true, encoding: .utf8)
        let prepared = try PreparedSession.load(protocolPath: dir + "/q.toml", profilePath: dir + "/p.toml")
        #expect(prepared.plan.chamberCount == 32)
        let (result, boot, _) = try runWatched(prepared)
        #expect(result.end.reason == .completed, "\(result.end.detail)")
        #expect(result.alarms.isEmpty)
        #expect(result.summaries.count == 64)
        #expect(result.summaries.allSatisfy { abs($0.peak - $0.target) <= 2.5 })
        for c in 0..<32 { #expect(boot.sim.physics.pressure[c] < 5) }
    }

    // MARK: feasibility

    @Test func aSqueezeShorterThanTheFillIsRejectedWithNumbersAndAcceptedOnAFasterGarment() throws {
        do {
            _ = try prepare("scenarios/protocols/short-squeeze.toml", "scenarios/hardware/sim-1-long-calf.toml")
            Issue.record("a 3 s squeeze was accepted on a bladder that needs about 3.8 s")
        } catch let e as ConfigError {
            #expect(e.issues.map(\.keyPath) == ["cycle.chamber[0].release"])
            let message = try #require(e.issues.first?.message)
            #expect(message.hasPrefix("calf needs 3.8"))
            #expect(message.contains("s to fill to 40.0 mmHg, but its squeeze gives it 3.00 s (inflate at 0.00 s, release at 3.00 s)"))
        }
        let ok = try prepare("scenarios/protocols/short-squeeze.toml", "hardware/sim-1-calf-sleeve.toml")
        // The leg inside gives up blood that the pump must replace with air: the prediction
        // counts it at once (erring slow), which leaves this squeeze a thin margin, not too short.
        #expect(ok.timingWarnings.count == 1)
        #expect(ok.timingWarnings.allSatisfy { $0.contains("warning: calf needs 2.") && $0.contains("under 20 % to spare") })
        let (result, _, _) = try runWatched(ok)
        #expect(result.end.reason == .completed)
        #expect(result.alarms.isEmpty)
    }

    @Test func whatFeasibilityRejectsReallyFailsOnTheSimulator() throws {
        // The same program forced onto the slow bladder, past validation: it trips in its first
        // squeeze, as the prediction said.
        let profile = try HardwareProfileFile.load(path: repoPath("scenarios/hardware/sim-1-long-calf.toml"))
        let text = try String(contentsOfFile: repoPath("scenarios/protocols/short-squeeze.toml"), encoding: .utf8)
        let plan = try ProtocolFile.plan(text, file: "short-squeeze.toml", for: profile.boot)
        let prepared = PreparedSession(plan: plan, profile: profile, protocolPath: "short-squeeze.toml", protocolText: text)
        let (result, _, _) = try runWatched(prepared)
        #expect(result.end.reason == .safetyTrip)
        #expect(result.alarms.first?.condition == .targetNotReached)
        #expect((result.alarms.first?.time ?? 99) < 3.5)
    }

    @Test func aRequiredRiseTimeThePumpCannotGiveIsRejected() throws {
        _ = try prepare("scenarios/protocols/rapid-inflation.toml", "scenarios/hardware/sim-2-rapid.toml")
        let text = try String(contentsOfFile: repoPath("scenarios/protocols/rapid-inflation.toml"), encoding: .utf8)
            .replacingOccurrences(of: "rise_s = 0.8", with: "rise_s = 0.4")
        let profile = try HardwareProfileFile.load(path: repoPath("scenarios/hardware/sim-2-rapid.toml"))
        let plan = try ProtocolFile.plan(text, file: "fast.toml", for: profile.boot)
        #expect(throws: ConfigError.self) { _ = try profile.checkTiming(of: plan, file: "fast.toml") }
        let findings = profile.timing(of: plan)
        #expect(findings.map(\.keyPath) == ["cycle.chamber[0].rise_s", "cycle.chamber[1].rise_s"])
        #expect(findings.allSatisfy { $0.isError && $0.message.contains("with the pump shared by up to 2 inlets") })
    }

    @Test func bothLegsTogetherOnOnePumpAreWarnedAboutTheThinMarginAndStillRun() throws {
        // The garments alone (no limb inside): the margin is thin, and it runs.
        var profile = try HardwareProfileFile.load(path: repoPath("hardware/sim-6-dvt-two-legs.toml"))
        guard case .simulated(var params) = profile.backend else { Issue.record("not simulated"); return }
        params.limb = nil
        profile.backend = .simulated(params)
        let text = try String(contentsOfFile: repoPath("protocols/dvt-alternating-two-legs.toml"), encoding: .utf8)
            .replacingOccurrences(of: "limbs = \"alternating\"", with: "limbs = \"together\"")
        let plan = try ProtocolFile.plan(text, file: "together.toml", for: profile.boot)
        let warnings = try profile.checkTiming(of: plan, file: "together.toml")
        #expect(warnings.count == 1)
        #expect(warnings.first?.contains("cycle.chamber[2].release: warning: thigh needs 4.") == true)
        #expect(warnings.first?.contains("shared by up to 4 inlets") == true)
        var prepared = PreparedSession(plan: plan, profile: profile, protocolPath: "together.toml", protocolText: text)
        prepared.plan.length = .cycles(2)
        let (result, _, _) = try runWatched(prepared)
        #expect(result.end.reason == .completed)
        #expect(result.alarms.isEmpty)
    }

    @Test func withLegsInsideBothTogetherOnOnePumpAreRefusedForWhatTheBloodTakes() throws {
        // The blood each squeeze pushes out leaves room the one pump must fill too: the thigh no
        // longer reaches its target in its squeeze (a run trips target-not-reached), and the
        // prediction, which counts that room, refuses the protocol before it runs.
        let profile = try HardwareProfileFile.load(path: repoPath("hardware/sim-6-dvt-two-legs.toml"))
        let text = try String(contentsOfFile: repoPath("protocols/dvt-alternating-two-legs.toml"), encoding: .utf8)
            .replacingOccurrences(of: "limbs = \"alternating\"", with: "limbs = \"together\"")
        let plan = try ProtocolFile.plan(text, file: "together.toml", for: profile.boot)
        let errors = profile.timing(of: plan).filter(\.isError)
        #expect(errors.map(\.keyPath) == ["cycle.chamber[2].release"])
        #expect(errors.first?.message.contains("thigh needs") == true)
        #expect(errors.first?.message.contains("shared by up to 4 inlets") == true)
        var prepared = PreparedSession(plan: plan, profile: profile, protocolPath: "together.toml", protocolText: text)
        prepared.plan.length = .cycles(2)
        let (result, _, _) = try runWatched(prepared)
        #expect(result.alarms.contains { $0.condition == .targetNotReached })
    }

    @Test func aChamberThatCannotVentBeforeItsNextSqueezeIsRejected() throws {
        let profile = try HardwareProfileFile.load(path: repoPath("hardware/sim-1-foot.toml"))
        let text = """
        [protocol]
        name = "no refill"
        chambers = ["foot"]
        [session]
        cycles = 3
        [cycle]
        period_s = 6.1
        [[cycle.chamber]]
        name = "foot"
        target_mmHg = 130
        inflate = { at_s = 0 }
        release = { at_s = 6 }
        """
        let plan = try ProtocolFile.plan(text, file: "t.toml", for: profile.boot)
        let findings = profile.timing(of: plan).filter(\.isError)
        #expect(findings.contains { $0.keyPath == "cycle.chamber[0].release" && $0.message.contains("to vent from 130.0 to 5.0 mmHg, but it inflates again 0.10 s after it releases") })
    }
}
