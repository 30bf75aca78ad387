import Testing
@testable import SoleusCore

/// Issue 8's program structure in the validator and the controller: steps that share a chamber,
/// phases, build-up, boost in the hold, rise time, limb modes.
/// Runs `plan` in 10 ms ticks until it finishes (or `seconds`), with readings from `inputs`, and
/// returns every event of kind `kind`.
func events(of plan: TreatmentPlan, _ kind: ControlEvent.Kind, seconds: Double = 200, inputs: (Controller) -> BootInputs = { _ in BootInputs() }) -> [ControlEvent] {
    var c = Controller(plan: plan, settings: RegulatorSettings())
    var found: [ControlEvent] = []
    var k = 0
    while !c.isFinished && Double(k) * 0.01 < seconds {
        _ = c.step(time: Double(k) * 0.01, inputs: inputs(c))
        found += c.events.filter { $0.kind == kind }
        c.clearEvents()
        k += 1
    }
    return found
}

@Suite struct ProgramStructureTests {
    let twoLegs = BootDescription(
        limbs: [LimbDescription(name: "left", chambers: ["ankle", "calf", "thigh"], firstChamber: 0, drive: 0),
                LimbDescription(name: "right", chambers: ["ankle", "calf", "thigh"], firstChamber: 3, drive: 0)],
        limits: BootLimits(), onLimbFault: .carryOn)

    // MARK: a chamber inflating twice

    @Test func aChamberInflatesTwiceWhenItsSecondStepFollowsTheFirstsRelease() throws {
        var second = step("ankle", 45, inflate: .at(6), release: .at(10))
        second.id = "ankle-2"
        let plan = try ProtocolValidator.plan(dvt([step("ankle", 45, inflate: .at(0), release: .at(5)), second]), for: boot3)
        #expect(plan.cycle.steps.map(\.id) == ["ankle", "ankle-2"])
        #expect(plan.cycle.steps.map(\.chamber) == [0, 0])
    }

    @Test func aSecondStepWithoutAnIdIsNamedAsTheProblem() {
        let found = issues(dvt([step("ankle", 45, release: .at(5)), step("ankle", 45, inflate: .at(6), release: .at(10))]))
        #expect(found.map(\.keyPath) == ["cycle.chamber[1].name"])
        #expect(found.first?.message.contains("give the later one an id (id = \"ankle-2\")") == true)
    }

    @Test func aStepOnAChamberTheBootLacksIsAnErrorNotACrash() {
        // Found by fuzz-validator: triggers index the cycle's steps, and a step whose chamber is
        // missing from the boot used to be dropped, shifting the others.
        let boot = BootDescription(chambers: ["ankle", "thigh"], limits: BootLimits())
        let found = issues(dvt([step("ankle", 45, release: Trigger(.reached("thigh"))), step("calf", 40, inflate: Trigger(.reached("ankle"))),
                                step("thigh", 30, inflate: Trigger(.reached("calf")))]), boot: boot)
        #expect(found.map(\.keyPath) == ["protocol.chambers", "protocol.chambers[1]"])
        #expect(found.last?.message.hasPrefix("the boot has no chamber \"calf\"") == true)
    }

    @Test func overlappingStepsOfOneChamberAreRejectedWithTheirTimes() {
        var second = step("ankle", 45, inflate: .at(3), release: .at(10))
        second.id = "ankle-2"
        let found = issues(dvt([step("ankle", 45, inflate: .at(0), release: .at(5)), second]))
        #expect(found.map(\.keyPath) == ["cycle.chamber[1].inflate"])
        #expect(found.first?.message == "ankle-2 would inflate at 3.00 s, while the same chamber's step \"ankle\" holds until 5.00 s")
    }

    @Test func anEventChainedSecondStepMustFollowTheFirstsRelease() {
        var second = step("ankle", 45, inflate: Trigger(.reached("calf")), release: Trigger(.reached("ankle-2"), delay: 2))
        second.id = "ankle-2"
        let found = issues(dvt([step("ankle", 45, release: .at(5)),
                                step("calf", 40, inflate: .at(1), release: Trigger(.reached("calf"), delay: 4)), second]))
        #expect(found.map(\.keyPath) == ["cycle.chamber[2].inflate"])
        #expect(found.first?.message.contains("must come after that step releases") == true)
    }

