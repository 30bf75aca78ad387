import Testing
@testable import SoleusCore

/// Drives a supervisor tick by tick with synthetic readings: each check on both sides of its
/// threshold. Tick 10 ms, defaults of ``SafetySettings`` unless a test changes them.
struct Bench {
    var s: SafetySupervisor
    var t = 0.0
    let n: Int
    /// The outputs the supervisor returned on the last tick.
    var last = BootOutputs.vented(chamberCount: 0)
    init(chambers: Int = 3, _ configure: (inout SafetySettings) -> Void = { _ in }) {
        var settings = SafetySettings()
        configure(&settings)
        n = chambers
        s = SafetySupervisor(settings: settings, chamberCount: chambers, tickSeconds: 0.01)
    }

    /// Runs `seconds` of ticks with readings from `p(t)`, the given outputs and set points.
    @discardableResult
    mutating func run(_ seconds: Double, p: (Double) -> [Double], redundant: ((Double) -> [Double])? = nil, out: BootOutputs? = nil, sp: [Double] = [], due: [Double] = [], estop: Bool = false, age: Double = 0.005, lateness: Double = 0) -> AlarmSet {
        var seen = AlarmSet()
        let o = out ?? .vented(chamberCount: n)
        let ticks = Int((seconds / 0.01).rounded())
        for _ in 0..<ticks {
            let inputs = BootInputs(pressures: ChamberValues(p(t)), redundant: redundant.map { ChamberValues($0(t)) }, emergencyStop: estop, age: age)
            last = s.check(time: t, inputs: inputs, command: TherapyCommand(outputs: o, setPoints: ChamberValues(sp), dueAt: ChamberValues(due)), lateness: lateness)
            seen.formUnion(s.present)
            t += 0.01
        }
        return seen
    }
}

/// Outputs helpers.
func sealed(_ n: Int = 3) -> BootOutputs { BootOutputs(pump: false, inlets: [], exhausts: []) }
func inflating(_ c: Int, _ n: Int = 3) -> BootOutputs {
    var ex = ChamberSet.all(n)
    ex.set(c, false)
    return BootOutputs(pump: true, inlets: .chamber(c), exhausts: ex)
}
/// Small deterministic "noise" so readings are never frozen by accident.
func jitter(_ t: Double) -> Double { ((t * 100).rounded().truncatingRemainder(dividingBy: 3) - 1) * 0.1 }

@Suite struct SafetySupervisorTests {
    @Test func healthyHoldRaisesNothingAndPassesCommandsThrough() {
        var b = Bench()
        let seen = b.run(5, p: { t in [45 + jitter(t), 40 + jitter(t), 30 + jitter(t)] }, out: sealed(), sp: [45, 40, 30])
        #expect(seen.isEmpty)
        #expect(!b.s.safeState)
    }

    @Test func overPressureIsImmediateAboveTheCeilingOnly() {
        var b = Bench()
        #expect(b.run(0.5, p: { _ in [150, 0, 0] }).isEmpty)
        let seen = b.run(0.01, p: { _ in [150.1, 0, 0] })
        #expect(seen.contains(.overPressure))
        #expect(b.s.details[AlarmCondition.overPressure.rawValue].chamber == 0)
        #expect(b.s.safeState)
        #expect(b.s.cause == .overPressure)
    }

    @Test func theSafeStateLatchesAndOverridesTheController() {
        var b = Bench()
        b.run(0.01, p: { _ in [151, 0, 0] })
        let out = b.s.check(time: 1, inputs: BootInputs(pressures: ChamberValues([0, 0, 0])), command: TherapyCommand(outputs: inflating(0), setPoints: ChamberValues([45, 0, 0])))
        #expect(out.isVented(chamberCount: 3))
    }

