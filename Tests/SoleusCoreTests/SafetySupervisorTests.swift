import Testing
@testable import SoleusCore

func inputs(_ p: [Double], estop: Bool = false) -> BootInputs {
    BootInputs(pressures: ChamberValues(p), emergencyStop: estop)
}

let inflating = BootOutputs(pump: true, inlets: [.chamber(0)], exhausts: [.chamber(1), .chamber(2)])

@Suite struct SafetySupervisorTests {
    @Test func belowTheCeilingPassesCommandsThrough() {
        var s = SafetySupervisor(limits: BootLimits(), chamberCount: 3)
        #expect(s.check(time: 0, inputs: inputs([150, 10, 0]), commanded: inflating) == inflating)
        #expect(s.trip == nil)
    }

    @Test func aboveTheCeilingVentsAndNamesTheChamber() {
        var s = SafetySupervisor(limits: BootLimits(), chamberCount: 3)
        let out = s.check(time: 4.2, inputs: inputs([20, 150.1, 0]), commanded: inflating)
        #expect(out.isVented(chamberCount: 3))
        #expect(s.trip?.kind == .overPressure)
        #expect(s.trip?.chamber == 1)
        #expect(s.trip?.time == 4.2)
    }

    @Test func aLowerProfileCeilingIsEnforced() {
        var s = SafetySupervisor(limits: BootLimits(ceiling: Pressure(mmHg: 60)), chamberCount: 1)
        #expect(s.check(time: 0, inputs: inputs([60]), commanded: inflating) == inflating)
        #expect(s.check(time: 0, inputs: inputs([60.5]), commanded: inflating).isVented(chamberCount: 1))
    }

    @Test func aTripLatches() {
        var s = SafetySupervisor(limits: BootLimits(), chamberCount: 3)
        _ = s.check(time: 0, inputs: inputs([151, 0, 0]), commanded: inflating)
        let later = s.check(time: 1, inputs: inputs([0, 0, 0]), commanded: inflating)
        #expect(later.isVented(chamberCount: 3))
        #expect(s.trip?.time == 0)
    }

    @Test func nonFiniteReadingTrips() {
        var s = SafetySupervisor(limits: BootLimits(), chamberCount: 3)
        #expect(s.check(time: 0, inputs: inputs([10, .nan, 0]), commanded: inflating).isVented(chamberCount: 3))
        #expect(s.trip?.kind == .invalidReading)
    }

    @Test func emergencyStopTrips() {
        var s = SafetySupervisor(limits: BootLimits(), chamberCount: 3)
        #expect(s.check(time: 0, inputs: inputs([10, 0, 0], estop: false), commanded: inflating) == inflating)
        #expect(s.check(time: 0, inputs: inputs([10, 0, 0], estop: true), commanded: inflating).isVented(chamberCount: 3))
        #expect(s.trip?.kind == .emergencyStop)
    }

    @Test func chambersBeyondTheBootAreIgnored() {
        // A 2-chamber supervisor must not read slot 2 (unused storage).
        var s = SafetySupervisor(limits: BootLimits(), chamberCount: 2)
        #expect(s.check(time: 0, inputs: inputs([10, 10, 999]), commanded: inflating) == inflating)
    }
}

@Suite struct EstimatorAndSummaryTests {
    @Test func estimatorFollowsARampWithoutLag() {
        var e = PressureEstimator(tickSeconds: 0.01)
        for k in 0..<20 { e.add(Double(k) * 0.2) } // 20 mmHg/s
        #expect(abs(e.level - 3.8) < 1e-9)
        #expect(abs(e.slope - 20) < 1e-9)
    }

    @Test func summaryPeakUsesTheHundredMillisecondMean() {
        var s = CycleSummarizer(chamberCount: 1, tickSeconds: 0.01)
        s.handle(ControlEvent(kind: .cycleStarted, time: 0, cycle: 1, part: .main))
        s.handle(ControlEvent(kind: .inflate, time: 0.5, cycle: 1, part: .main, chamber: 0, pressure: 40))
        for k in 0..<100 { s.add(readings: ChamberValues([k == 50 ? 70 : 40])) } // one 60 mmHg spike
        s.handle(ControlEvent(kind: .reached, time: 1.5, cycle: 1, part: .main, chamber: 0, pressure: 40))
        s.handle(ControlEvent(kind: .cycleEnded, time: 2, cycle: 1, part: .main))
        let r = s.completed
        #expect(r.count == 1)
        #expect(abs(r[0].peak - 43) < 1e-9) // (9·40 + 70) / 10
        #expect(r[0].inflateOffset == 0.5)
        #expect(r[0].timeToTarget == 1.0)
        #expect(abs(r[0].timeAtTarget - 0.9) < 1e-9) // the 10 ticks whose window holds the spike read 43
    }
}
