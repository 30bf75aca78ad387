import Testing
@testable import SoleusCore

/// An ideal, noiseless boot for controller tests: pressure rises at `rise` mmHg/s while a
/// chamber's inlet is open with the pump on, falls at `fall`·p per second while its exhaust is open.
struct IdealBoot {
    var p = ChamberValues()
    var rise = 20.0
    var fall = 3.0
    mutating func apply(_ o: BootOutputs, dt: Double, count: Int) {
        for c in 0..<count {
            if o.pump && o.inlets.contains(index: c) { p[c] += rise * dt }
            if o.exhausts.contains(index: c) { p[c] -= fall * p[c] * dt }
        }
    }
}

/// Runs `plan` on the ideal boot until the controller finishes or `limit` seconds pass.
func simulate(_ plan: TreatmentPlan, limit: Double = 4000, each: (Double, Controller, BootOutputs, ChamberValues) -> Void = { _, _, _, _ in }) -> (events: [ControlEvent], controller: Controller, time: Double) {
    let settings = RegulatorSettings()
    var c = Controller(plan: plan, settings: settings)
    var boot = IdealBoot()
    var events: [ControlEvent] = []
    var t = 0.0
    var k = 0
    while t < limit {
        t = Double(k) * settings.tickSeconds
        let out = c.step(time: t, inputs: BootInputs(pressures: boot.p)).outputs
        events += c.events
        c.clearEvents()
        each(t, c, out, boot.p)
        if c.isFinished { break }
        boot.apply(out, dt: settings.tickSeconds, count: plan.chamberCount)
        k += 1
    }
    return (events, c, t)
}

func dvtPlan(length: SessionLength = .cycles(2)) throws -> TreatmentPlan {
    try ProtocolValidator.plan(
        dvt([step("ankle", 45), step("calf", 40, inflate: .at(2.5)), step("thigh", 30, inflate: .at(5.5))], length: length),
        for: boot3)
}

@Suite struct ControllerTests {
    @Test func timedInflatesAndReleasesHappenOnSchedule() throws {
        let run = simulate(try dvtPlan())
        let inflates = run.events.filter { $0.kind == .inflate && $0.cycle == 1 }
        #expect(inflates.map(\.chamber) == [0, 1, 2])
        #expect(inflates.map(\.time) == [0, 2.5, 5.5].map { t in inflates.first { abs($0.time - t) < 0.006 }?.time ?? -1 })
        let releases = run.events.filter { $0.kind == .release && $0.cycle == 1 }
        #expect(releases.count == 3)
        #expect(releases.allSatisfy { abs($0.time - 11) < 0.006 })
    }

    @Test func regulatesToTargetWithoutOvershoot() throws {
        var peak = ChamberValues()
        _ = simulate(try dvtPlan()) { _, _, _, p in
            for c in 0..<3 { peak[c] = max(peak[c], p[c]) }
        }
        #expect(abs(peak[0] - 45) < 1)
        #expect(abs(peak[1] - 40) < 1)
        #expect(abs(peak[2] - 30) < 1)
    }

    @Test func finishesAfterTheGivenCyclesAndVents() throws {
        let run = simulate(try dvtPlan(length: .cycles(2)))
        #expect(run.controller.isFinished)
        #expect(run.controller.mainCyclesDone == 2)
        #expect(abs(run.time - 120) < 0.011)
        #expect(run.events.last?.kind == .finished)
        let after = run.controller
        var c = after
        #expect(c.step(time: run.time + 0.01, inputs: BootInputs()).outputs.isVented(chamberCount: 3))
    }

    @Test func minutesLengthRunsWholeCycles() throws {
        let run = simulate(try dvtPlan(length: .minutes(2.5)))
        // 2.5 min of 60 s cycles: the third cycle starts at 120 s < 150 s and runs to its end.
        #expect(run.controller.mainCyclesDone == 3)
    }

    @Test func eventTriggersChainSequentialInflation() throws {
        let a = step("ankle", 45, release: Trigger(.allReached, delay: 2))
        let c = step("calf", 40, inflate: Trigger(.reached("ankle")), release: Trigger(.allReached, delay: 2))
        let plan = try ProtocolValidator.plan(dvt([a, c], chambers: ["ankle", "calf"], length: .cycles(1)), for: boot3)
        let run = simulate(plan)
        let reachedAnkle = try #require(run.events.first { $0.kind == .reached && $0.chamber == 0 })
        let inflateCalf = try #require(run.events.first { $0.kind == .inflate && $0.chamber == 1 })
        #expect(inflateCalf.time == reachedAnkle.time)
        let reachedCalf = try #require(run.events.first { $0.kind == .reached && $0.chamber == 1 })
        let releases = run.events.filter { $0.kind == .release }
        #expect(releases.count == 2)
        #expect(releases.allSatisfy { abs($0.time - (reachedCalf.time + 2)) < 0.006 })
    }

    @Test func unusedChambersStayVented() throws {
        let plan = try ProtocolValidator.plan(dvt([step("calf", 40)], chambers: ["calf"], length: .cycles(1)), for: boot3)
        var ok = true
        _ = simulate(plan) { _, _, out, _ in
            if out.inlets.contains(index: 0) || out.inlets.contains(index: 2) { ok = false }
            if !out.exhausts.contains(index: 0) || !out.exhausts.contains(index: 2) { ok = false }
        }
        #expect(ok)
    }