    @Test func overTargetNeedsTheBandAndTheDebounce() {
        var b = Bench()
        // 9 mmHg over target for 3 s: inside the band.
        #expect(!b.run(3, p: { t in [54 + jitter(t), 0, 0] }, out: sealed(), sp: [45]).contains(.overTarget))
        // 11 mmHg over for 0.8 s: outside the band, inside the debounce (limb movement).
        #expect(!b.run(0.8, p: { t in [56 + jitter(t), 0, 0] }, out: sealed(), sp: [45]).contains(.overTarget))
        #expect(!b.run(1, p: { t in [45 + jitter(t), 0, 0] }, out: sealed(), sp: [45]).contains(.overTarget))
        // 11 mmHg over for 1.2 s: alarm.
        #expect(b.run(1.2, p: { t in [56 + jitter(t), 0, 0] }, out: sealed(), sp: [45]).contains(.overTarget))
    }

    @Test func targetNotReachedByTheTimeout() {
        var b = Bench()
        // Rising slowly but within 5 mmHg of 45 by 9 s: fine.
        #expect(!b.run(9.5, p: { t in [min(t * 5, 45), 0, 0] }, out: inflating(0), sp: [45]).contains(.targetNotReached))
        var c = Bench()
        #expect(c.run(10.5, p: { t in [min(t * 2, 30) + jitter(t), 0, 0] }, out: inflating(0), sp: [45]).contains(.targetNotReached))
    }

    @Test func aCompressionEndingUnreachedIsNotReached() {
        var b = Bench()
        b.run(3, p: { t in [20 + jitter(t), 0, 0] }, out: inflating(0), sp: [45])
        #expect(b.run(0.02, p: { t in [20 + jitter(t), 0, 0] }, out: .vented(chamberCount: 3), sp: [0]).contains(.targetNotReached))
        // Shorter than the minimum compression: not judged.
        var c = Bench()
        c.run(0.5, p: { t in [20 + jitter(t), 0, 0] }, out: inflating(0), sp: [45])
        #expect(!c.run(0.02, p: { t in [20 + jitter(t), 0, 0] }, sp: [0]).contains(.targetNotReached))
    }

    /// A pause by the operator ends a compression on purpose: not an undelivered one. The
    /// supervisor keeps every other check (here: venting is still watched).
    @Test func aCompressionAbandonedByAPauseIsNotNotReached() {
        var b = Bench()
        b.run(3, p: { t in [20 + jitter(t), 0, 0] }, out: inflating(0), sp: [45])
        b.s.compressionsAbandoned()
        #expect(!b.run(0.02, p: { t in [20 + jitter(t), 0, 0] }, out: .vented(chamberCount: 3), sp: [0]).contains(.targetNotReached))
        // Still 20 mmHg long after the exhaust opened: vent failure is still raised.
        #expect(b.run(15, p: { t in [20 + jitter(t), 0, 0] }, out: .vented(chamberCount: 3), sp: [0]).contains(.ventFailure))
    }

    @Test func leakIsThePumpCompensatingInHold() {
        /// Holding at 45 with the inlet open `duty` of the time, in 1 s periods.
        func hold(duty: Double, for seconds: Double) -> AlarmSet {
            var b = Bench()
            b.run(1, p: { t in [45 + jitter(t), 0, 0] }, out: sealed(), sp: [45]) // reached, holding
            var seen = AlarmSet()
            var elapsed = 0.0
            while elapsed < seconds {
                seen.formUnion(b.run(duty, p: { t in [45 + jitter(t), 0, 0] }, out: inflating(0), sp: [45]))
                seen.formUnion(b.run(1 - duty, p: { t in [45 + jitter(t), 0, 0] }, out: sealed(), sp: [45]))
                elapsed += 1
            }
            return seen
        }
        #expect(!hold(duty: 0.05, for: 20).contains(.leak))
        #expect(hold(duty: 0.2, for: 5).contains(.leak))
    }

