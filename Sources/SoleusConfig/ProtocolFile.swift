import SoleusCore

/// Reads treatment protocols from TOML (`protocols/*.toml`; format in `docs/protocols.md`).
public enum ProtocolFile {
    /// Parses protocol text. Errors name `file` and the key path (or line and column for syntax).
    public static func parse(_ text: String, file: String) throws(ConfigError) -> TreatmentProtocol {
        let root = try TOMLNode.parse(text, file: file)
        let issues = IssueCollector()
        var doc = TableReader(root, path: "", issues: issues)
        let proto = read(&doc)
        doc.rejectUnknownKeys()
        guard issues.issues.isEmpty, let proto else {
            throw ConfigError(file: file, issues: issues.issues)
        }
        return proto
    }

    /// Reads and parses the protocol at `path`.
    public static func load(path: String) throws(ConfigError) -> (TreatmentProtocol, text: String) {
        let text = try readTextFile(path)
        return (try parse(text, file: path), text)
    }

    /// Parses `text` and validates it for `boot`, naming `file` in every error. `length`, when
    /// given, replaces the protocol's session length before validation (an operator's override is
    /// held to the same limits as the file).
    public static func plan(
        _ text: String, file: String, for boot: BootDescription, level: Int? = nil, limb: String? = nil, length: SessionLength? = nil
    ) throws(ConfigError) -> TreatmentPlan {
        var proto = try parse(text, file: file)
        if let length { proto.length = length }
        do {
            return try ProtocolValidator.plan(proto, for: boot, level: level, limb: limb)
        } catch {
            throw ConfigError(file: file, issues: error.issues.map { ConfigIssue(keyPath: $0.keyPath, message: $0.message) })
        }
    }

