/// One problem found in a protocol: where (the TOML key path, e.g. `cycle.chamber[1].target_mmHg`)
/// and what.
public struct ProtocolIssue: Sendable, Equatable, CustomStringConvertible {
    /// Dotted key path into the protocol file; array entries are 0-based (`cycle.chamber[0]`).
    public var keyPath: String
    public var message: String

    public init(_ keyPath: String, _ message: String) {
        self.keyPath = keyPath
        self.message = message
    }

    public var description: String { "\(keyPath): \(message)" }
}

/// A protocol that cannot run on a boot, with every problem found (not just the first).
public struct ProtocolValidationError: Error, Sendable, Equatable, CustomStringConvertible {
    public var issues: [ProtocolIssue]
    public init(issues: [ProtocolIssue]) { self.issues = issues }
    public var description: String { issues.map(\.description).joined(separator: "\n") }
}

/// Checks a ``TreatmentProtocol`` against a boot's chambers and limits and resolves it into a
/// ``TreatmentPlan``. Pure: no files, no clocks.
///
/// The rules and their reasons are listed in `docs/protocols.md`.
public enum ProtocolValidator {
    /// Validates `proto` for `boot`; `level` overrides the protocol's intensity level, and `limb`
    /// names the limb a single-limb protocol runs on (required on a boot of several limbs).
    public static func plan(
        _ proto: TreatmentProtocol, for boot: BootDescription, level: Int? = nil, limb: String? = nil
    ) throws(ProtocolValidationError) -> TreatmentPlan {
        var issues: [ProtocolIssue] = []
        let runs = limbRuns(proto, boot: boot, limb: limb, issues: &issues)
        // The protocol is checked against one limb's garment; the other limbs run must be the same.
        let first = runs.first.map { boot.limbs[$0.limb] } ?? boot.limbs[0]
        var v = Run(proto: proto, boot: boot.view(of: first))
        let plan = v.run(levelOverride: level)
        issues += v.issues
        if var p = plan, issues.isEmpty {
            p.limbs = runs
            return p
        }
        throw ProtocolValidationError(issues: issues)
    }

    /// Which limbs run the protocol, and when each starts.
    static func limbRuns(_ proto: TreatmentProtocol, boot: BootDescription, limb: String?, issues: inout [ProtocolIssue]) -> [LimbRun] {
        let names = boot.limbs.map(\.name)
        let list = names.map { "\"\($0)\"" }.joined(separator: ", ")
        switch proto.limbs {
        case .single:
            if let limb {
                guard let i = names.firstIndex(of: limb) else {
                    issues.append(ProtocolIssue("limb (from --limb)", boot.limbs.count == 1 ? "this boot has one limb and no limb names; leave --limb out" : "the boot has no limb \"\(limb)\" (it has \(list))"))
                    return []
                }
                return [LimbRun(limb: i, offsetSeconds: 0)]
            }
            if boot.limbs.count > 1 {
                issues.append(ProtocolIssue("protocol.limbs", "this boot has \(boot.limbs.count) limbs (\(list)) and the protocol runs on one: choose it (soleus run --limb NAME), or set protocol.limbs = \"together\" or \"alternating\""))
                return []
            }
            return [LimbRun(limb: 0, offsetSeconds: 0)]
        case .together, .alternating:
            let mode = proto.limbs == .together ? "together" : "alternating"
            if boot.limbs.count < 2 {
                issues.append(ProtocolIssue("protocol.limbs", "\"\(mode)\" needs a boot of two limbs; this one has one"))
                return []
            }
            if limb != nil {
                issues.append(ProtocolIssue("limb (from --limb)", "the protocol runs on every limb (protocol.limbs = \"\(mode)\"); --limb only chooses the limb of a single-limb protocol"))
            }
            for l in boot.limbs.dropFirst() where l.chambers != boot.limbs[0].chambers {
                issues.append(ProtocolIssue("protocol.limbs", "limbs \"\(boot.limbs[0].name)\" (\(boot.limbs[0].chambers.joined(separator: ", "))) and \"\(l.name)\" (\(l.chambers.joined(separator: ", "))) have different garments; a protocol runs on several limbs only when their chambers are the same"))
            }
            var offset = 0.0
            if case .alternating(let given) = proto.limbs {
                if let given {
                    if !(given >= 0) || !given.isFinite { issues.append(ProtocolIssue("protocol.alternate_offset_s", "must be 0 or more seconds, got \(given)")) }
                    offset = given
                } else if case .period(let p) = proto.cycle.pacing {
                    offset = p / Double(boot.limbs.count)
                } else {
                    issues.append(ProtocolIssue("protocol.alternate_offset_s", "is required when the cycle is paced by rest_s: how long after one limb's cycle starts the next limb's starts"))
                }
            }
            return boot.limbs.indices.map { LimbRun(limb: $0, offsetSeconds: Double($0) * offset) }
        }
    }
}

