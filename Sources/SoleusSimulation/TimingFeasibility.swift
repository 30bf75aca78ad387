import SoleusCore

/// Predicts, from a profile's pump and garment model (the same physics as ``BootPhysics``, without
/// noise), how long each inflation and deflation of a plan takes, and finds timing the garment
/// cannot meet: a squeeze shorter than the chamber's fill time, a required rise time (`rise_s`)
/// the pump cannot give, a chamber asked to inflate again before it has vented. Each finding names
/// the step, the time needed and the time given (`docs/protocols.md`, "Feasibility").
///
/// The prediction is deliberately simple and stated: every fixed-time fill of a cycle (on every
/// limb the plan runs on) fills from 0 mmHg at the same time in the model, each drive's pump shared
/// equally, at each moment, by the fills on it still under way; plus the actuator delay, the
/// sensor latency and half the controller's estimator window. Hold top-ups and the controller's
/// early cut-off are not modelled. Steps whose timing follows pressure events wait for them by
/// construction, and need no check.
public enum TimingFeasibility {
    /// One finding: an error (the timing cannot be met) or a warning (met with under 25 % spare).
    public struct Finding: Sendable, Equatable, CustomStringConvertible {
        public var keyPath: String
        public var message: String
        public var isError: Bool
        public var description: String { "\(keyPath): \(isError ? "" : "warning: ")\(message)" }
    }

    /// The share of the time given that the time needed may use before a warning.
    public static let thinMargin = 0.8

    /// Checks every cycle of `plan` on the garment `parameters` describes.
    public static func check(
        _ plan: TreatmentPlan, boot: BootDescription, parameters: BootParameters, regulator: RegulatorSettings
    ) -> [Finding] {
        var findings: [Finding] = []
        let lag = parameters.actuatorDelay + parameters.sensorLatency + Double(PressureEstimator.window) / 2 * regulator.tickSeconds
        for cycle in plan.allCycles {
            findings += check(cycle, plan: plan, boot: boot, parameters: parameters, regulator: regulator, lag: lag)
        }
        return findings
    }

    static func check(
        _ cycle: CyclePlan, plan: TreatmentPlan, boot: BootDescription, parameters: BootParameters,
        regulator: RegulatorSettings, lag: Double
    ) -> [Finding] {
        let times = FixedTimes(inflate: cycle.fixedInflate, release: cycle.fixedRelease, count: cycle.steps.count)
        var findings: [Finding] = []
        guard let firstRun = plan.limbs.first else { return [] }
        let limb = boot.limbs[firstRun.limb]
        let period: Double? = if case .period(let p) = cycle.pacing { p } else { nil }
        // Every fixed-time fill of the cycle, on every limb the plan runs on (shifted by their
        // offsets), filled together in time: at each moment a drive's pump is shared equally by
        // the fills on it that have started and not yet reached their targets.
        var fills: [SharedFill] = []
        for (i, s) in cycle.steps.enumerated() {
            guard let start = times.inflate[i] else { continue }
            for run in plan.limbs {
                let index = boot.limbs[run.limb].firstChamber + s.chamber
                guard index < parameters.chambers.count else { continue }
                fills.append(SharedFill(step: i, chamber: index, start: start + run.offsetSeconds - firstRun.offsetSeconds,
                                        target: s.target.mmHg - regulator.reachTolerance, drive: parameters.drive(of: index)))
            }
        }
        // Beyond a quarter more than the longest time any step is given, the exact fill time no
        // longer changes the verdict: stop there (a garment that cannot fill never hangs this).
        var horizon = 1.0
        for (i, s) in cycle.steps.enumerated() {
            if let a = times.inflate[i], let b = times.release[i] { horizon = max(horizon, b - a) }
            if let r = s.riseSeconds { horizon = max(horizon, r) }
        }
        fillTogether(&fills, parameters: parameters, for: 1.25 * horizon + 1)
        for (i, s) in cycle.steps.enumerated() {
            guard let start = times.inflate[i],
                  let mine = fills.first(where: { $0.step == i && abs($0.start - start) < 1e-9 }) else { continue }
            let sharers = mine.mostSharers
            guard s.target.mmHg < parameters.pumpStall, let fill = mine.seconds ?? mine.unfinishedAfter else {
                findings.append(Finding(keyPath: s.keyPath, message: "\(s.id) cannot reach \(formatMMHg(s.target.mmHg)) mmHg on this garment: its pump and leak level off below it (pump stall \(formatMMHg(parameters.pumpStall)) mmHg\(sharers > 1 ? ", shared by up to \(sharers) inlets" : ""))", isError: true))
                continue
            }
            let more = mine.seconds == nil ? "more than " : ""
            let needed = fill + lag
            let shared = sharers > 1 ? " with the pump shared by up to \(sharers) inlets" : ""
            if let rise = s.riseSeconds {
                findings += judge(needed, given: rise, keyPath: "\(s.keyPath).rise_s",
                                  what: "\(s.id) needs \(more)\(formatFixed(needed, decimals: 2)) s to reach \(formatMMHg(s.target.mmHg)) mmHg\(shared)", given: "its required rise time (rise_s) is \(formatFixed(rise, decimals: 2)) s")
            }
            if let release = times.release[i] {
                let squeeze = release - start
                findings += judge(max(needed, s.rampSeconds + lag), given: squeeze, keyPath: "\(s.keyPath).release",
                                  what: "\(s.id) needs \(more)\(formatFixed(needed, decimals: 2)) s to fill to \(formatMMHg(s.target.mmHg)) mmHg\(shared)",
                                  given: "its squeeze gives it \(formatFixed(squeeze, decimals: 2)) s (inflate at \(formatFixed(start, decimals: 2)) s, release at \(formatFixed(release, decimals: 2)) s)")
            }
        }
        findings += checkDeflations(cycle, times: times, limb: limb, parameters: parameters, period: period, ventedBelow: boot.limits.ventedBelow.mmHg)
        return findings
    }