    static func read(_ doc: inout TableReader) -> TreatmentProtocol? {
        let issues = doc.issues
        var header = doc.table("protocol", required: true)
        let name = header?.string("name", required: true)
        let summary = header?.string("summary") ?? ""
        let chambers = header?.strings("chambers", required: true, maxCount: maxChambers)
        var limbs = LimbMode.single
        let limbMode = header?.string("limbs")
        let offset = header?.number("alternate_offset_s", upTo: InputLimits.maxStepSeconds, "s")
        switch limbMode {
        case nil, "single": limbs = .single
        case "together": limbs = .together
        case "alternating": limbs = .alternating(offsetSeconds: offset)
        case let other?: issues.add("protocol.limbs", "is \"\(other)\"; use \"single\" (one limb, chosen at the start), \"together\" (every limb in step) or \"alternating\" (each limb's cycle offset from the previous one's)")
        }
        if offset != nil, case .alternating = limbs {} else if offset != nil {
            issues.add("protocol.alternate_offset_s", "only applies with limbs = \"alternating\"")
        }
        header?.rejectUnknownKeys()

        var length: SessionLength?
        var maxCompression: Double?
        var buildUp: BuildUp?
        if var s = doc.table("session", required: true) {
            let buildCycles = s.integer("build_up_cycles", upTo: InputLimits.maxCycles)
            let buildStart = s.number("build_up_start_percent", upTo: 100, "%")
            switch (buildCycles, buildStart) {
            case (let n?, let p?): buildUp = BuildUp(cycles: n, startFraction: p / 100)
            case (nil, nil): break
            default:
                if s.has("build_up_cycles") != s.has("build_up_start_percent") { issues.add("session", "build_up_cycles and build_up_start_percent go together") }
            }
            let minutes = s.number("minutes", upTo: InputLimits.maxSessionMinutes, "min")
            let cycles = s.integer("cycles", upTo: InputLimits.maxCycles)
            let sets = s.integer("sets", upTo: InputLimits.maxSets)
            let perSet = s.integer("cycles_per_set", upTo: InputLimits.maxCyclesPerSet)
            let rest = s.number("rest_between_sets_s", upTo: InputLimits.maxStepSeconds, "s")
            maxCompression = s.number("max_compression_s", upTo: InputLimits.maxStepSeconds, "s")
            let given = ["minutes", "cycles", "sets"].filter { s.has($0) }.count
            if given != 1 {
                issues.add("session", "give exactly one of minutes, cycles, or sets (with cycles_per_set and rest_between_sets_s)")
            } else if minutes == nil && cycles == nil && sets == nil {
                // The one given was invalid, and has been reported.
            } else if let minutes {
                length = .minutes(minutes)
            } else if let cycles {
                length = .cycles(cycles)
            } else if let sets {
                if perSet == nil { issues.add("session.cycles_per_set", "is required with sets") }
                if let perSet { length = .sets(count: sets, cyclesPerSet: perSet, restSeconds: rest ?? 0) }
            }
            if !s.has("sets") && (perSet != nil || rest != nil) {
                issues.add("session", "cycles_per_set and rest_between_sets_s only apply with sets")
            }
            s.rejectUnknownKeys()
        }

        var intensity: Intensity?
        if var t = doc.table("intensity") {
            let levels = t.numbers("levels_mmHg", required: true, maxCount: InputLimits.maxIntensityLevels,
                                   upTo: InputLimits.maxPressureMagnitude, "mmHg")
            let level = t.integer("level", upTo: InputLimits.maxIntensityLevels, required: true)
            let boostChamber = t.string("boost_chamber")
            let boostMMHg = t.number("boost_mmHg", upTo: InputLimits.maxPressureMagnitude, "mmHg")
            if (boostChamber == nil) != (boostMMHg == nil) {
                issues.add("intensity", "boost_chamber and boost_mmHg go together")
            }
            if let levels, let level {
                intensity = Intensity(
                    levels: levels.map { Pressure(mmHg: $0) }, level: level,
                    boost: boostChamber.flatMap { c in boostMMHg.map { .init(chamber: c, extra: Pressure(mmHg: $0)) } })
            }
            t.rejectUnknownKeys()
        }

        var prefix: CycleDefinition?
        if var t = doc.table("prefix") { prefix = cycle(&t) }
        let phases = readPhases(&doc)
        var suffix: CycleDefinition?
        if var t = doc.table("suffix") { suffix = cycle(&t) }
        var refill: RefillSensing?
        if var t = doc.table("refill") {
            refill = readRefill(&t)
            t.rejectUnknownKeys()
        }

        guard let name, let chambers, let length, let phases else { return nil }
        var proto = TreatmentProtocol(
            name: name, summary: summary, chambers: chambers, length: length, intensity: intensity,
            prefix: prefix, phases: phases, suffix: suffix)
        proto.maxCompressionSeconds = maxCompression
        proto.buildUp = buildUp
        proto.limbs = limbs
        proto.refill = refill
        return proto
    }

    /// The `[refill]` table (refill-adaptive rests); the validator checks the values' ranges.
    static func readRefill(_ t: inout TableReader) -> RefillSensing? {
        let chamber = t.string("chamber", required: true)
        let sensing = t.number("sensing_mmHg", upTo: InputLimits.maxPressureMagnitude, "mmHg") ?? 5
        let minRest = t.number("min_rest_s", upTo: InputLimits.maxStepSeconds, "s", required: true)
        let maxRest = t.number("max_rest_s", upTo: InputLimits.maxStepSeconds, "s", required: true)
        let every = t.integer("every_cycles", upTo: InputLimits.maxCycles) ?? 10
        guard let chamber, let minRest, let maxRest else { return nil }
        return RefillSensing(chamber: chamber, sensingMmHg: sensing, minRestSeconds: minRest, maxRestSeconds: maxRest, everyCycles: every)
    }