extension ProtocolValidator {
    fileprivate struct Run {
        let proto: TreatmentProtocol
        let boot: BootDescription
        var issues: [ProtocolIssue] = []
        /// Protocol chamber name → boot index.
        var bootIndex: [String: Int] = [:]
        var levelPressure: Pressure?

        init(proto: TreatmentProtocol, boot: BootDescription) {
            self.proto = proto
            self.boot = boot
        }

        mutating func issue(_ path: String, _ message: String) { issues.append(ProtocolIssue(path, message)) }

        mutating func run(levelOverride: Int?) -> TreatmentPlan? {
            checkChambers()
            checkIntensity(levelOverride: levelOverride)
            checkLength()
            checkBuildUp()
            let prefix = proto.prefix.map { cyclePlan($0, key: "prefix", requireSteps: false) }
            if proto.phases.isEmpty { issue("cycle", "the protocol has no [cycle] and no [[phase]]; give one") }
            var phases: [PhasePlan] = []
            for (i, phase) in proto.phases.enumerated() {
                let key = Self.phaseKey(proto, i)
                if phase.repeatCount < 1 { issue("\(key).repeat", "must be at least 1, got \(phase.repeatCount)") }
                if let c = cyclePlan(phase.cycle, key: key, requireSteps: true) {
                    phases.append(PhasePlan(name: phase.name, repeatCount: phase.repeatCount, cycle: c))
                }
            }
            let suffix = proto.suffix.map { cyclePlan($0, key: "suffix", requireSteps: false) }
            let refill = checkRefill()
            guard issues.isEmpty, !phases.isEmpty else { return nil }
            checkTotalLength(prefix: prefix ?? nil, suffix: suffix ?? nil)
            guard issues.isEmpty else { return nil }
            var plan = TreatmentPlan(
                name: proto.name, bootChambers: boot.chambers, length: proto.length,
                prefix: prefix ?? nil, phases: phases, suffix: suffix ?? nil, buildUp: proto.buildUp,
                level: proto.intensity.map { levelOverride ?? $0.level }, maxCompressionSeconds: maxCompression)
            plan.refill = refill
            return plan
        }

        /// The `[refill]` table: one main cycle paced by a fixed rest within the bounds, a sensing
        /// chamber that the cycle compresses, a sensing pressure the supervisor reads as vented.
        mutating func checkRefill() -> RefillPlan? {
            guard let r = proto.refill else { return nil }
            let before = issues.count
            var fixed = 0.0
            if proto.phases.count != 1 {
                issue("refill", "needs one main [cycle]; this protocol has \(proto.phases.count) phases")
            } else if case .rest(let rest) = proto.phases[0].cycle.pacing {
                fixed = rest
                if rest < r.minRestSeconds || rest > r.maxRestSeconds {
                    issue("cycle.rest_s", "\(formatFixed(rest, decimals: 1)) s must lie within refill.min_rest_s…max_rest_s (\(formatFixed(r.minRestSeconds, decimals: 1))…\(formatFixed(r.maxRestSeconds, decimals: 1)) s): it is the rest whenever a refill measurement cannot be trusted")
                }
            } else {
                issue("cycle.period_s", "a refill-adaptive protocol paces its cycle by rest_s (after the last release), the rest used until a refill is measured and whenever one cannot be trusted; give rest_s instead of period_s")
            }
            let index = bootIndex[r.chamber]
            if index == nil {
                issue("refill.chamber", "\"\(r.chamber)\" is not in protocol.chambers (\(proto.chambers.joined(separator: ", ")))")
            } else if proto.phases.count == 1 && !proto.phases[0].cycle.steps.contains(where: { $0.chamber == r.chamber }) {
                issue("refill.chamber", "\"\(r.chamber)\" is not compressed in the cycle: the sensing chamber must be one the cycle squeezes")
            }
            if !(r.sensingMmHg >= 3 && r.sensingMmHg <= 8) {
                issue("refill.sensing_mmHg", "must be between 3 and 8 mmHg, got \(formatFixed(r.sensingMmHg, decimals: 1)): enough to keep the bladder taut on the limb, low enough that a refilling limb cannot raise the sealed sleeve past the supervisor's vented threshold")
            }
            if !(r.minRestSeconds >= 5 && r.minRestSeconds <= 300) {
                issue("refill.min_rest_s", "must be between 5 and 300 s, got \(formatFixed(r.minRestSeconds, decimals: 1))")
            }
            if !(r.maxRestSeconds >= r.minRestSeconds && r.maxRestSeconds <= 300) {
                issue("refill.max_rest_s", "must be at least refill.min_rest_s (\(formatFixed(r.minRestSeconds, decimals: 1)) s) and at most 300 s, got \(formatFixed(r.maxRestSeconds, decimals: 1))")
            }
            if !(r.everyCycles >= 1 && r.everyCycles <= 1000) {
                issue("refill.every_cycles", "must be between 1 and 1000, got \(r.everyCycles)")
            }
            guard issues.count == before, let index else { return nil }
            return RefillPlan(chamber: index, sensing: Pressure(mmHg: r.sensingMmHg), minRestSeconds: r.minRestSeconds,
                              maxRestSeconds: r.maxRestSeconds, everyCycles: r.everyCycles, fixedRestSeconds: fixed)
        }

        /// The key path of phase `i`: `cycle` for a protocol written with one `[cycle]`.
        static func phaseKey(_ proto: TreatmentProtocol, _ i: Int) -> String {
            proto.phases.count == 1 && proto.phases[0].name.isEmpty ? "cycle" : "phase[\(i)]"
        }

        mutating func checkBuildUp() {
            guard let b = proto.buildUp else { return }
            if b.cycles < 2 { issue("session.build_up_cycles", "must be at least 2 (cycle 1 at the start share, full pressure from cycle N), got \(b.cycles)") }
            if !(b.startFraction > 0 && b.startFraction < 1) { issue("session.build_up_start_percent", "must be above 0 and below 100 %, got \(formatFixed(b.startFraction * 100, decimals: 1))") }
        }

        // MARK: chambers

        mutating func checkChambers() {
            let names = proto.chambers
            if names.isEmpty {
                issue("protocol.chambers", "names no chamber; list the chambers distal → proximal")
                return
            }
            if names.count > boot.chambers.count {
                issue("protocol.chambers", "the protocol names \(names.count) chambers but the boot has only \(boot.chambers.count) (\(boot.chambers.joined(separator: ", ")))")
            }
            var lastIndex = -1
            for (i, name) in names.enumerated() {
                let path = "protocol.chambers[\(i)]"
                if bootIndex[name] != nil {
                    issue(path, "chamber \"\(name)\" is listed twice")
                    continue
                }
                guard let idx = boot.chambers.firstIndex(of: name) else {
                    issue(path, "the boot has no chamber \"\(name)\" (it has \(boot.chambers.joined(separator: ", ")))")
                    continue
                }
                if idx < lastIndex {
                    issue(path, "chamber \"\(name)\" is out of order: chambers are listed distal → proximal, and on this boot \"\(name)\" is distal to \"\(boot.chambers[lastIndex])\"")
                }
                lastIndex = max(lastIndex, idx)
                bootIndex[name] = idx
            }
        }

        // MARK: intensity and length

        mutating func checkIntensity(levelOverride: Int?) {
            guard let intensity = proto.intensity else {
                if levelOverride != nil { issue("intensity", "an intensity level was given but the protocol has no [intensity] levels") }
                return
            }
            if intensity.levels.isEmpty {
                issue("intensity.levels_mmHg", "must list at least one level pressure")
                return
            }
            for (i, p) in intensity.levels.enumerated() {
                if !(p.mmHg > 0) || !p.mmHg.isFinite { issue("intensity.levels_mmHg[\(i)]", "must be a pressure above 0 mmHg, got \(p.mmHg)") }
                if i > 0, p <= intensity.levels[i - 1] { issue("intensity.levels_mmHg[\(i)]", "levels must rise: \(p) is not above level \(i)'s \(intensity.levels[i - 1])") }
            }
            let level = levelOverride ?? intensity.level
            let key = levelOverride == nil ? "intensity.level" : "intensity.level (from --level)"
            guard (1...intensity.levels.count).contains(level) else {
                issue(key, "level \(level) does not exist: levels are 1...\(intensity.levels.count)")
                return
            }
            levelPressure = intensity.levels[level - 1]
            if let boost = intensity.boost {
                if !proto.chambers.contains(boost.chamber) { issue("intensity.boost_chamber", "\"\(boost.chamber)\" is not one of the protocol's chambers") }
                if !(boost.extra.mmHg > 0) || !boost.extra.mmHg.isFinite { issue("intensity.boost_mmHg", "must be above 0 mmHg, got \(boost.extra.mmHg)") }
                else if boost.extra > boot.limits.maxBoost { issue("intensity.boost_mmHg", "\(boost.extra) is more than the \(boot.limits.maxBoost) a boosted zone may exceed its distal neighbour by in the hold (profile safety.boost_allowance_mmHg)") }
            }
        }

        /// The sustained-pressure limit in force.
        var maxCompression: Double { min(proto.maxCompressionSeconds ?? .infinity, boot.limits.maxCompressionSeconds) }

        mutating func checkLength() {
            if let m = proto.maxCompressionSeconds {
                if !(m > 0) || !m.isFinite { issue("session.max_compression_s", "must be above 0 seconds, got \(m)") }
                else if m > boot.limits.maxCompressionSeconds { issue("session.max_compression_s", "\(formatFixed(m, decimals: 0)) s is longer than the profile allows (\(formatFixed(boot.limits.maxCompressionSeconds, decimals: 0)) s, limits.max_compression_s)") }
            }
            let maxMin = boot.limits.maxSessionMinutes
            switch proto.length {
            case .minutes(let m):
                if !(m > 0) || !m.isFinite { issue("session.minutes", "must be above 0, got \(m)") }
                else if m > maxMin { issue("session.minutes", "\(formatFixed(m, decimals: 1)) min is longer than the profile's limit of \(formatFixed(maxMin, decimals: 0)) min") }
            case .cycles(let n):
                if n < 1 { issue("session.cycles", "must be at least 1, got \(n)") }
            case .sets(let count, let per, let rest):
                if count < 1 { issue("session.sets", "must be at least 1, got \(count)") }
                if per < 1 { issue("session.cycles_per_set", "must be at least 1, got \(per)") }
                if !(rest >= 0) || !rest.isFinite { issue("session.rest_between_sets_s", "must be 0 or more seconds, got \(rest)") }
            }
        }

        /// The shortest a cycle can last (s): its period, or its rest after the latest release
        /// whose time is fixed (a release that waits on a pressure being reached lasts longer).
        var shortestCycle: [String: Double] = [:]

        /// Every length form (cycles, sets with their rests, prefix and suffix) against the
        /// profile's session limit, from the shortest the session can last.
        mutating func checkTotalLength(prefix: CyclePlan?, suffix: CyclePlan?) {
            let cycle = proto.phases.indices.map { shortestCycle[Self.phaseKey(proto, $0)] ?? 0 }.min() ?? 0
            let extra = (prefix != nil ? shortestCycle["prefix"] ?? 0 : 0) + (suffix != nil ? shortestCycle["suffix"] ?? 0 : 0)
            let key: String, what: String, seconds: Double
            switch proto.length {
            case .minutes: return
            case .cycles(let n):
                key = "session.cycles"
                seconds = Double(n) * cycle + extra
                what = "\(n) cycles of at least \(formatFixed(cycle, decimals: 1)) s"
            case .sets(let count, let per, let rest):
                key = "session.sets"
                seconds = Double(count) * Double(per) * cycle + Double(max(0, count - 1)) * rest + extra
                what = "\(count) sets of \(per) cycles of at least \(formatFixed(cycle, decimals: 1)) s with \(formatFixed(rest, decimals: 0)) s between sets"
            }
            let limit = boot.limits.maxSessionMinutes
            if seconds / 60 > limit {
                issue(key, "\(what) last at least \(formatFixed(seconds / 60, decimals: 1)) min, longer than the profile's limit of \(formatFixed(limit, decimals: 0)) min (limits.max_session_min)")
            }
        }

        // MARK: cycles

        /// The pressure a spec prescribes, before any boost.
        func resolve(_ spec: PressureSpec, chamber: String) -> Pressure? {
            switch spec {
            case .absolute(let a): a
            case .levelOffset(let o): levelPressure.map { $0 + o }
            }
        }

        /// The boost on `chamber`'s holds (0 mmHg if it is not the boost zone).
        func boost(of chamber: String) -> Pressure {
            guard let b = proto.intensity?.boost, b.chamber == chamber, b.extra.mmHg > 0 else { return Pressure(mmHg: 0) }
            return b.extra
        }

        func targetKey(_ spec: PressureSpec, hold: Bool) -> String {
            switch spec {
            case .absolute: hold ? "hold_mmHg" : "target_mmHg"
            case .levelOffset: hold ? "hold_level_offset_mmHg" : "target_level_offset_mmHg"
            }
        }

        mutating func checkPressure(_ spec: PressureSpec, chamber: String, path: String, hold: Bool) -> Pressure? {
            if case .levelOffset = spec, proto.intensity == nil {
                issue(path, "is relative to the intensity level, but the protocol has no [intensity] section")
                return nil
            }
            guard let base = resolve(spec, chamber: chamber) else { return nil }
            let what = hold ? "hold pressure" : "target"
            if !base.mmHg.isFinite || base.mmHg <= 0 {
                issue(path, "\(what) for \(chamber) must be above 0 mmHg, got \(formatMMHg(base.mmHg))")
                return nil
            }
            // The limits apply to the highest it is asked for: with the boost.
            let boosted = base + boost(of: chamber)
            let p = boosted
            let withBoost = boosted == base ? "" : " with its boost"
            if p > boot.limits.ceiling {
                issue(path, "\(what) \(p) for \(chamber)\(withBoost) is above the hardware ceiling of \(boot.limits.ceiling)")
            } else if p > boot.limits.maxTarget {
                issue(path, "\(what) \(p) for \(chamber)\(withBoost) is above this garment's maximum target of \(boot.limits.maxTarget) (profile limits.max_target_mmHg)")
            }
            return base
        }

        mutating func cyclePlan(_ cycle: CycleDefinition, key: String, requireSteps: Bool) -> CyclePlan? {
            let before = issues.count
            switch cycle.pacing {
            case .period(let p):
                if !(p > 0) || !p.isFinite { issue("\(key).period_s", "must be above 0 seconds, got \(p)") }
            case .rest(let r):
                if !(r >= 0) || !r.isFinite { issue("\(key).rest_s", "must be 0 or more seconds, got \(r)") }
            }
            if requireSteps && cycle.steps.isEmpty {
                issue("\(key).chamber", "the cycle inflates no chamber; add at least one [[\(key).chamber]]")
            }
            // Step ids in this cycle → step index. A chamber may have several steps, each with
            // its own id; by default a step's id is its chamber's name.
            var stepOf: [String: Int] = [:]
            for (i, step) in cycle.steps.enumerated() {
                let path = "\(key).chamber[\(i)]"
                if !proto.chambers.contains(step.chamber) { issue("\(path).name", "\"\(step.chamber)\" is not in protocol.chambers (\(proto.chambers.joined(separator: ", ")))") }
                else if let j = stepOf[step.stepID] {
                    issue(step.id == nil ? "\(path).name" : "\(path).id", step.id == nil && cycle.steps[j].chamber == step.chamber
                        ? "chamber \"\(step.chamber)\" has two steps in this cycle; give the later one an id (id = \"\(step.chamber)-2\") so triggers can tell them apart"
                        : "step id \"\(step.stepID)\" is used twice in this cycle")
                } else { stepOf[step.stepID] = i }
            }
            var steps: [StepPlan] = []
            for (i, step) in cycle.steps.enumerated() {
                let base = "\(key).chamber[\(i)]"
                let target = checkPressure(step.target, chamber: step.chamber, path: "\(base).\(targetKey(step.target, hold: false))", hold: false)
                var holdPressure: Pressure?
                if let hold = step.hold {
                    holdPressure = checkPressure(hold.pressure, chamber: step.chamber, path: "\(base).\(targetKey(hold.pressure, hold: true))", hold: true)
                    if let h = holdPressure, let t = target, h > t {
                        issue("\(base).\(targetKey(hold.pressure, hold: true))", "hold pressure \(h) is above the target \(t); a hold settles below the pulse")
                    }
                }
                if !(step.rampSeconds >= 0) || !step.rampSeconds.isFinite { issue("\(base).ramp_s", "must be 0 or more seconds, got \(step.rampSeconds)") }
                if let r = step.riseSeconds {
                    if !(r > 0) || !r.isFinite { issue("\(base).rise_s", "must be above 0 seconds, got \(r)") }
                    else if step.rampSeconds > r { issue("\(base).rise_s", "\(step.chamber) must reach its target within \(formatFixed(r, decimals: 2)) s, but its ramp_s spreads the rise over \(formatFixed(step.rampSeconds, decimals: 2)) s") }
                }
                let inflate = trigger(step.inflate, path: "\(base).inflate", stepOf: stepOf)
                let holdT = step.hold.flatMap { trigger($0.at, path: "\(base).hold", stepOf: stepOf) }
                let release = trigger(step.release, path: "\(base).release", stepOf: stepOf)
                guard let idx = bootIndex[step.chamber], let target, let inflate, let release else { continue }
                steps.append(StepPlan(
                    chamber: idx, target: target, inflate: inflate, rampSeconds: step.rampSeconds,
                    holdPressure: holdPressure, hold: holdT, release: release, boost: boost(of: step.chamber),
                    riseSeconds: step.riseSeconds, id: step.stepID, keyPath: base))
            }
            // Every step resolved, or none is used: triggers index the cycle's steps, so a step left
            // out (its chamber missing from the boot, reported with the chambers) must not shift them.
            guard issues.count == before, steps.count == cycle.steps.count else { return nil }
            var plan = CyclePlan(pacing: cycle.pacing, steps: steps)
            checkTiming(plan, cycle: cycle, key: key)
            plan.fixedInflate = steps.indices.map { staticTimes[.inflate($0)] }
            plan.fixedRelease = steps.indices.map { staticTimes[.release($0)] }
            switch cycle.pacing {
            case .period(let p): shortestCycle[key] = p
            case .rest(let r):
                let releases = steps.indices.compactMap { staticTimes[.release($0)] }
                shortestCycle[key] = r + (releases.max() ?? 0)
            }
            checkGradient(plan, key: key)
            return issues.count == before ? plan : nil
        }

        mutating func trigger(_ t: Trigger, path: String, stepOf: [String: Int]) -> PlanTrigger? {
            if !(t.delaySeconds >= 0) || !t.delaySeconds.isFinite {
                issue(path, "delay must be 0 or more seconds, got \(t.delaySeconds)")
                return nil
            }
            func chamber(_ name: String) -> Int? {
                guard let idx = stepOf[name] else {
                    issue(path, "refers to \"\(name)\", which is not a step of this cycle (a chamber that inflates in it, or a step id)")
                    return nil
                }
                return idx
            }
            switch t.event {
            case .cycleStart: return PlanTrigger(event: .cycleStart, delay: t.delaySeconds)
            case .allReached: return PlanTrigger(event: .allReached, delay: t.delaySeconds)
            case .inflated(let n): return chamber(n).map { PlanTrigger(event: .inflated($0), delay: t.delaySeconds) }
            case .reached(let n): return chamber(n).map { PlanTrigger(event: .reached($0), delay: t.delaySeconds) }
            case .released(let n): return chamber(n).map { PlanTrigger(event: .released($0), delay: t.delaySeconds) }
            }
        }

        // MARK: timing

        /// Static facts about an event in a cycle's dependency graph.
        struct EventInfo {
            /// Exact time after cycle start, if it depends on the clock only.
            var fixedTime: Double?
            /// Steps whose inflate this event transitively follows.
            var followsInflateOf: Set<Int> = []
            /// Steps whose release this event transitively follows.
            var followsReleaseOf: Set<Int> = []
        }

        /// Nodes of a cycle's event graph, by step index.
        enum Node: Hashable { case inflate(Int), reached(Int), hold(Int), release(Int), allReached }

        mutating func checkTiming(_ plan: CyclePlan, cycle: CycleDefinition, key: String) {
            let steps = plan.steps
            func path(_ i: Int) -> String { "\(key).chamber[\(i)]" }
            var info: [Node: EventInfo] = [:]
            var visiting: Set<Node> = []
            var cyclic = false

            func triggerNode(_ e: PlanTrigger.Event) -> Node? {
                switch e {
                case .cycleStart: nil
                case .inflated(let i): .inflate(i)
                case .reached(let i): .reached(i)
                case .allReached: .allReached
                case .released(let i): .release(i)
                }
            }
            func resolve(_ node: Node) -> EventInfo {
                if let known = info[node] { return known }
                if visiting.contains(node) {
                    cyclic = true
                    return EventInfo(fixedTime: nil)
                }
                visiting.insert(node)
                defer { visiting.remove(node) }
                func via(_ t: PlanTrigger?) -> EventInfo {
                    guard let t else { return EventInfo(fixedTime: nil) }
                    guard let n = triggerNode(t.event) else { return EventInfo(fixedTime: t.delay) }
                    var up = resolve(n)
                    up.fixedTime = up.fixedTime.map { $0 + t.delay }
                    return up
                }
                var result: EventInfo
                switch node {
                case .inflate(let i):
                    result = via(steps[i].inflate)
                    result.followsInflateOf.insert(i)
                case .reached(let i):
                    // Reaching a target depends on the pump: never a fixed time.
                    result = resolve(.inflate(i))
                    result.fixedTime = nil
                case .hold(let i): result = via(steps[i].hold)
                case .release(let i):
                    result = via(steps[i].release)
                    result.followsReleaseOf.insert(i)
                case .allReached:
                    result = EventInfo(fixedTime: nil)
                    for j in steps.indices {
                        let r = resolve(.reached(j))
                        result.followsInflateOf.formUnion(r.followsInflateOf)
                        result.followsReleaseOf.formUnion(r.followsReleaseOf)
                    }
                }
                info[node] = result
                return result
            }
            for i in steps.indices {
                _ = resolve(.inflate(i)); _ = resolve(.release(i))
                if steps[i].hold != nil { _ = resolve(.hold(i)) }
            }
            if cyclic {
                issue(key, "the triggers of this cycle wait on each other in a loop, so the cycle could never proceed")
                return
            }
            for (i, s) in steps.enumerated() {
                let name = s.id
                let inflate = info[.inflate(i)] ?? EventInfo(fixedTime: nil)
                func mustFollowInflate(_ node: Node, _ what: String) {
                    guard let e = info[node] else { return }
                    if e.followsInflateOf.contains(i) { return }
                    if let a = e.fixedTime, let b = inflate.fixedTime {
                        if a <= b { issue("\(path(i)).\(what)", "\(name) would \(what) at \(formatFixed(a, decimals: 2)) s, not after it inflates at \(formatFixed(b, decimals: 2)) s") }
                        return
                    }
                    issue("\(path(i)).\(what)", "\(name)'s \(what) must come after it inflates: give a time later than its inflate, or an event that follows it (e.g. \"\(name).reached\")")
                }
                mustFollowInflate(.release(i), "release")
                if let a = inflate.fixedTime, let b = info[.release(i)]?.fixedTime, b - a > maxCompression {
                    issue("\(path(i)).release", "\(name) would stay pressurised \(formatFixed(b - a, decimals: 1)) s, longer than the \(formatFixed(maxCompression, decimals: 0)) s allowed")
                }
                if s.hold != nil { mustFollowInflate(.hold(i), "hold") }
                if case .period(let period) = plan.pacing {
                    for (node, what) in [(Node.inflate(i), "inflate"), (.release(i), "release")] {
                        if let t = info[node]?.fixedTime, t >= period {
                            issue("\(path(i)).\(what)", "\(name)'s \(what) at \(formatFixed(t, decimals: 2)) s does not fit in the \(formatFixed(period, decimals: 2)) s cycle period")
                        }
                    }
                }
                // A chamber's later step inflates only after its earlier step released.
                if let j = steps[..<i].lastIndex(where: { $0.chamber == s.chamber }) {
                    let earlier = steps[j].id
                    if inflate.followsReleaseOf.contains(j) { continue }
                    if let a = info[.release(j)]?.fixedTime, let b = inflate.fixedTime {
                        if b < a { issue("\(path(i)).inflate", "\(name) would inflate at \(formatFixed(b, decimals: 2)) s, while the same chamber's step \"\(earlier)\" holds until \(formatFixed(a, decimals: 2)) s") }
                        continue
                    }
                    issue("\(path(i)).inflate", "\(name) inflates the same chamber as step \"\(earlier)\": it must come after that step releases (a later time, or an event that follows \"\(earlier).release\")")
                }
            }
            staticTimes = info.compactMapValues(\.fixedTime)
        }

        /// Fixed event times of the cycle last checked by ``checkTiming``.
        var staticTimes: [Node: Double] = [:]

        // MARK: gradient

        /// The gradient rule (docs/protocols.md, "The gradient rule"). Between adjacent chambers
        /// taking part, distal → proximal: while both are pressurised the proximal one's pressure
        /// (pulse or hold) must not be above the distal one's, unless fixed times show they never
        /// are pressurised together. Boosts are left out: they apply only in the hold, once the
        /// wave has passed, and the supervisor bounds them (``BootLimits/maxBoost``).
        mutating func checkGradient(_ plan: CyclePlan, key: String) {
            let chambers = Set(plan.steps.map(\.chamber)).sorted()
            for (dc, pc) in zip(chambers, chambers.dropFirst()) {
                for (i, p) in plan.steps.enumerated() where p.chamber == pc {
                    for (j, d) in plan.steps.enumerated() where d.chamber == dc {
                        let distalMin = min(d.target, d.holdPressure ?? d.target)
                        let proximalMax = max(p.target, p.holdPressure ?? p.target)
                        guard proximalMax > distalMin else { continue }
                        if let dr = staticTimes[.release(j)], let pi = staticTimes[.inflate(i)], dr <= pi { continue }
                        if let pr = staticTimes[.release(i)], let di = staticTimes[.inflate(j)], pr <= di { continue }
                        issue("\(p.keyPath).\(targetKeyName(i, key: key))", "reverse gradient: \(boot.chambers[pc]) (\(proximalMax)) would be above its distal neighbour \(boot.chambers[dc]) (\(distalMin)\(d.holdPressure != nil ? " when holding" : "")) during a compression; proximal chambers must not exceed distal ones (a boost zone may, in the hold: intensity.boost_mmHg)")
                    }
                }
            }
        }

        /// The target key of step `i` of the cycle at `key`, as written.
        func targetKeyName(_ i: Int, key: String) -> String {
            guard let c = cycleDefinition(key), i < c.steps.count else { return "target_mmHg" }
            return targetKey(c.steps[i].target, hold: false)
        }

        func cycleDefinition(_ key: String) -> CycleDefinition? {
            if key == "prefix" { return proto.prefix }
            if key == "suffix" { return proto.suffix }
            return proto.phases.indices.first { Self.phaseKey(proto, $0) == key }.map { proto.phases[$0].cycle }
        }
    }
}