    @Test func riseWithBothValvesClosed() {
        var b = Bench()
        b.run(1, p: { t in [40 + jitter(t), 0, 0] }, out: sealed(), sp: [40])
        // +8 mmHg while sealed: below the 10 mmHg threshold.
        #expect(!b.run(1, p: { t in [48 + jitter(t), 0, 0] }, out: sealed(), sp: [40]).contains(.riseInletClosed))
        // +12 mmHg for 0.5 s: alarm.
        #expect(b.run(0.5, p: { t in [52 + jitter(t), 0, 0] }, out: sealed(), sp: [40]).contains(.riseInletClosed))
    }

    @Test func frequentExhaustTrimsWhileHoldingMeanAirComingIn() {
        var b = Bench()
        b.run(1, p: { t in [40 + jitter(t), 0, 0] }, out: sealed(), sp: [40])
        var trim = BootOutputs(pump: false, inlets: [], exhausts: .chamber(0))
        trim.exhausts.set(1, true)
        var seen = AlarmSet()
        for _ in 0..<9 {
            seen.formUnion(b.run(0.01, p: { t in [41 + jitter(t), 0, 0] }, out: trim, sp: [40]))
            seen.formUnion(b.run(0.2, p: { t in [41 + jitter(t), 0, 0] }, out: sealed(), sp: [40]))
        }
        #expect(!seen.contains(.riseInletClosed)) // 9 trims in 1.9 s
        seen.formUnion(b.run(0.01, p: { t in [41 + jitter(t), 0, 0] }, out: trim, sp: [40]))
        #expect(b.s.present.contains(.riseInletClosed)) // the 10th
    }

    @Test func implausiblyFastRiseIsOcclusion() {
        var b = Bench()
        // 200 mmHg/s: fast but plausible.
        #expect(!b.run(0.5, p: { t in [t * 200, 0, 0] }, out: inflating(0), sp: [140]).contains(.occlusion))
        var c = Bench()
        #expect(c.run(0.3, p: { t in [t * 500, 0, 0] }, out: inflating(0), sp: [140]).contains(.occlusion))
    }

    @Test func pumpOnWithNoRise() {
        var b = Bench()
        #expect(!b.run(1.9, p: { t in [jitter(t), 0, 0] }, out: inflating(0), sp: [45]).contains(.noPressureRise))
        #expect(b.run(0.2, p: { t in [jitter(t), 0, 0] }, out: inflating(0), sp: [45]).contains(.noPressureRise))
        var c = Bench()
        #expect(!c.run(3, p: { t in [t * 3, 0, 0] }, out: inflating(0), sp: [45]).contains(.noPressureRise))
    }

    @Test func sensorOutOfRangeAndInvalid() {
        var b = Bench()
        #expect(b.run(0.01, p: { _ in [-4.9, 0, 0] }).isEmpty)
        #expect(b.run(0.01, p: { _ in [-5.1, 0, 0] }).contains(.sensorFault))
        var c = Bench()
        #expect(c.run(0.01, p: { _ in [10, .nan, 0] }).contains(.sensorFault))
        var d = Bench { $0.ceiling = 350 }
        #expect(d.run(0.01, p: { _ in [300, 0, 0] }).isEmpty)
        #expect(d.run(0.01, p: { _ in [300.1, 0, 0] }).contains(.sensorFault))
    }

    @Test func frozenSensorWhileAirMoves() {
        var b = Bench()
        // Unchanging reading but nothing moving (vented, no set point): not frozen.
        #expect(!b.run(2, p: { _ in [0, 0, 0] }).contains(.sensorFault))
        // Inlet open for 0.15 s with a constant reading: not yet.
        #expect(!b.run(0.15, p: { _ in [20, 0, 0] }, out: inflating(0), sp: [45]).contains(.sensorFault))
        #expect(b.run(0.1, p: { _ in [20, 0, 0] }, out: inflating(0), sp: [45]).contains(.sensorFault))
    }