    /// The main part: one `[cycle]`, or a list of `[[phase]]` tables, each a cycle with a name and
    /// a `repeat` count.
    static func readPhases(_ doc: inout TableReader) -> [ProgramPhase]? {
        let issues = doc.issues
        let hasCycle = doc.has("cycle"), hasPhases = doc.has("phase")
        if hasCycle == hasPhases {
            issues.add(hasCycle ? "phase" : "cycle", hasCycle ? "give [cycle] (one cycle) or [[phase]] tables (several), not both" : "is required: the main cycle, or [[phase]] tables")
            if !hasCycle { return nil }
            // Read, so the key is not reported as unknown as well.
            _ = doc.tables("phase", maxCount: InputLimits.maxPhases)
        }
        if hasCycle {
            guard var t = doc.table("cycle", required: true), let c = cycle(&t) else { return nil }
            return [ProgramPhase(cycle: c)]
        }
        var phases: [ProgramPhase] = []
        var ok = true
        for (i, var t) in doc.tables("phase", maxCount: InputLimits.maxPhases).enumerated() {
            var name = t.string("name") ?? "phase \(i + 1)"
            if name.isEmpty { name = "phase \(i + 1)" }
            let given = t.integer("repeat", upTo: InputLimits.maxCycles)
            if t.has("repeat") && given == nil { ok = false }
            let repeatCount = given ?? 1
            if let c = cycle(&t, extraKeys: true) { phases.append(ProgramPhase(name: name, repeatCount: repeatCount, cycle: c)) } else { ok = false }
            t.rejectUnknownKeys()
        }
        if phases.isEmpty && ok { issues.add("phase", "lists no phase") }
        return ok && !phases.isEmpty ? phases : nil
    }

    /// A cycle table. `extraKeys`: the table has other keys its caller reads (a phase's name and
    /// repeat), so unknown keys are left for the caller to reject.
    static func cycle(_ t: inout TableReader, extraKeys: Bool = false) -> CycleDefinition? {
        let issues = t.issues
        let period = t.number("period_s", upTo: InputLimits.maxStepSeconds, "s")
        let rest = t.number("rest_s", upTo: InputLimits.maxStepSeconds, "s")
        var pacing: CyclePacing?
        switch (period, rest) {
        case (let p?, nil): pacing = .period(p)
        case (nil, let r?): pacing = .rest(r)
        case (nil, nil):
            // Present but invalid has been reported already.
            if !t.has("period_s") && !t.has("rest_s") { issues.add(t.path, "give period_s (start to start) or rest_s (after the last release)") }
        default: issues.add(t.path, "give period_s or rest_s, not both")
        }
        var steps: [ChamberStep] = []
        var ok = true
        for var s in t.tables("chamber", maxCount: InputLimits.maxStepsPerCycle) {
            if let step = chamberStep(&s) { steps.append(step) } else { ok = false }
            s.rejectUnknownKeys()
        }
        if !extraKeys { t.rejectUnknownKeys() }
        guard let pacing, ok else { return nil }
        return CycleDefinition(pacing: pacing, steps: steps)
    }

    /// Reads a pressure given either absolutely or relative to the intensity level.
    /// Returns nil when absent (and not required) or invalid; `ok` is false when invalid.
    static func pressureSpec(_ t: inout TableReader, absolute: String, relative: String, required: Bool) -> (spec: PressureSpec?, ok: Bool) {
        let a = t.number(absolute, upTo: InputLimits.maxPressureMagnitude, "mmHg")
        let r = t.number(relative, upTo: InputLimits.maxPressureMagnitude, "mmHg")
        switch (a, r) {
        case (let a?, nil): return (.absolute(Pressure(mmHg: a)), true)
        case (nil, let r?): return (.levelOffset(Pressure(mmHg: r)), true)
        case (nil, nil):
            // A key that is present but of the wrong type has been reported already.
            if t.has(absolute) || t.has(relative) { return (nil, false) }
            if required { t.issues.add(t.path, "give \(absolute) or \(relative)") }
            return (nil, !required)
        default:
            t.issues.add(t.path, "give \(absolute) or \(relative), not both")
            return (nil, false)
        }
    }