    /// Each fixed release against the same chamber's next fixed inflate (later in the cycle, or in
    /// the next cycle of a fixed period): the chamber must vent from its pressure to the vented
    /// threshold in between, or the next squeeze starts on a full chamber and the limb never refills.
    static func checkDeflations(
        _ cycle: CyclePlan, times: FixedTimes, limb: LimbDescription, parameters: BootParameters, period: Double?, ventedBelow: Double
    ) -> [Finding] {
        var findings: [Finding] = []
        for (i, s) in cycle.steps.enumerated() {
            guard let release = times.release[i] else { continue }
            let same = cycle.steps.indices.filter { cycle.steps[$0].chamber == s.chamber }
            var next: Double?
            if let later = same.first(where: { $0 > i }) {
                next = times.inflate[later]
            } else if let period, let first = same.first, let t = times.inflate[first] {
                next = period + t
            }
            guard let next, next > release else { continue }
            let index = limb.firstChamber + s.chamber
            guard index < parameters.chambers.count else { continue }
            let from = (s.holdPressure ?? s.target).mmHg + s.boost.mmHg
            let vent = ventSeconds(parameters.chambers[index], from: from, to: ventedBelow, parameters: parameters, within: 1.25 * (next - release) + 1) + parameters.actuatorDelay
            findings += judge(vent, given: next - release, keyPath: "\(s.keyPath).release",
                              what: "\(s.id) needs \(formatFixed(vent, decimals: 2)) s to vent from \(formatMMHg(from)) to \(formatMMHg(ventedBelow)) mmHg",
                              given: "it inflates again \(formatFixed(next - release, decimals: 2)) s after it releases")
        }
        return findings
    }

    static func judge(_ needed: Double, given: Double, keyPath: String, what: String, given text: String) -> [Finding] {
        if needed > given { return [Finding(keyPath: keyPath, message: "\(what), but \(text): the garment cannot meet this timing", isError: true)] }
        if needed > thinMargin * given { return [Finding(keyPath: keyPath, message: "\(what) and \(text): under \(Int(((1 - thinMargin) * 100).rounded())) % to spare", isError: false)] }
        return []
    }

    /// True when a window [a, b) contains time t, or t one period later/earlier (cycles repeat).
    static func overlaps(_ a: Double, _ b: Double, _ t: Double, _ period: Double?) -> Bool {
        if t >= a - 1e-9 && t < b { return true }
        guard let period else { return false }
        return (t + period >= a - 1e-9 && t + period < b) || (t - period >= a - 1e-9 && t - period < b)
    }

