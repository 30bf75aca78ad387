import Testing
@testable import SoleusCore

/// The checks added for single-fault safety (issue 7), each on both sides of its threshold.
@Suite struct SafetyIITests {
    @Test func implausiblyFastFallIsOcclusionAndTheChamberIsUnknown() {
        var b = Bench()
        b.run(1, p: { t in [130 + jitter(t), 0, 0] }, out: sealed(), sp: [130])
        // A healthy vent: 130 → 0 at 400 mmHg/s is under the 600 mmHg/s default.
        var healthy = b
        #expect(!healthy.run(0.4, p: { t in [max(0, 130 - (t - 1) * 400), 0, 0] }, sp: [0]).contains(.occlusion))
        // The kinked hose's side empties in one tick.
        let seen = b.run(0.2, p: { t in [jitter(t) + 1, 0, 0] }, sp: [0])
        #expect(seen.contains(.occlusion))
        #expect(b.s.details[AlarmCondition.occlusion.rawValue].check == 1)
        #expect(b.s.occludedChambers.contains(index: 0))
        #expect(b.s.untrustedSensors == .chamber(0))
    }

    @Test func redundantChannelsThatPartLatchAndDistrustTheChamber() {
        var b = Bench()
        // Within the 6 mmHg band: nothing.
        #expect(b.run(2, p: { t in [40 + jitter(t), 0, 0] }, redundant: { t in [45 + jitter(t), 0, 0] }, out: sealed(), sp: [40]).isEmpty)
        // Beyond it for less than the debounce: nothing.
        #expect(!b.run(0.15, p: { t in [40 + jitter(t), 0, 0] }, redundant: { t in [47 + jitter(t), 0, 0] }, out: sealed(), sp: [40]).contains(.sensorDisagreement))
        // Long enough: high, vent, and neither sensor trusted.
        #expect(b.run(0.3, p: { t in [40 + jitter(t), 0, 0] }, redundant: { t in [47 + jitter(t), 0, 0] }, out: sealed(), sp: [40]).contains(.sensorDisagreement))
        #expect(b.s.safeState)
        #expect(b.s.faultySensors.contains(index: 0))
    }

    @Test func theRedundantChannelIsCheckedForRangeAndCeiling() {
        var b = Bench()
        #expect(b.run(0.01, p: { _ in [10, 0, 0] }, redundant: { _ in [10, .nan, 0] }).contains(.sensorFault))
        var c = Bench()
        #expect(c.run(0.01, p: { _ in [140, 0, 0] }, redundant: { _ in [151, 0, 0] }).contains(.overPressure))
    }

    @Test func aNoisySensorRepeatingOneValueIsFrozenEvenWithTheValvesShut() {
        var b = Bench { $0.frozenQuiet = 0.5 }
        b.run(1, p: { t in [40 + jitter(t), 0, 0] }, out: sealed(), sp: [40])
        #expect(!b.run(0.45, p: { _ in [40.3, 0.1, 0.2] }, out: sealed(), sp: [40]).contains(.sensorFault))
        // Chambers 1 and 2 repeat too, but 0 crosses first; all would.
        #expect(b.run(0.1, p: { _ in [40.3, 0.1, 0.2] }, out: sealed(), sp: [40]).contains(.sensorFault))
        #expect(b.s.details[AlarmCondition.sensorFault.rawValue].check == 2)
        // Off (noise-free sensors): a steady value is no fault.
        var c = Bench()
        #expect(c.run(3, p: { _ in [40.3, 0, 0] }, out: sealed(), sp: [40]).isEmpty)
    }

    /// Holding at 45 with the inlet open `duty` of each second, alone on the pump.
    func hold(duty: Double, for seconds: Double) -> AlarmSet {
        var b = Bench()
        b.run(1, p: { t in [45 + jitter(t), 0, 0] }, out: sealed(), sp: [45])
        var seen = AlarmSet()
        for _ in 0..<Int(seconds) {
            seen.formUnion(b.run(duty, p: { t in [45 + jitter(t), 0, 0] }, out: inflating(0), sp: [45]))
            seen.formUnion(b.run(1 - duty, p: { t in [45 + jitter(t), 0, 0] }, out: sealed(), sp: [45]))
        }
        return seen
    }

    @Test func airWithoutRiseBeyondAnyLeakVents() {
        #expect(!hold(duty: 0.3, for: 10).contains(.unexplainedAir))
        let seen = hold(duty: 0.8, for: 10)
        #expect(seen.contains(.unexplainedAir))
        #expect(AlarmCondition.unexplainedAir.policy.priority == .high)
    }

    @Test func airIsCountedAsTheShareOfThePumpAnInletGets() {
        // The inlet open 15 % of the time while three inlets share the pump: 5 % of its air.
        var b = Bench()
        b.run(1, p: { t in [45 + jitter(t), 0, 0] }, out: sealed(), sp: [45])
        let shared = BootOutputs(pump: true, inlets: .all(3), exhausts: [])
        var seen = AlarmSet()
        for _ in 0..<10 {
            seen.formUnion(b.run(0.15, p: { t in [45 + jitter(t), 20 + t, 10 + t] }, out: shared, sp: [45]))
            seen.formUnion(b.run(0.85, p: { t in [45 + jitter(t), 20 + jitter(t), 10 + jitter(t)] }, out: sealed(), sp: [45]))
        }
        #expect(!seen.contains(.leak))
        // Alone on the pump, the same openings are 15 % of its air: a leak.
        #expect(hold(duty: 0.15, for: 10).contains(.leak))
    }

    @Test func theReachTimeoutCountsFromWhenTheSetPointIsDue() {
        // A 12 s ramp: at 15 s the chamber is 5 s past due, not yet 10 s.
        var b = Bench()
        #expect(!b.run(15, p: { t in [min(t * 3, 30) + jitter(t), 0, 0] }, out: inflating(0), sp: [45], due: [12]).contains(.targetNotReached))
        #expect(b.run(8, p: { t in [30 + jitter(t), 0, 0] }, out: inflating(0), sp: [45], due: [12]).contains(.targetNotReached))
    }

    @Test func theRelayIsClosedForTherapyAndOpenedByEveryVentingAlarm() {
        var b = Bench()
        b.run(0.1, p: { t in [40 + jitter(t), 0, 0] }, out: sealed(), sp: [40])
        #expect(b.last.power)
        b.run(0.01, p: { _ in [151, 0, 0] }, out: sealed(), sp: [40])
        #expect(!b.last.power)
        #expect(b.last.isVented(chamberCount: 3))
        for c in AlarmCondition.allCases { #expect(c.policy.opensRelay == (c.policy.reaction == .vent)) }
    }

    @Test func everyThresholdHasADefaultInsideItsRangeOrIsDerived() {
        let derived: Set<String> = ["frozen_quiet_s", "max_rise_rate_mmHg_s", "max_fall_rate_mmHg_s"]
        for row in SafetyThreshold.table where !derived.contains(row.key) {
            #expect(row.range.contains(row.defaultValue), "\(row.key): default \(row.defaultValue) outside \(row.range)")
        }
        #expect(Set(SafetyThreshold.table.map(\.key)).count == SafetyThreshold.table.count)
    }
}