    static func chamberStep(_ t: inout TableReader) -> ChamberStep? {
        let name = t.string("name", required: true)
        let target = pressureSpec(&t, absolute: "target_mmHg", relative: "target_level_offset_mmHg", required: true)
        let holdP = pressureSpec(&t, absolute: "hold_mmHg", relative: "hold_level_offset_mmHg", required: false)
        let ramp = t.number("ramp_s", upTo: InputLimits.maxStepSeconds, "s") ?? 0
        let id = t.string("id")
        let rise = t.number("rise_s", upTo: InputLimits.maxStepSeconds, "s")
        let inflate = trigger(&t, "inflate", required: true)
        let hold = trigger(&t, "hold", required: false)
        let release = trigger(&t, "release", required: true)
        if holdP.spec != nil && hold == nil && !t.has("hold") { t.issues.add(t.keyPath("hold"), "is required with a hold pressure: when to settle to it") }
        if holdP.spec == nil && holdP.ok && t.has("hold") { t.issues.add(t.path, "hold needs hold_mmHg or hold_level_offset_mmHg") }
        guard let name, let targetSpec = target.spec, holdP.ok, let inflate, let release else { return nil }
        var holdStep: ChamberStep.HoldStep?
        if let hp = holdP.spec, let hold { holdStep = .init(pressure: hp, at: hold) }
        if let id, id.isEmpty || id == "cycle" || id == "all" || id.contains(".") {
            t.issues.add(t.keyPath("id"), "\"\(id)\" cannot name a step: use a name without dots, other than \"cycle\" and \"all\" (e.g. \"calf-2\")")
            return nil
        }
        return ChamberStep(chamber: name, target: targetSpec, inflate: inflate, rampSeconds: ramp, hold: holdStep, release: release, id: id, riseSeconds: rise)
    }

    /// A trigger: `{ at_s = 2.5 }` or `{ after = "ankle.reached", delay_s = 1 }`.
    static func trigger(_ t: inout TableReader, _ key: String, required: Bool) -> Trigger? {
        let path = t.keyPath(key)
        guard let n = t.node(key) else {
            if required { t.issues.add(path, "is required: { at_s = SECONDS } or { after = \"EVENT\", delay_s = SECONDS }") }
            return nil
        }
        guard case .table(let values) = n else {
            t.issues.add(path, "must be an inline table such as { at_s = 2.5 } or { after = \"calf.reached\" }, found \(n.typeName)")
            return nil
        }
        var r = TableReader(values, path: path, issues: t.issues)
        let at = r.number("at_s", upTo: InputLimits.maxStepSeconds, "s")
        let after = r.string("after")
        let delay = r.number("delay_s", upTo: InputLimits.maxStepSeconds, "s")
        r.rejectUnknownKeys()
        switch (at, after) {
        case (let at?, nil):
            if delay != nil { t.issues.add(path, "delay_s goes with after; with at_s the time is already absolute") }
            return .at(at)
        case (nil, let after?):
            guard let event = parseEvent(after) else {
                t.issues.add("\(path).after", "\"\(after)\" is not an event: use \"cycle\", \"all.reached\", or \"CHAMBER.inflate\", \"CHAMBER.reached\", \"CHAMBER.release\"")
                return nil
            }
            return Trigger(event, delay: delay ?? 0)
        case (nil, nil):
            // A present but invalid at_s or after has been reported already.
            if !r.has("at_s") && !r.has("after") { t.issues.add(path, "give at_s or after") }
            return nil
        default:
            t.issues.add(path, "give at_s or after, not both")
            return nil
        }
    }

    static func parseEvent(_ s: String) -> TriggerEvent? {
        if s == "cycle" { return .cycleStart }
        if s == "all.reached" { return .allReached }
        guard let dot = s.lastIndex(of: "."), dot != s.startIndex else { return nil }
        let chamber = String(s[..<dot])
        switch s[s.index(after: dot)...] {
        case "inflate": return .inflated(chamber)
        case "reached": return .reached(chamber)
        case "release": return .released(chamber)
        default: return nil
        }
    }
}
