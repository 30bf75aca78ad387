import SoleusCore

/// Predicts, from a profile's pump and garment model (the same physics as ``BootPhysics``, without
/// noise), how long each inflation and deflation of a plan takes, and finds timing the garment
/// cannot meet: a squeeze shorter than the chamber's fill time, a required rise time (`rise_s`)
/// the pump cannot give, a chamber asked to inflate again before it has vented. Each finding names
/// the step, the time needed and the time given (`docs/protocols.md`, "Feasibility").
///
/// The prediction is deliberately simple and stated: a chamber fills from 0 mmHg with its share of
/// its drive's pump, shared equally with every other step on that drive whose predicted fill is
/// still running when it starts (steps with a fixed inflate time, on every limb the plan runs on),
/// plus the actuator delay, the sensor latency and half the controller's estimator window. Steps
/// whose timing follows pressure events wait for them by construction, and need no check.
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
        let times = FixedTimes(cycle)
        var findings: [Finding] = []
        guard let firstRun = plan.limbs.first else { return [] }
        let limb = boot.limbs[firstRun.limb]
        let period: Double? = if case .period(let p) = cycle.pacing { p } else { nil }
        // First each fixed-time fill as if alone on the pump, over every limb the plan runs on
        // (shifted by their offsets); then each fill again, sharing the pump with every other
        // fill on its drive that overlaps it (conservatively, for its whole length).
        struct Fill { var step: Int; var start: Double; var end: Double; var drive: Int }
        var alone: [Fill] = []
        for (i, s) in cycle.steps.enumerated() {
            guard let start = times.inflate[i] else { continue }
            let index = limb.firstChamber + s.chamber
            guard index < parameters.chambers.count else { continue }
            let fill = fillSeconds(parameters.chambers[index], to: s.target.mmHg - regulator.reachTolerance, share: 1, parameters: parameters) ?? 600
            for run in plan.limbs {
                let t = start + run.offsetSeconds - firstRun.offsetSeconds
                alone.append(Fill(step: i, start: t, end: t + fill + lag, drive: parameters.drive(of: boot.limbs[run.limb].firstChamber + s.chamber)))
            }
        }
        for (i, s) in cycle.steps.enumerated() {
            guard let start = times.inflate[i] else { continue }
            let index = limb.firstChamber + s.chamber
            guard index < parameters.chambers.count,
                  let mine = alone.first(where: { $0.step == i && abs($0.start - start) < 1e-9 }) else { continue }
            let chamber = parameters.chambers[index]
            let others = alone.filter { f in
                f.drive == mine.drive && !(f.step == i && abs(f.start - start) < 1e-9)
                    && (overlaps(f.start, f.end, mine.start, period) || overlaps(mine.start, mine.end, f.start, period))
            }
            let sharers = 1 + others.count
            let target = s.target.mmHg - regulator.reachTolerance
            guard let fill = fillSeconds(chamber, to: target, share: 1 / Double(sharers), parameters: parameters) else {
                findings.append(Finding(keyPath: s.keyPath, message: "\(s.id) cannot reach \(formatMMHg(s.target.mmHg)) mmHg on this garment: its pump and leak level off below it (pump stall \(formatMMHg(parameters.pumpStall)) mmHg\(sharers > 1 ? ", shared by \(sharers) inlets" : ""))", isError: true))
                continue
            }
            let needed = fill + lag
            let shared = sharers > 1 ? " with the pump shared by \(sharers) inlets" : ""
            if let rise = s.riseSeconds {
                findings += judge(needed, given: rise, keyPath: "\(s.keyPath).rise_s",
                                  what: "\(s.id) needs \(formatFixed(needed, decimals: 2)) s to reach \(formatMMHg(s.target.mmHg)) mmHg\(shared)", given: "its required rise time (rise_s) is \(formatFixed(rise, decimals: 2)) s")
            }
            if let release = times.release[i] {
                let squeeze = release - start
                findings += judge(max(needed, s.rampSeconds + lag), given: squeeze, keyPath: "\(s.keyPath).release",
                                  what: "\(s.id) needs \(formatFixed(needed, decimals: 2)) s to fill to \(formatMMHg(s.target.mmHg)) mmHg\(shared)",
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
            let vent = ventSeconds(parameters.chambers[index], from: from, to: ventedBelow, parameters: parameters) + parameters.actuatorDelay
            findings += judge(vent, given: next - release, keyPath: "\(s.keyPath).release",
                              what: "\(s.id) needs \(formatFixed(vent, decimals: 2)) s to vent from \(formatMMHg(from)) to \(formatMMHg(ventedBelow)) mmHg",
                              given: "it inflates again \(formatFixed(next - release, decimals: 2)) s after it releases")
        }
        return findings
    }

    static func judge(_ needed: Double, given: Double, keyPath: String, what: String, given text: String) -> [Finding] {
        if needed > given { return [Finding(keyPath: keyPath, message: "\(what), but \(text): the garment cannot meet this timing", isError: true)] }
        if needed > thinMargin * given { return [Finding(keyPath: keyPath, message: "\(what) and \(text): under \(Int((1 - thinMargin) * 100)) % to spare", isError: false)] }
        return []
    }

    /// True when a window [a, b) contains time t, or t one period later/earlier (cycles repeat).
    static func overlaps(_ a: Double, _ b: Double, _ t: Double, _ period: Double?) -> Bool {
        if t >= a - 1e-9 && t < b { return true }
        guard let period else { return false }
        return (t + period >= a - 1e-9 && t + period < b) || (t - period >= a - 1e-9 && t - period < b)
    }

    /// Seconds to fill `chamber` from 0 to `target` mmHg with `share` of the pump; nil if the pump
    /// and the leak level off below the target.
    public static func fillSeconds(_ chamber: BootParameters.Chamber, to target: Double, share: Double, parameters p: BootParameters) -> Double? {
        let h = 0.001
        var air = chamber.volumeL
        var t = 0.0
        var pressure = 0.0
        while pressure < target {
            let q = BootPhysics.inletFlow(p, share: p.pumpMaxFlow * share, chamberPressure: pressure)
                - chamber.leak * BootPhysics.orificeLawValue(pressure)
            if q <= 1e-9 || t > 600 { return nil }
            air += q * h
            t += h
            pressure = BootPhysics.pressure(air: air, chamber: chamber)
        }
        return t
    }

    /// Seconds to vent `chamber` from `from` to `to` mmHg through its open exhaust (and leak).
    public static func ventSeconds(_ chamber: BootParameters.Chamber, from: Double, to: Double, parameters p: BootParameters) -> Double {
        guard from > to else { return 0 }
        let h = 0.001
        // Air at `from`: invert the pressure law by stepping (monotonic).
        var air = chamber.volumeL
        while BootPhysics.pressure(air: air, chamber: chamber) < from { air += 0.0005 }
        var t = 0.0
        var pressure = from
        while pressure > to && t < 600 {
            air -= (p.exhaustOrifice + chamber.leak) * BootPhysics.orificeLawValue(pressure) * h
            t += h
            pressure = BootPhysics.pressure(air: air, chamber: chamber)
        }
        return t
    }
}

/// Times after cycle start of the inflates and releases that depend on the clock only.
struct FixedTimes {
    var inflate: [Double?]
    var release: [Double?]

    init(_ cycle: CyclePlan) {
        let n = cycle.steps.count
        var inflate = [Double?](repeating: nil, count: n), release = [Double?](repeating: nil, count: n)
        var known = [Bool](repeating: false, count: 2 * n)
        // A validated plan has no trigger loops: resolve by passes until nothing changes.
        var changed = true
        while changed {
            changed = false
            for (i, s) in cycle.steps.enumerated() {
                for (slot, trigger) in [(i, s.inflate), (n + i, s.release)] where !known[slot] {
                    let base: Double?? = switch trigger.event {
                    case .cycleStart: .some(0)
                    case .inflated(let j): known[j] ? .some(inflate[j]) : nil
                    case .released(let j): known[n + j] ? .some(release[j]) : nil
                    case .reached, .allReached: .some(nil)
                    }
                    guard let resolved = base else { continue }
                    let value = resolved.map { $0 + trigger.delay }
                    if slot < n { inflate[i] = value } else { release[i] = value }
                    known[slot] = true
                    changed = true
                }
            }
        }
        self.inflate = inflate
        self.release = release
    }
}