    @Test func theControllerRunsBothInflationsOfAChamber() throws {
        var second = step("ankle", 40, inflate: .at(6), release: .at(9))
        second.id = "ankle-2"
        let plan = try ProtocolValidator.plan(dvt([step("ankle", 45, inflate: .at(0), release: .at(5)), second], length: .cycles(1), period: 12), for: boot3)
        let inflates = events(of: plan, .inflate, seconds: 20) { c in BootInputs(pressures: ChamberValues([c.setPoint(of: 0), 0, 0])) }
            .map { ($0.time, $0.pressure) }
        #expect(inflates.count == 2)
        #expect(abs(inflates[0].0 - 0) < 0.02 && inflates[0].1 == 45)
        #expect(abs(inflates[1].0 - 6) < 0.02 && inflates[1].1 == 40)
    }

    // MARK: phases and build-up

    @Test func phasesRunInOrderWithTheirRepeatCounts() throws {
        var p = dvt([step("thigh", 30, inflate: .at(0), release: .at(3))], length: .cycles(7), period: 10)
        p.phases = [ProgramPhase(name: "clearance", repeatCount: 1, cycle: p.cycle),
                    ProgramPhase(name: "sequence", repeatCount: 2, cycle: CycleDefinition(pacing: .period(12), steps: [step("ankle", 45, release: .at(5))]))]
        let plan = try ProtocolValidator.plan(p, for: boot3)
        let order = events(of: plan, .inflate).map(\.chamber)
        // thigh (clearance) once, ankle (sequence) twice, then the list again.
        #expect(order == [2, 0, 0, 2, 0, 0, 2])
    }

    @Test func repeatMustBeAtLeastOne() {
        var p = dvt([step("ankle", 45)])
        p.phases = [ProgramPhase(name: "a", repeatCount: 0, cycle: p.cycle), ProgramPhase(name: "b", repeatCount: 1, cycle: p.cycle)]
        #expect(issues(p).map(\.keyPath) == ["phase[0].repeat"])
    }

