import Testing
@testable import SoleusCore

/// A 3-chamber boot with default limits (ceiling 150, max target 140).
let boot3 = BootDescription(chambers: ["ankle", "calf", "thigh"], limits: BootLimits())

func step(_ name: String, _ target: Double, inflate: Trigger = .at(0), release: Trigger = .at(11), hold: ChamberStep.HoldStep? = nil) -> ChamberStep {
    ChamberStep(chamber: name, target: .absolute(Pressure(mmHg: target)), inflate: inflate, hold: hold, release: release)
}

func dvt(_ steps: [ChamberStep], chambers: [String] = ["ankle", "calf", "thigh"], length: SessionLength = .minutes(30), period: Double = 60) -> TreatmentProtocol {
    TreatmentProtocol(name: "t", chambers: chambers, length: length, cycle: CycleDefinition(pacing: .period(period), steps: steps))
}

func issues(_ p: TreatmentProtocol, boot: BootDescription = boot3, level: Int? = nil) -> [ProtocolIssue] {
    do {
        _ = try ProtocolValidator.plan(p, for: boot, level: level)
        return []
    } catch {
        return error.issues
    }
}

@Suite struct ProtocolValidatorTests {
    @Test func validGradientProducesPlanWithBootIndices() throws {
        let plan = try ProtocolValidator.plan(
            dvt([step("ankle", 45), step("calf", 40, inflate: .at(2.5)), step("thigh", 30, inflate: .at(5.5))]), for: boot3)
        #expect(plan.cycle.steps.map(\.chamber) == [0, 1, 2])
        #expect(plan.cycle.steps.map(\.target.mmHg) == [45, 40, 30])
        #expect(plan.cycle.steps[1].inflate == PlanTrigger(event: .cycleStart, delay: 2.5))
    }

    @Test func reverseGradientIsRejectedAtTheProximalTarget() {
        let found = issues(dvt([step("ankle", 40), step("calf", 45, inflate: .at(2.5))]))
        #expect(found.count == 1)
        #expect(found.first?.keyPath == "cycle.chamber[1].target_mmHg")
        #expect(found.first?.message.contains("reverse gradient") == true)
    }

    @Test func equalNeighboursAreNotAReverseGradient() {
        #expect(issues(dvt([step("ankle", 40), step("calf", 40)])).isEmpty)
    }

    @Test func nonOverlappingTimedChambersMayRiseProximally() {
        // The calf inflates only after the ankle released: never pressurised together.
        #expect(issues(dvt([step("ankle", 30, release: .at(5)), step("calf", 45, inflate: .at(5), release: .at(10))])).isEmpty)
    }

    @Test func holdBelowProximalPulseIsAReverseGradient() {
        let hold = ChamberStep.HoldStep(pressure: .absolute(Pressure(mmHg: 30)), at: Trigger(.reached("ankle"), delay: 1))
        let found = issues(dvt([step("ankle", 50, hold: hold), step("calf", 40, inflate: Trigger(.reached("ankle")), release: Trigger(.reached("calf"), delay: 3))]))
        #expect(found.map(\.keyPath) == ["cycle.chamber[1].target_mmHg"])
    }

    @Test func targetAboveCeilingNamesTheCeiling() {
        let found = issues(dvt([step("ankle", 160)]))
        #expect(found.map(\.keyPath) == ["cycle.chamber[0].target_mmHg"])
        #expect(found.first?.message.contains("above the hardware ceiling of 150.0 mmHg") == true)
    }

    @Test func targetBetweenMaxTargetAndCeilingNamesTheGarmentLimit() {
        let found = issues(dvt([step("ankle", 145)]))
        #expect(found.first?.message.contains("max_target_mmHg") == true)
        #expect(issues(dvt([step("ankle", 140)])).isEmpty)
    }

    @Test func zeroOrNegativeTargetsAreRejected() {
        #expect(issues(dvt([step("ankle", 0)])).map(\.keyPath) == ["cycle.chamber[0].target_mmHg"])
        #expect(issues(dvt([step("ankle", -5)])).count == 1)
    }

    @Test func moreChambersThanTheBootHas() {
        let p = dvt([step("ankle", 45)], chambers: ["foot", "ankle", "calf", "thigh"])
        let found = issues(p)
        #expect(found.contains { $0.keyPath == "protocol.chambers" && $0.message.contains("names 4 chambers but the boot has only 3") })
    }

    @Test func unknownAndMisorderedChambers() {
        #expect(issues(dvt([step("ankle", 45)], chambers: ["ankle", "shin"])).map(\.keyPath) == ["protocol.chambers[1]"])
        let misordered = issues(dvt([step("ankle", 45)], chambers: ["calf", "ankle"]))
        #expect(misordered.first?.message.contains("out of order") == true)
    }

    @Test func stepForChamberNotInProtocolList() {
        #expect(issues(dvt([step("thigh", 30)], chambers: ["ankle", "calf"])).map(\.keyPath) == ["cycle.chamber[0].name"])
    }

    @Test func releaseBeforeInflateIsImpossibleTiming() {
        let found = issues(dvt([step("ankle", 45, inflate: .at(5), release: .at(3))]))
        #expect(found.map(\.keyPath) == ["cycle.chamber[0].release"])
    }