    @Test func staleReadings() {
        var b = Bench()
        #expect(b.run(0.1, p: { t in [jitter(t), 0, 0] }, age: 0.1).isEmpty)
        #expect(b.run(0.01, p: { t in [jitter(t), 0, 0] }, age: 0.11).contains(.staleReadings))
    }

    @Test func ventFailureWhenPressureStaysWithTheExhaustOpen() {
        var b = Bench()
        // Falling below 10 mmHg within 5 s: fine.
        #expect(!b.run(6, p: { t in [max(40 - t * 10, 0) + jitter(t), 0, 0] }).contains(.ventFailure))
        var c = Bench()
        #expect(!c.run(4.9, p: { t in [40 + jitter(t), 0, 0] }).contains(.ventFailure))
        #expect(c.run(0.2, p: { t in [40 + jitter(t), 0, 0] }).contains(.ventFailure))
    }

    @Test func reverseGradientOnlyWhenBothCompressAndPastBandAndDebounce() {
        var b = Bench()
        // Calf 4 mmHg above ankle: inside the band.
        #expect(!b.run(2, p: { t in [36 + jitter(t), 40 + jitter(t), 0] }, out: sealed(), sp: [45, 40]).contains(.reverseGradient))
        // Calf 8 above ankle for 0.4 s: inside the debounce.
        #expect(!b.run(0.4, p: { t in [32 + jitter(t), 40 + jitter(t), 0] }, out: sealed(), sp: [45, 40]).contains(.reverseGradient))
        #expect(b.run(0.3, p: { t in [32 + jitter(t), 40 + jitter(t), 0] }, out: sealed(), sp: [45, 40]).contains(.reverseGradient))
        // The ankle released (distal release): not a compression gradient.
        var c = Bench()
        #expect(!c.run(2, p: { t in [2 + jitter(t), 40 + jitter(t), 0] }, out: sealed(), sp: [0, 40]).contains(.reverseGradient))
    }

    @Test func aBoostZoneMayStandAboveItsNeighbourByItsPrescriptionUpToTheAllowance() {
        // Calf prescribed 50 over an ankle at 45 (a +5 boost in the hold): 8 mmHg above is inside
        // band + prescribed excess (5 + 5).
        var b = Bench()
        #expect(!b.run(2, p: { t in [45 + jitter(t), 53 + jitter(t), 0] }, out: sealed(), sp: [45, 50]).contains(.reverseGradient))
        // 12 mmHg above is past it.
        #expect(b.run(1, p: { t in [45 + jitter(t), 57 + jitter(t), 0] }, out: sealed(), sp: [45, 50]).contains(.reverseGradient))
        // A prescription 30 mmHg above the neighbour earns no more than the 10 mmHg allowance:
        // 16 above (band 5 + 10 = 15) is a reverse gradient whatever the controller asked for.
        var c = Bench()
        #expect(c.run(1, p: { t in [45 + jitter(t), 61 + jitter(t), 0] }, out: sealed(), sp: [45, 75]).contains(.reverseGradient))
    }

    @Test func anotherLimbsInletsOnTheSamePumpShareItsAir() {
        // Topping up 10 % of the time: a leak when this limb has the pump to itself, not when the
        // other limb keeps three inlets open on the same pump (a quarter of the air comes here).
        var top = inflating(1)
        top.exhausts = [.chamber(0), .chamber(2)]
        var alone = Bench(), shared = Bench()
        _ = alone.run(0.5, p: { t in [45 + jitter(t), 40 + jitter(t), 0] }, out: sealed(), sp: [45, 40])
        _ = shared.run(0.5, p: { t in [45 + jitter(t), 40 + jitter(t), 0] }, out: sealed(), sp: [45, 40])
        var leakAlone = false, leakShared = false
        for k in 0..<1000 {
            let o = k % 10 == 0 ? top : sealed()
            let inputs = BootInputs(pressures: ChamberValues([45 + jitter(alone.t), 40 + jitter(alone.t), 0]), age: 0.005)
            let cmd = TherapyCommand(outputs: o, setPoints: ChamberValues([45, 40]))
            _ = alone.s.check(time: alone.t, inputs: inputs, command: cmd)
            _ = shared.s.check(time: shared.t, inputs: inputs, command: cmd, sharedInlets: 3)
            leakAlone = leakAlone || alone.s.present.contains(.leak)
            leakShared = leakShared || shared.s.present.contains(.leak)
            alone.t += 0.01
            shared.t += 0.01
        }
        #expect(leakAlone)
        #expect(!leakShared)
    }