    @Test func buildUpScalesTheFirstCyclesPressures() throws {
        var p = dvt([step("ankle", 50, release: .at(5))], length: .cycles(4), period: 10)
        p.buildUp = BuildUp(cycles: 3, startFraction: 0.6)
        let plan = try ProtocolValidator.plan(p, for: boot3)
        let targets = events(of: plan, .inflate, seconds: 60).map(\.pressure)
        #expect(targets.count == 4)
        for (got, want) in zip(targets, [30.0, 40, 50, 50]) { #expect(abs(got - want) < 1e-9) }
    }

    @Test func buildUpNeedsTwoCyclesAndAShareBelowAll() {
        var p = dvt([step("ankle", 50)])
        p.buildUp = BuildUp(cycles: 1, startFraction: 1.2)
        #expect(issues(p).map(\.keyPath) == ["session.build_up_cycles", "session.build_up_start_percent"])
    }

    // MARK: boost and the gradient rule

    @Test func aBoostOnAProximalZoneIsAllowedAndKeptOutOfTheWave() throws {
        var p = dvt([step("ankle", 45, release: .at(11)), step("calf", 40, inflate: .at(2.5), release: .at(11))])
        p.intensity = Intensity(levels: [Pressure(mmHg: 45)], level: 1, boost: .init(chamber: "calf", extra: Pressure(mmHg: 10)))
        let plan = try ProtocolValidator.plan(p, for: boot3)
        #expect(plan.cycle.steps[1].target.mmHg == 40)
        #expect(plan.cycle.steps[1].boost.mmHg == 10)
    }

    @Test func aBoostAboveTheAllowanceIsRejected() {
        var p = dvt([step("ankle", 45), step("calf", 40, inflate: .at(2.5))])
        p.intensity = Intensity(levels: [Pressure(mmHg: 45)], level: 1, boost: .init(chamber: "calf", extra: Pressure(mmHg: 15)))
        let found = issues(p)
        #expect(found.map(\.keyPath) == ["intensity.boost_mmHg"])
        #expect(found.first?.message.contains("10.0 mmHg") == true)
    }

    @Test func theBoostStartsOnlyOnceTheDistalNeighbourHasStoppedFilling() throws {
        var p = dvt([step("ankle", 45, release: .at(11)), step("calf", 40, inflate: .at(0), release: .at(11))], length: .cycles(1))
        p.intensity = Intensity(levels: [Pressure(mmHg: 45)], level: 1, boost: .init(chamber: "calf", extra: Pressure(mmHg: 5)))
        let plan = try ProtocolValidator.plan(p, for: boot3)
        var c = Controller(plan: plan, settings: RegulatorSettings())
        // The calf reaches 40 while the ankle is still filling (held at 20): no boost yet.
        _ = c.step(time: 0, inputs: BootInputs(pressures: ChamberValues([20, 40, 0])))
        _ = c.step(time: 0.01, inputs: BootInputs(pressures: ChamberValues([20, 40, 0])))
        #expect(c.phase(of: 1) == .holding)
        #expect(c.setPoint(of: 1) == 40)
        // The ankle reaches 45: the calf's boost follows.
        for k in 2..<20 { _ = c.step(time: Double(k) * 0.01, inputs: BootInputs(pressures: ChamberValues([45, 40, 0]))) }
        #expect(c.phase(of: 0) == .holding)
        #expect(c.setPoint(of: 1) == 45)
        #expect(c.events.contains { $0.kind == .boost && $0.chamber == 1 && $0.pressure == 45 })
    }

    // MARK: rise time

    @Test func aRiseTimeShorterThanTheRampIsRejected() {
        var s = step("ankle", 45)
        s.rampSeconds = 2
        s.riseSeconds = 1
        let found = issues(dvt([s]))
        #expect(found.map(\.keyPath) == ["cycle.chamber[0].rise_s"])
    }

    @Test func aLateRiseIsLoggedOnce() throws {
        var s = step("ankle", 45, release: .at(5))
        s.riseSeconds = 0.5
        let plan = try ProtocolValidator.plan(dvt([s], length: .cycles(1)), for: boot3)
        let late = events(of: plan, .riseLate, seconds: 1) { _ in BootInputs(pressures: ChamberValues([10, 0, 0])) }
        #expect(late.count == 1)
        #expect(abs((late.first?.time ?? 0) - 0.51) < 0.015)
    }

    // MARK: limbs

    @Test func aSingleLimbProtocolOnTwoLimbsNeedsTheLimbChosen() throws {
        let p = dvt([step("ankle", 45)])
        let found = issues(p, boot: twoLegs)
        #expect(found.map(\.keyPath) == ["protocol.limbs"])
        let right = try ProtocolValidator.plan(p, for: twoLegs, limb: "right")
        #expect(right.limbs == [LimbRun(limb: 1, offsetSeconds: 0)])
        do {
            _ = try ProtocolValidator.plan(p, for: twoLegs, limb: "middle")
            Issue.record("an unknown limb was accepted")
        } catch {
            #expect(error.issues.first?.message == "the boot has no limb \"middle\" (it has \"left\", \"right\")")
        }
    }

    @Test func alternatingLimbsStartHalfAPeriodApart() throws {
        var p = dvt([step("ankle", 45)])
        p.limbs = .alternating(offsetSeconds: nil)
        let plan = try ProtocolValidator.plan(p, for: twoLegs)
        #expect(plan.limbs == [LimbRun(limb: 0, offsetSeconds: 0), LimbRun(limb: 1, offsetSeconds: 30)])
        #expect(issues(p).map(\.keyPath) == ["protocol.limbs"])
    }

    @Test func limbsWithDifferentGarmentsCannotRunOneProtocolTogether() {
        let uneven = BootDescription(
            limbs: [LimbDescription(name: "left", chambers: ["ankle", "calf", "thigh"], firstChamber: 0, drive: 0),
                    LimbDescription(name: "right", chambers: ["ankle", "calf"], firstChamber: 3, drive: 1)],
            limits: BootLimits(), onLimbFault: .ventAll)
        var p = dvt([step("ankle", 45)])
        p.limbs = .together
        #expect(issues(p, boot: uneven).first?.message.contains("have different garments") == true)
    }

    @Test func everyConditionHasAStatedConfinement() {
        // Faults that can hide pressure are never confined to a limb that shares its drive.
        for c in [AlarmCondition.overPressure, .overTarget, .riseInletClosed, .ventFailure, .unexplainedAir] {
            #expect(c.policy.confinement == .ownDrive)
        }
        for c in [AlarmCondition.emergencyStop, .staleReadings, .loopStall] { #expect(c.policy.confinement == .boot) }
        #expect(AlarmCondition.targetNotReached.policy.confinement == .limb)
    }
}
