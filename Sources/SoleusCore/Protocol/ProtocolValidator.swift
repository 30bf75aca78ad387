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
    /// Validates `proto` for `boot`; `level` overrides the protocol's intensity level.
    public static func plan(
        _ proto: TreatmentProtocol, for boot: BootDescription, level: Int? = nil
    ) throws(ProtocolValidationError) -> TreatmentPlan {
        var v = Run(proto: proto, boot: boot)
        let plan = v.run(levelOverride: level)
        if let plan, v.issues.isEmpty { return plan }
        throw ProtocolValidationError(issues: v.issues)
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
            let prefix = proto.prefix.map { cyclePlan($0, key: "prefix", requireSteps: false) }
            let main = cyclePlan(proto.cycle, key: "cycle", requireSteps: true)
            let suffix = proto.suffix.map { cyclePlan($0, key: "suffix", requireSteps: false) }
            guard issues.isEmpty, let main else { return nil }
            checkTotalLength(prefix: prefix ?? nil, main: main, suffix: suffix ?? nil)
            guard issues.isEmpty else { return nil }
            return TreatmentPlan(
                name: proto.name, bootChambers: boot.chambers, length: proto.length,
                prefix: prefix ?? nil, cycle: main, suffix: suffix ?? nil,
                level: proto.intensity.map { levelOverride ?? $0.level }, maxCompressionSeconds: maxCompression)
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
        mutating func checkTotalLength(prefix: CyclePlan?, main: CyclePlan, suffix: CyclePlan?) {
            let cycle = shortestCycle["cycle"] ?? 0
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

        func resolve(_ spec: PressureSpec, chamber: String) -> Pressure? {
            var p: Pressure
            switch spec {
            case .absolute(let a): p = a
            case .levelOffset(let o):
                guard let base = levelPressure else { return nil }
                p = base + o
            }
            if let boost = proto.intensity?.boost, boost.chamber == chamber { p = p + boost.extra }
            return p
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
            guard let p = resolve(spec, chamber: chamber) else { return nil }
            let what = hold ? "hold pressure" : "target"
            if !p.mmHg.isFinite || p.mmHg <= 0 {
                issue(path, "\(what) for \(chamber) must be above 0 mmHg, got \(formatMMHg(p.mmHg))")
                return nil
            }
            if p > boot.limits.ceiling {
                issue(path, "\(what) \(p) for \(chamber) is above the hardware ceiling of \(boot.limits.ceiling)")
            } else if p > boot.limits.maxTarget {
                issue(path, "\(what) \(p) for \(chamber) is above this garment's maximum target of \(boot.limits.maxTarget) (profile limits.max_target_mmHg)")
            }
            return p
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
            // Names in this cycle → step index.
            var stepOf: [String: Int] = [:]
            for (i, step) in cycle.steps.enumerated() {
                let path = "\(key).chamber[\(i)].name"
                if stepOf[step.chamber] != nil { issue(path, "chamber \"\(step.chamber)\" has two steps in this cycle") }
                else if !proto.chambers.contains(step.chamber) { issue(path, "\"\(step.chamber)\" is not in protocol.chambers (\(proto.chambers.joined(separator: ", ")))") }
                else { stepOf[step.chamber] = i }
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
                let inflate = trigger(step.inflate, path: "\(base).inflate", stepOf: stepOf)
                let holdT = step.hold.flatMap { trigger($0.at, path: "\(base).hold", stepOf: stepOf) }
                let release = trigger(step.release, path: "\(base).release", stepOf: stepOf)
                guard let idx = bootIndex[step.chamber], let target, let inflate, let release else { continue }
                steps.append(StepPlan(
                    chamber: idx, target: target, inflate: inflate, rampSeconds: step.rampSeconds,
                    holdPressure: holdPressure, hold: holdT, release: release))
            }
            guard issues.count == before else { return nil }
            steps.sort { $0.chamber < $1.chamber }
            let plan = CyclePlan(pacing: cycle.pacing, steps: steps)
            checkTiming(plan, cycle: cycle, key: key)
            switch cycle.pacing {
            case .period(let p): shortestCycle[key] = p
            case .rest(let r):
                let releases = steps.compactMap { staticTimes[.release($0.chamber)] }
                shortestCycle[key] = r + (releases.max() ?? 0)
            }
            checkGradient(plan, cycle: cycle, key: key)
            return issues.count == before ? plan : nil
        }

        mutating func trigger(_ t: Trigger, path: String, stepOf: [String: Int]) -> PlanTrigger? {
            if !(t.delaySeconds >= 0) || !t.delaySeconds.isFinite {
                issue(path, "delay must be 0 or more seconds, got \(t.delaySeconds)")
                return nil
            }
            func chamber(_ name: String) -> Int? {
                guard stepOf[name] != nil, let idx = bootIndex[name] else {
                    issue(path, "refers to \"\(name)\", which does not inflate in this cycle")
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
            /// Own-chamber inflates this event transitively follows.
            var followsInflateOf: Set<Int>
        }

        enum Node: Hashable { case inflate(Int), reached(Int), hold(Int), release(Int), allReached }

        mutating func checkTiming(_ plan: CyclePlan, cycle: CycleDefinition, key: String) {
            let byChamber = Dictionary(uniqueKeysWithValues: plan.steps.map { ($0.chamber, $0) })
            // Path of a step by chamber index, for messages.
            func path(_ chamber: Int) -> String {
                let name = boot.chambers[chamber]
                let i = cycle.steps.firstIndex { $0.chamber == name } ?? 0
                return "\(key).chamber[\(i)]"
            }
            var info: [Node: EventInfo] = [:]
            var visiting: Set<Node> = []
            var cyclic = false

            func triggerNode(_ e: PlanTrigger.Event) -> Node? {
                switch e {
                case .cycleStart: nil
                case .inflated(let c): .inflate(c)
                case .reached(let c): .reached(c)
                case .allReached: .allReached
                case .released(let c): .release(c)
                }
            }
            func resolve(_ node: Node) -> EventInfo {
                if let known = info[node] { return known }
                if visiting.contains(node) {
                    cyclic = true
                    return EventInfo(fixedTime: nil, followsInflateOf: [])
                }
                visiting.insert(node)
                defer { visiting.remove(node) }
                func via(_ t: PlanTrigger?) -> EventInfo {
                    guard let t else { return EventInfo(fixedTime: nil, followsInflateOf: []) }
                    guard let n = triggerNode(t.event) else { return EventInfo(fixedTime: t.delay, followsInflateOf: []) }
                    let up = resolve(n)
                    return EventInfo(fixedTime: up.fixedTime.map { $0 + t.delay }, followsInflateOf: up.followsInflateOf)
                }
                var result: EventInfo
                switch node {
                case .inflate(let c):
                    result = via(byChamber[c]?.inflate)
                    result.followsInflateOf.insert(c)
                case .reached(let c):
                    // Reaching a target depends on the pump: never a fixed time.
                    result = EventInfo(fixedTime: nil, followsInflateOf: resolve(.inflate(c)).followsInflateOf)
                case .hold(let c): result = via(byChamber[c]?.hold)
                case .release(let c): result = via(byChamber[c]?.release)
                case .allReached:
                    var all: Set<Int> = []
                    for s in plan.steps { all.formUnion(resolve(.reached(s.chamber)).followsInflateOf) }
                    result = EventInfo(fixedTime: nil, followsInflateOf: all)
                }
                info[node] = result
                return result
            }
            for s in plan.steps {
                _ = resolve(.inflate(s.chamber)); _ = resolve(.release(s.chamber))
                if s.hold != nil { _ = resolve(.hold(s.chamber)) }
            }
            if cyclic {
                issue(key, "the triggers of this cycle wait on each other in a loop, so the cycle could never proceed")
                return
            }
            for s in plan.steps {
                let c = s.chamber
                let name = boot.chambers[c]
                let inflate = info[.inflate(c)] ?? EventInfo(fixedTime: nil, followsInflateOf: [])
                func mustFollowInflate(_ node: Node, _ what: String) {
                    guard let e = info[node] else { return }
                    if e.followsInflateOf.contains(c) { return }
                    if let a = e.fixedTime, let b = inflate.fixedTime {
                        if a <= b { issue("\(path(c)).\(what)", "\(name) would \(what) at \(formatFixed(a, decimals: 2)) s, not after it inflates at \(formatFixed(b, decimals: 2)) s") }
                        return
                    }
                    issue("\(path(c)).\(what)", "\(name)'s \(what) must come after it inflates: give a time later than its inflate, or an event that follows it (e.g. \"\(name).reached\")")
                }
                mustFollowInflate(.release(c), "release")
                if let a = info[.inflate(c)]?.fixedTime, let b = info[.release(c)]?.fixedTime, b - a > maxCompression {
                    issue("\(path(c)).release", "\(name) would stay pressurised \(formatFixed(b - a, decimals: 1)) s, longer than the \(formatFixed(maxCompression, decimals: 0)) s allowed")
                }
                if s.hold != nil { mustFollowInflate(.hold(c), "hold") }
                if case .period(let period) = plan.pacing {
                    for (node, what) in [(Node.inflate(c), "inflate"), (.release(c), "release")] {
                        if let t = info[node]?.fixedTime, t >= period {
                            issue("\(path(c)).\(what)", "\(name)'s \(what) at \(formatFixed(t, decimals: 2)) s does not fit in the \(formatFixed(period, decimals: 2)) s cycle period")
                        }
                    }
                }
            }
            staticTimes = info.compactMapValues(\.fixedTime)
        }

        /// Fixed event times of the cycle last checked by ``checkTiming``.
        var staticTimes: [Node: Double] = [:]

        // MARK: gradient

        mutating func checkGradient(_ plan: CyclePlan, cycle: CycleDefinition, key: String) {
            // Adjacent participating chambers, distal → proximal. During a compression the proximal
            // chamber must never be prescribed above its distal neighbour, whatever the
            // neighbour's current level (pulse or hold), unless their fixed times show they are
            // never pressurised together.
            for (d, p) in zip(plan.steps, plan.steps.dropFirst()) {
                let distalMin = min(d.target, d.holdPressure ?? d.target)
                let proximalMax = max(p.target, p.holdPressure ?? p.target)
                guard proximalMax > distalMin else { continue }
                if let dr = staticTimes[.release(d.chamber)], let pi = staticTimes[.inflate(p.chamber)], dr <= pi { continue }
                if let pr = staticTimes[.release(p.chamber)], let di = staticTimes[.inflate(d.chamber)], pr <= di { continue }
                let pname = boot.chambers[p.chamber], dname = boot.chambers[d.chamber]
                let i = cycle.steps.firstIndex { $0.chamber == pname } ?? 0
                let spec = cycle.steps[i].target
                issue("\(key).chamber[\(i)].\(targetKey(spec, hold: false))", "reverse gradient: \(pname) (\(proximalMax)) would be above its distal neighbour \(dname) (\(distalMin)\(d.holdPressure != nil ? " when holding" : "")) during a compression; proximal chambers must not exceed distal ones")
            }
        }
    }
}