    @Test func pumpRunsOnlyWithAnOpenInlet() throws {
        var ok = true
        _ = simulate(try dvtPlan(length: .cycles(1))) { _, _, out, _ in
            if out.pump != !out.inlets.isEmpty { ok = false }
            if !out.inlets.intersection(out.exhausts).isEmpty { ok = false }
        }
        #expect(ok)
    }

    @Test func setsRestBetweenSets() throws {
        let plan = try ProtocolValidator.plan(
            dvt([step("calf", 40, release: .at(3))], chambers: ["calf"], length: .sets(count: 2, cyclesPerSet: 3, restSeconds: 30), period: 6),
            for: boot3)
        let run = simulate(plan)
        #expect(run.controller.mainCyclesDone == 6)
        let starts = run.events.filter { $0.kind == .cycleStarted }.map(\.time)
        #expect(starts.count == 6)
        // Cycles 1–3 at 0, 6, 12; rest 30 s after the third ends at 18; set 2 at 48, 54, 60.
        #expect(zip(starts, [0, 6, 12, 48, 54, 60]).allSatisfy { abs($0 - $1) < 0.011 })
        #expect(run.events.contains { $0.kind == .setRest })
        #expect(abs(run.time - 66) < 0.011)
    }

    @Test func holdSettlesToTheLowerPressure() throws {
        let hold = ChamberStep.HoldStep(pressure: .absolute(Pressure(mmHg: 35)), at: Trigger(.reached("ankle"), delay: 1))
        let plan = try ProtocolValidator.plan(dvt([step("ankle", 45, release: .at(10), hold: hold)], chambers: ["ankle"], length: .cycles(1)), for: boot3)
        var atNine = 0.0
        _ = simulate(plan) { t, _, _, p in if abs(t - 9) < 0.005 { atNine = p[0] } }
        #expect(abs(atNine - 35) < 2)
    }

    @Test func prefixAndSuffixRunOnceAroundTheMainCycles() throws {
        var p = dvt([step("ankle", 45)], chambers: ["ankle", "calf"], length: .cycles(2))
        p.prefix = CycleDefinition(pacing: .rest(1), steps: [step("calf", 30, release: .at(3))])
        p.suffix = CycleDefinition(pacing: .rest(5), steps: [])
        let plan = try ProtocolValidator.plan(p, for: boot3)
        let run = simulate(plan)
        let parts = run.events.filter { $0.kind == .cycleStarted }.map(\.part)
        #expect(parts == [.prefix, .main, .main, .suffix])
        #expect(run.controller.mainCyclesDone == 2)
    }

    @Test func gradientGuardHoldsProximalBelowRisingDistal() throws {
        // Both inflate at once; the calf (target 40) must never pass the still-rising ankle.
        let plan = try ProtocolValidator.plan(dvt([step("ankle", 45), step("calf", 40)], chambers: ["ankle", "calf"], length: .cycles(1)), for: boot3)
        var worst = -Double.infinity
        _ = simulate(plan) { t, c, _, p in
            if c.phase(of: 0).isPressurised && c.phase(of: 1).isPressurised && t > 0.1 { worst = max(worst, p[1] - p[0]) }
        }
        #expect(worst < 0.5)
    }
}

/// The controller defects of issue 7.
@Suite struct ControllerTimingTests {
    @Test func aRestBetweenSetsVentsOnTheTickItStarts() throws {
        // The release follows an event; the cycle's period ends first, straight into the rest.
        let plan = try ProtocolValidator.plan(
            dvt([step("calf", 40, release: Trigger(.reached("calf"), delay: 1))], chambers: ["calf"], length: .sets(count: 2, cyclesPerSet: 1, restSeconds: 30), period: 6),
            for: boot3)
        var restStart = Double.nan
        var ventedFromRestStart = true
        _ = simulate(plan) { t, c, out, _ in
            if c.pendingRest && restStart.isNaN { restStart = t }
            if c.pendingRest && !(out.inlets.isEmpty && out.exhausts.contains(index: 0)) { ventedFromRestStart = false }
        }
        #expect(!restStart.isNaN)
        #expect(ventedFromRestStart)
    }

    @Test func theCommandCarriesTheFinalTargetAndWhenItIsDueNotTheRamp() throws {
        var s = step("ankle", 45, release: .at(20))
        s.rampSeconds = 8
        let plan = try ProtocolValidator.plan(dvt([s], chambers: ["ankle"], length: .cycles(1), period: 30), for: boot3)
        var c = Controller(plan: plan, settings: RegulatorSettings())
        _ = c.step(time: 0, inputs: BootInputs())
        let cmd = c.step(time: 2, inputs: BootInputs(pressures: ChamberValues([10])))
        #expect(cmd.setPoints[0] == 45)
        #expect(cmd.dueAt[0] == 8)
        #expect(c.setPoint(of: 0) < 45) // the regulator follows the ramp
    }

    @Test func equalTargetNeighboursReachTargetInTheNormalTime() throws {
        let plan = try ProtocolValidator.plan(
            dvt([step("ankle", 40), step("calf", 40, inflate: .at(2))], chambers: ["ankle", "calf"], length: .cycles(1), period: 20),
            for: boot3)
        let run = simulate(plan)
        let reached = run.events.filter { $0.kind == .reached && $0.chamber == 1 }.map(\.time)
        // 40 mmHg at 20 mmHg/s: about 2 s after its inflation at 2 s.
        #expect(reached.count == 1)
        #expect((reached.first ?? .infinity) < 4.6)
    }
}