    /// One fill in ``fillTogether(_:parameters:for:)``: inputs, and what it found.
    struct SharedFill {
        var step: Int
        var chamber: Int
        var start: Double
        var target: Double
        var drive: Int
        /// Seconds from start to target, if it got there.
        var seconds: Double?
        /// Still filling when the model stopped, this long after its start: it needs more.
        var unfinishedAfter: Double?
        /// The most fills that shared its pump at one moment, itself included.
        var mostSharers = 1
    }

    /// Fills every chamber of `fills` from 0 mmHg in 1 ms steps for at most `seconds`, each drive's
    /// pump shared equally by its fills under way, and records how long each took. A fill whose
    /// pump and leak level off below its target stops with neither a time nor `unfinishedAfter`.
    static func fillTogether(_ fills: inout [SharedFill], parameters p: BootParameters, for seconds: Double) {
        let h = 0.001
        var air = fills.map { p.chambers[$0.chamber].volumeL }
        var pressure = fills.map { _ in 0.0 }
        var done = fills.map { _ in false }
        let first = fills.map(\.start).min() ?? 0
        let end = (fills.map(\.start).max() ?? 0) + min(seconds, 600)
        var t = first
        while done.contains(false) && t < end {
            var active = InlineArray<8, Int>(repeating: 0)
            for k in fills.indices where !done[k] && t >= fills[k].start { active[fills[k].drive & 7] += 1 }
            for k in fills.indices where !done[k] && t >= fills[k].start {
                let sharers = max(active[fills[k].drive & 7], 1)
                fills[k].mostSharers = max(fills[k].mostSharers, sharers)
                var c = p.chambers[fills[k].chamber]
                // The blood the limb gives up as the pressure rises leaves room that needs air too
                // (taken as gone at once: the prediction errs on the slow side).
                if let limb = p.limb { c.volumeL += limb.pushedOutML(segment: fills[k].chamber, at: pressure[k]) / 1000 }
                let q = BootPhysics.inletFlow(p, share: p.pumpMaxFlow / Double(sharers), chamberPressure: pressure[k])
                    - c.leak * BootPhysics.orificeLawValue(pressure[k])
                // Alone on the pump and still gaining nothing: it levels off below its target.
                if q <= 1e-9 && sharers == 1 {
                    done[k] = true
                    continue
                }
                air[k] += max(q, 0) * h
                pressure[k] = BootPhysics.pressure(air: air[k], chamber: c)
                if pressure[k] >= fills[k].target {
                    done[k] = true
                    fills[k].seconds = t + h - fills[k].start
                }
            }
            t += h
        }
        for k in fills.indices where !done[k] { fills[k].unfinishedAfter = end - fills[k].start }
    }

    /// Seconds to vent `chamber` from `from` to `to` mmHg through its open exhaust (and leak),
    /// modelled for at most `limit` seconds (it returns the limit if venting takes longer).
    public static func ventSeconds(_ chamber: BootParameters.Chamber, from: Double, to: Double, parameters p: BootParameters, within limit: Double = 600) -> Double {
        guard from > to else { return 0 }
        let h = 0.001
        // Air at `from`: invert the (monotonic) pressure law by bisection.
        var low = chamber.volumeL, high = chamber.volumeL + 1
        while BootPhysics.pressure(air: high, chamber: chamber) < from && high < 1e6 { high *= 2 }
        for _ in 0..<60 {
            let mid = (low + high) / 2
            if BootPhysics.pressure(air: mid, chamber: chamber) < from { low = mid } else { high = mid }
        }
        var air = high
        var t = 0.0
        var pressure = from
        while pressure > to && t < min(limit, 600) {
            air -= (p.exhaustOrifice + chamber.leak) * BootPhysics.orificeLawValue(pressure) * h
            t += h
            pressure = BootPhysics.pressure(air: air, chamber: chamber)
        }
        return t
    }
}

/// The validator's fixed times of a cycle's steps, padded to the step count (a plan whose steps
/// were edited after validation has none for the new ones: they are not checked).
struct FixedTimes {
    var inflate: [Double?]
    var release: [Double?]

    init(inflate: [Double?], release: [Double?], count: Int) {
        self.inflate = Array((inflate + [Double?](repeating: nil, count: count)).prefix(count))
        self.release = Array((release + [Double?](repeating: nil, count: count)).prefix(count))
    }
}