    @Test func sustainedPressure() {
        var b = Bench { $0.maxCompression = 20 }
        #expect(!b.run(19.9, p: { t in [45 + jitter(t), 0, 0] }, out: sealed(), sp: [45]).contains(.sustainedPressure))
        #expect(b.run(0.3, p: { t in [45 + jitter(t), 0, 0] }, out: sealed(), sp: [45]).contains(.sustainedPressure))
    }

    @Test func emergencyStop() {
        var b = Bench()
        #expect(b.run(0.01, p: { _ in [0, 0, 0] }, estop: false).isEmpty)
        #expect(b.run(0.01, p: { _ in [0, 0, 0] }, estop: true).contains(.emergencyStop))
        #expect(b.s.safeState)
    }

    @Test func loopOverrunAlarmsWithoutVenting() {
        var b = Bench()
        #expect(b.run(0.1, p: { t in [jitter(t), 0, 0] }, lateness: 0.033).isEmpty)
        #expect(b.run(0.01, p: { t in [jitter(t), 0, 0] }, lateness: 0.034).contains(.loopOverrun))
        #expect(AlarmCondition.loopOverrun.policy.priority == .medium && !AlarmCondition.loopOverrun.policy.latching)
        #expect(!b.s.safeState)
    }

    /// docs/safety.md, "Loop lateness": a tick late by less than a period is nothing; a few
    /// whole periods late are nothing either; 1 % of ticks missing their period over the
    /// averaging time is a low alarm that clears at half that share, and never vents.
    @Test func ticksThatKeepMissingTheirPeriodAreALowAlarm() {
        var b = Bench()
        #expect(b.run(60, p: { t in [jitter(t), 0, 0] }, lateness: 0.0099).isEmpty)
        // Ten missed periods in a row: just under 1 % (a moving average over ten seconds).
        #expect(b.run(0.1, p: { t in [jitter(t), 0, 0] }, lateness: 0.015).isEmpty)
        // The eleventh: past 1 %.
        let late = b.run(0.05, p: { t in [jitter(t), 0, 0] }, lateness: 0.015)
        #expect(late == AlarmSet(.loopLate))
        #expect(b.s.details[AlarmCondition.loopLate.rawValue].value > 0.01)
        #expect(AlarmCondition.loopLate.policy.priority == .low && AlarmCondition.loopLate.policy.reaction == .alarmOnly)
        // On time again: present until the share has decayed below half the limit (about 10 s).
        #expect(b.run(5, p: { t in [jitter(t), 0, 0] }).contains(.loopLate))
        b.run(6, p: { t in [jitter(t), 0, 0] })
        #expect(b.s.present.isEmpty)
        #expect(!b.s.safeState)
    }

    @Test func aStallPastTheStaleReadingsLimitVentsAndLatches() {
        var b = Bench()
        let late = b.run(0.01, p: { t in [jitter(t), 0, 0] }, lateness: 0.1)
        #expect(late == AlarmSet(.loopOverrun))
        #expect(!b.s.safeState)
        let stalled = b.run(0.01, p: { t in [jitter(t), 0, 0] }, lateness: 0.101)
        #expect(stalled.contains(.loopStall))
        #expect(b.s.safeState && b.s.cause == .loopStall)
        #expect(AlarmCondition.loopStall.policy.priority == .high && AlarmCondition.loopStall.policy.latching)
        // On time again, the safe state stays.
        b.run(0.1, p: { t in [jitter(t), 0, 0] }, out: inflating(0), sp: [40, 0, 0])
        #expect(b.s.safeState)
    }