    @Test func eventsOutsideThePeriodDoNotFit() {
        let found = issues(dvt([step("ankle", 45, release: .at(61))]))
        #expect(found.map(\.keyPath) == ["cycle.chamber[0].release"])
        #expect(found.first?.message.contains("does not fit") == true)
    }

    @Test func triggersWaitingOnEachOtherAreALoop() {
        let a = step("ankle", 45, inflate: Trigger(.inflated("calf")), release: Trigger(.allReached, delay: 5))
        let c = step("calf", 40, inflate: Trigger(.inflated("ankle")), release: Trigger(.allReached, delay: 5))
        let found = issues(dvt([a, c]))
        #expect(found.contains { $0.keyPath == "cycle" && $0.message.contains("loop") })
    }

    @Test func triggerOnChamberNotInTheCycle() {
        let found = issues(dvt([step("ankle", 45, release: Trigger(.reached("thigh")))]))
        #expect(found.map(\.keyPath) == ["cycle.chamber[0].release"])
    }

    @Test func eventDrivenReleaseThatFollowsOwnInflateIsValid() {
        let a = step("ankle", 45, release: Trigger(.allReached, delay: 10))
        let c = step("calf", 40, inflate: Trigger(.reached("ankle")), release: Trigger(.allReached, delay: 10))
        #expect(issues(dvt([a, c])).isEmpty)
    }

    @Test func releaseOnAnUnrelatedEventIsRejected() {
        // The calf could release (when the ankle inflates, at 0 s) before its own inflate.
        let a = step("ankle", 45, release: .at(11))
        let c = step("calf", 40, inflate: Trigger(.reached("ankle")), release: Trigger(.inflated("ankle")))
        #expect(issues(dvt([a, c])).map(\.keyPath) == ["cycle.chamber[1].release"])
    }

    @Test func sessionLengthLimits() {
        #expect(issues(dvt([step("ankle", 45)], length: .minutes(0))).map(\.keyPath) == ["session.minutes"])
        #expect(issues(dvt([step("ankle", 45)], length: .minutes(121))).map(\.keyPath) == ["session.minutes"])
        #expect(issues(dvt([step("ankle", 45)], length: .cycles(0))).map(\.keyPath) == ["session.cycles"])
        #expect(issues(dvt([step("ankle", 45)], length: .cycles(200))).map(\.keyPath) == ["session.cycles"])
        #expect(issues(dvt([step("ankle", 45)], length: .sets(count: 0, cyclesPerSet: 5, restSeconds: 10))).map(\.keyPath) == ["session.sets"])
    }

    @Test func mainCycleNeedsAChamber() {
        #expect(issues(dvt([])).map(\.keyPath) == ["cycle.chamber"])
    }

    @Test func intensityLevelsResolveTargetsAndBoost() throws {
        var p = dvt([
            ChamberStep(chamber: "ankle", target: .levelOffset(Pressure(mmHg: 0)), inflate: .at(0), release: .at(11)),
            ChamberStep(chamber: "calf", target: .levelOffset(Pressure(mmHg: -5)), inflate: .at(1), release: .at(11)),
        ])
        p.intensity = Intensity(levels: [50, 60, 70].map { Pressure(mmHg: $0) }, level: 2, boost: .init(chamber: "ankle", extra: Pressure(mmHg: 10)))
        let plan = try ProtocolValidator.plan(p, for: boot3)
        // The boost is kept apart: it is added in the hold, once the wave has passed.
        #expect(plan.cycle.steps.map(\.target.mmHg) == [60, 55])
        #expect(plan.cycle.steps.map(\.boost.mmHg) == [10, 0])
        let atLevel3 = try ProtocolValidator.plan(p, for: boot3, level: 3)
        #expect(atLevel3.cycle.steps.map(\.target.mmHg) == [70, 65])
        #expect(atLevel3.level == 3)
        #expect(issues(p, level: 4).map(\.keyPath) == ["intensity.level (from --level)"])
    }

    @Test func levelOffsetWithoutIntensityIsRejected() {
        let p = dvt([ChamberStep(chamber: "ankle", target: .levelOffset(Pressure(mmHg: 0)), inflate: .at(0), release: .at(11))])
        #expect(issues(p).map(\.keyPath) == ["cycle.chamber[0].target_level_offset_mmHg"])
    }

    @Test func holdAboveTargetIsRejected() {
        let hold = ChamberStep.HoldStep(pressure: .absolute(Pressure(mmHg: 50)), at: Trigger(.reached("ankle"), delay: 1))
        #expect(issues(dvt([step("ankle", 45, hold: hold)])).map(\.keyPath) == ["cycle.chamber[0].hold_mmHg"])
    }

    @Test func allProblemsAreReportedTogether() {
        var bad = step("calf", 40)
        bad.rampSeconds = -1
        let found = issues(dvt([step("ankle", 160), bad]))
        #expect(Set(found.map(\.keyPath)) == ["cycle.chamber[0].target_mmHg", "cycle.chamber[1].ramp_s"])
    }
}