    @Test func chambersBeyondTheBootAreIgnored() {
        var b = Bench(chambers: 2)
        #expect(b.run(0.1, p: { t in [jitter(t), jitter(t), 999] }).isEmpty)
    }

    @Test func everyVentReactionForcesTheSafeState() {
        // The policy table: high priority always vents.
        for c in AlarmCondition.allCases where c.policy.priority == .high {
            #expect(c.policy.reaction == .vent, "\(c)")
        }
        #expect(AlarmCondition(id: "over-pressure") == .overPressure)
        #expect(Set(AlarmCondition.allCases.map(\.description)).count == AlarmCondition.allCases.count)
    }
}

@Suite struct AlarmManagerTests {
    func details() -> [AlarmDetail] { Array(repeating: AlarmDetail(), count: AlarmCondition.allCases.count) }

    @Test func raiseClearLatchAcknowledgeReset() {
        var m = AlarmManager()
        var tr: [AlarmManager.Transition] = []
        m.update(time: 1, present: [AlarmSet(.leak), AlarmSet(.overPressure)], details: details(), transitions: &tr)
        #expect(tr.count == 2)
        #expect(m.highest?.condition == .overPressure)
        #expect(m.audible(at: 1))
        tr = []
        m.update(time: 2, present: [], details: details(), transitions: &tr)
        // The leak (non-latching) clears; the over-pressure (latching) stays until reset.
        #expect(tr.contains(.conditionEnded(.leak, latched: false)))
        #expect(tr.contains(.conditionEnded(.overPressure, latched: true)))
        #expect(m.current.map(\.condition) == [.overPressure])
        #expect(m.current.first?.active == false)
        #expect(m.acknowledge() == [.overPressure])
        #expect(!m.audible(at: 2))
        #expect(m.reset() == [.overPressure])
        #expect(m.current.isEmpty)
    }

    @Test func resetKeepsActiveAlarms() {
        var m = AlarmManager()
        var tr: [AlarmManager.Transition] = []
        m.update(time: 1, present: AlarmSet(.overPressure), details: details(), transitions: &tr)
        #expect(m.reset().isEmpty)
        #expect(m.highest?.condition == .overPressure)
    }

    @Test func aReturningConditionSoundsAgain() {
        var m = AlarmManager()
        var tr: [AlarmManager.Transition] = []
        m.update(time: 1, present: AlarmSet(.leak), details: details(), transitions: &tr)
        _ = m.acknowledge()
        #expect(!m.audible(at: 1))
        m.update(time: 2, present: [], details: details(), transitions: &tr)
        m.update(time: 3, present: AlarmSet(.leak), details: details(), transitions: &tr)
        #expect(m.audible(at: 3))
        #expect(m.highest?.raisedAt == 3)
    }

    @Test func audioPauseLastsTwoMinutes() {
        var m = AlarmManager()
        var tr: [AlarmManager.Transition] = []
        m.update(time: 0, present: AlarmSet(.leak), details: details(), transitions: &tr)
        m.pauseAudio(at: 10)
        #expect(!m.audible(at: 129))
        #expect(m.audible(at: 130))
    }

    @Test func highestIsByPriorityThenAge() {
        var m = AlarmManager()
        var tr: [AlarmManager.Transition] = []
        m.update(time: 1, present: AlarmSet(.leak), details: details(), transitions: &tr)
        m.update(time: 2, present: [AlarmSet(.leak), AlarmSet(.loopOverrun)], details: details(), transitions: &tr)
        #expect(m.highest?.condition == .leak) // both medium: the older
        m.update(time: 3, present: [AlarmSet(.leak), AlarmSet(.loopOverrun), AlarmSet(.emergencyStop)], details: details(), transitions: &tr)
        #expect(m.highest?.condition == .emergencyStop)
    }
}
