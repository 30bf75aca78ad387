import SoleusCore
import SoleusHardware
import SoleusSimulation

/// A hardware profile (`hardware/*.toml`, format in `docs/hardware.md`): the boot's chambers, its
/// hard limits, the controller tuning and the backend that drives it.
public struct HardwareProfile: Sendable, Equatable {
    public enum Backend: Sendable, Equatable {
        /// The physical simulator, with its parameters.
        case simulated(BootParameters)
        /// Real hardware wired as `wiring` says; `model` (the profile's optional `[simulation]`
        /// table) describes its garment, pump and sensors for timing predictions and for
        /// `soleus sim serve`.
        case io(BootWiring, model: BootParameters?)
    }

    public var name: String
    public var boot: BootDescription
    public var regulator: RegulatorSettings
    /// Safety supervisor thresholds (`[safety]`), with the ceiling and the sustained-pressure
    /// limit taken from `[limits]`.
    public var safety: SafetySettings
    public var backend: Backend
    /// The safety hardware the boot has (`[protection]`).
    public var protection: Protection
    /// Hazards this profile leaves open (missing safety hardware, wiring that is not fail-safe),
    /// for the operator to read.
    public var warnings: [String] {
        // A real boot's wiring says where its E-stop is (or that it has none) in its own warning.
        let protectionWarnings = wiring == nil ? protection.warnings : protection.warnings.filter { !$0.hasPrefix("no direct emergency stop") }
        return protectionWarnings + wiringWarnings
    }
    /// Warnings about the wiring of a real boot.
    public var wiringWarnings: [String] = []

    /// The garment, pump and sensor model: the simulator's parameters, or a real boot's `[simulation]`.
    public var model: BootParameters? {
        switch backend {
        case .simulated(let p): p
        case .io(_, let m): m
        }
    }

    /// The wiring of a real boot.
    public var wiring: BootWiring? {
        if case .io(let w, _) = backend { return w }
        return nil
    }

    /// The profile with its Modbus endpoint replaced (`--modbus`: one profile serves a bench and a
    /// test port); the bus budget is checked again for the new endpoint.
    public func overridingModbus(_ text: String) throws(ConfigError) -> HardwareProfile {
        guard case .io(var wiring, let model) = backend, var settings = wiring.modbus else {
            throw ConfigError(file: path, issues: [ConfigIssue(keyPath: "modbus", message: "--modbus given, but this profile has no Modbus link")])
        }
        do { settings.endpoint = try ModbusEndpoint(parsing: text) } catch {
            throw ConfigError(file: "--modbus", issues: [ConfigIssue(keyPath: "", message: error.description)])
        }
        wiring.modbus = settings
        let problems = ModbusBudget(map: ModbusMap(wiring: wiring), settings: settings).problems(settings: settings, staleAfter: safety.staleAfter)
        if !problems.isEmpty { throw ConfigError(file: "--modbus \(text)", issues: problems.map { ConfigIssue(keyPath: "modbus", message: $0) }) }
        var p = self
        p.backend = .io(wiring, model: model)
        return p
    }

    /// Timing of `plan` that this garment cannot meet (errors) or meets with little to spare
    /// (warnings), predicted from the profile's pump and garment model.
    public func timing(of plan: TreatmentPlan) -> [TimingFeasibility.Finding] {
        guard let model else { return [] }
        return TimingFeasibility.check(plan, boot: boot, parameters: model, regulator: regulator)
    }

    /// `plan` checked for timing: throws the errors, naming `file` and each step's key; returns the
    /// warnings as text.
    public func checkTiming(of plan: TreatmentPlan, file: String) throws(ConfigError) -> [String] {
        let findings = timing(of: plan)
        let errors = findings.filter(\.isError)
        if !errors.isEmpty {
            throw ConfigError(file: file, issues: errors.map { ConfigIssue(keyPath: $0.keyPath, message: $0.message + " (predicted from \(path))") })
        }
        return findings.map { "\(file): \($0)" }
    }
    /// The file's text, stored with every session run on it.
    public var text: String
    /// Where it was read from.
    public var path: String
}

/// The safety hardware of a boot, declared in the profile's `[protection]` table
/// (`docs/hardware.md`, "Safety hardware"). Each one closes hazards that software on one sensor
/// per chamber cannot (`docs/safety.md`, "What needs which hardware").
public struct Protection: Sendable, Equatable {
    /// A supervisor-owned relay removes power from the pump and every valve.
    public var safetyRelay = false
    /// The E-stop is read on its own input (a GPIO line), not through an I/O module's link, and
    /// opens the safety relay by wire.
    public var directEmergencyStop = false
    /// A second, independent pressure transducer per chamber.
    public var redundantSensors = false

    public init(safetyRelay: Bool = false, directEmergencyStop: Bool = false, redundantSensors: Bool = false) {
        self.safetyRelay = safetyRelay
        self.directEmergencyStop = directEmergencyStop
        self.redundantSensors = redundantSensors
    }

    /// One line per missing piece, naming the hazards it leaves open.
    public var warnings: [String] {
        var w: [String] = []
        if !safetyRelay {
            w.append("no safety relay (protection.safety_relay): a pump relay welded on together with an inlet stuck open keeps a chamber pressurised, and nothing can cut the pump")
        }
        if !directEmergencyStop {
            w.append("no direct emergency stop (protection.emergency_stop = \"direct\"): the E-stop is read over the I/O link, so if the link drops as it is pressed the press is lost (the output lease still vents)")
        }
        if !redundantSensors {
            w.append("no redundant pressure sensors (protection.redundant_sensors): a sensor drifting or offset low while a chamber holds looks like a leak; the true pressure can pass the target + band before the unexplained-air or vent checks see it")
        }
        return w
    }
}

/// Reads hardware profiles.
public enum HardwareProfileFile {
    public static func load(path: String) throws(ConfigError) -> HardwareProfile {
        let text = try readTextFile(path)
        return try parse(text, file: path)
    }

    public static func parse(_ text: String, file: String) throws(ConfigError) -> HardwareProfile {
        let root = try TOMLNode.parse(text, file: file)
        let issues = IssueCollector()
        var doc = TableReader(root, path: "", issues: issues)
        let profile = read(&doc, text: text, file: file)
        // With an unsupported backend its own table was not read: report the backend, not the table.
        doc.rejectUnknownKeys(known: profile == nil ? ["simulation", "gpio", "modbus", "wiring"] : [])
        guard issues.issues.isEmpty, let profile else { throw ConfigError(file: file, issues: issues.issues) }
        return profile
    }

    static func read(_ doc: inout TableReader, text: String, file: String) -> HardwareProfile? {
        let issues = doc.issues
        var header = doc.table("profile", required: true)
        let name = header?.string("name", required: true)
        let backendName = header?.string("backend", required: true)
        let single = header?.strings("chambers", maxCount: maxChambers)
        let policyName = header?.string("on_limb_fault")
        header?.rejectUnknownKeys()
        let hasLimbTables = doc.has("limb")
        let limbs = readLimbs(&doc, single: single, hasChambersKey: header?.has("chambers") ?? false, hasLimbTables: hasLimbTables)
        var policy = LimbFaultPolicy.ventAll
        if let policyName {
            if let p = LimbFaultPolicy(rawValue: policyName) { policy = p } else {
                issues.add("profile.on_limb_fault", "is \"\(policyName)\"; use \"vent-all\" (any fault vents every limb) or \"carry-on\" (a fault confined to one limb vents that limb and the others carry on)")
            }
            if !hasLimbTables { issues.add("profile.on_limb_fault", "applies to a boot of two limbs ([[limb]] tables); this boot has one") }
        }
        let chambers = limbs?.flatMap { l in l.chambers.map { l.qualified($0) } }
        if let chambers {
            if chambers.isEmpty || chambers.count > maxChambers {
                issues.add(limbs?.count == 1 ? "profile.chambers" : "limb", "a boot has 1 to \(maxChambers) chambers over all its limbs, this lists \(chambers.count)")
            }
        }

        var limits = BootLimits()
        if var t = doc.table("limits") {
            if let c = t.number("ceiling_mmHg") {
                if c > BootLimits.absoluteCeiling.mmHg {
                    issues.add("limits.ceiling_mmHg", "\(formatMMHg(c)) mmHg is above the absolute ceiling of \(BootLimits.absoluteCeiling): a profile may lower the ceiling, never raise it")
                } else if c <= 0 {
                    issues.add("limits.ceiling_mmHg", "must be above 0 mmHg")
                } else {
                    limits = BootLimits(ceiling: Pressure(mmHg: c))
                }
            }
            if let m = t.number("max_target_mmHg") {
                if m > limits.ceiling.mmHg || m <= 0 { issues.add("limits.max_target_mmHg", "must be above 0 and at most the ceiling (\(limits.ceiling))") }
                else { limits.maxTarget = Pressure(mmHg: m) }
            }
            if let m = t.number("max_session_min") {
                if m <= 0 || m > InputLimits.maxSessionMinutes {
                    issues.add("limits.max_session_min", "must be above 0 and at most \(formatFixed(InputLimits.maxSessionMinutes, decimals: 0)) min (a day)")
                } else { limits.maxSessionMinutes = m }
            }
            if let v = t.number("max_compression_s") {
                if v <= 0 || v > 600 { issues.add("limits.max_compression_s", "must be above 0 and at most 600 s") } else { limits.maxCompressionSeconds = v }
            }
            if let v = t.number("vented_below_mmHg") {
                if v <= 0 || v > 20 { issues.add("limits.vented_below_mmHg", "must be above 0 and at most 20 mmHg") } else { limits.ventedBelow = Pressure(mmHg: v) }
            }
            t.rejectUnknownKeys()
        }

        var regulator = RegulatorSettings()
        if var t = doc.table("controller") {
            if let hz = t.number("rate_hz") {
                if hz < 10 || hz > 1000 { issues.add("controller.rate_hz", "must be between 10 and 1000 Hz") } else { regulator.tickSeconds = 1 / hz }
            }
            func bounded(_ t: inout TableReader, _ key: String, max: Double, _ unit: String, _ apply: (Double) -> Void) {
                guard let v = t.number(key) else { return }
                if v < 0 || v > max { issues.add(t.keyPath(key), "must be between 0 and \(formatFixed(max, decimals: 0)) \(unit)") } else { apply(v) }
            }
            bounded(&t, "low_band_mmHg", max: 50, "mmHg") { regulator.lowBand = $0 }
            bounded(&t, "high_band_mmHg", max: 50, "mmHg") { regulator.highBand = $0 }
            bounded(&t, "anticipation_s", max: 5, "s") { regulator.anticipationSeconds = $0 }
            bounded(&t, "reach_tolerance_mmHg", max: 50, "mmHg") { regulator.reachTolerance = $0 }
            t.rejectUnknownKeys()
        }

        var safety = SafetySettings()
        var explicit: Set<String> = []
        if var t = doc.table("safety") {
            explicit = readSafety(&t, into: &safety)
            t.rejectUnknownKeys()
        }
        safety.ceiling = limits.ceiling.mmHg
        safety.maxCompression = limits.maxCompressionSeconds
        limits.maxBoost = Pressure(mmHg: safety.boostAllowance)
        if safety.overrunAfter >= safety.staleAfter {
            issues.add("safety.overrun_after_s", "must be below safety.stale_after_s (\(formatFixed(safety.staleAfter, decimals: 3)) s)")
        }
        if safety.unexplainedAirDuty <= safety.leakDuty {
            issues.add("safety.unexplained_air_duty", "must be above safety.leak_duty (\(formatFixed(safety.leakDuty, decimals: 2)))")
        }

        var protection = Protection()
        if var t = doc.table("protection") {
            protection.safetyRelay = t.bool("safety_relay") ?? false
            protection.redundantSensors = t.bool("redundant_sensors") ?? false
            switch t.string("emergency_stop") {
            case nil, "io-module": break
            case "direct": protection.directEmergencyStop = true
            case let other?: issues.add("protection.emergency_stop", "is \"\(other)\"; use \"direct\" (its own input, wired to the safety relay) or \"io-module\" (read over the I/O link)")
            }
            t.rejectUnknownKeys()
        }

        var backend: HardwareProfile.Backend?
        var wiringWarnings: [String] = []
        switch backendName {
        case "io":
            var model: BootParameters?
            var modelOK = true
            if var sim = doc.table("simulation") {
                model = simulation(&sim, chambers: chambers)
                modelOK = model != nil
                sim.rejectUnknownKeys()
            }
            if var params = model {
                params.safetyRelay = protection.safetyRelay
                params.directEmergencyStop = protection.directEmergencyStop
                params.redundantSensors = protection.redundantSensors
                params.drives = (limbs ?? []).flatMap { l in l.chambers.map { _ in l.drive } }
                    params.limb?.limbStarts = (limbs ?? []).map(\.firstChamber)
                model = params
                // Rate limits follow the garment and pump; the quiet frozen-sensor check needs the
                // real sensor's noise, which a model does not promise: it stays as [safety] sets it.
                derive(&safety, from: params, ceiling: limits.ceiling.mmHg, explicit: explicit.union(["frozen_quiet_s"]))
            }
            if let chambers, let limbs {
                var reader = WiringReader(issues: issues, chambers: chambers, drives: (limbs.map(\.drive).max() ?? 0) + 1, protection: protection)
                if let wiring = reader.read(&doc, safety: safety), modelOK {
                    backend = .io(wiring, model: model)
                    wiringWarnings = reader.warnings
                    if model == nil { wiringWarnings.append("no [simulation] model of this garment and pump: fill and vent times are not predicted, and `soleus sim serve` cannot serve this profile") }
                }
            }
        case "simulated":
            if var sim = doc.table("simulation", required: true) {
                if var params = simulation(&sim, chambers: chambers) {
                    params.safetyRelay = protection.safetyRelay
                    params.directEmergencyStop = protection.directEmergencyStop
                    params.redundantSensors = protection.redundantSensors
                    params.drives = (limbs ?? []).flatMap { l in l.chambers.map { _ in l.drive } }
                    params.limb?.limbStarts = (limbs ?? []).map(\.firstChamber)
                    backend = .simulated(params)
                    derive(&safety, from: params, ceiling: limits.ceiling.mmHg, explicit: explicit)
                }
                sim.rejectUnknownKeys()
            }
        case nil: break
        case let other?:
            issues.add("profile.backend", "\"\(other)\" is not a backend this build supports: use \"simulated\" (the physical simulator) or \"io\" (real hardware on GPIO and Modbus, wired in [wiring])")
        }

        guard let name, let limbs, let backend, issues.issues.isEmpty else { return nil }
        let boot = limbs.count == 1 && limbs[0].name.isEmpty
            ? BootDescription(chambers: limbs[0].chambers, limits: limits)
            : BootDescription(limbs: limbs, limits: limits, onLimbFault: policy)
        var profile = HardwareProfile(
            name: name, boot: boot, regulator: regulator,
            safety: safety, backend: backend, protection: protection, text: text, path: file)
        profile.wiringWarnings = wiringWarnings
        return profile
    }

    /// The boot's limbs: one unnamed limb from `profile.chambers`, or up to two `[[limb]]` tables,
    /// each with its name, its chambers (distal → proximal) and its pump ("shared" or "own").
    static func readLimbs(_ doc: inout TableReader, single: [String]?, hasChambersKey: Bool, hasLimbTables: Bool) -> [LimbDescription]? {
        let issues = doc.issues
        let tables = doc.tables("limb", maxCount: 2)
        if hasChambersKey == hasLimbTables {
            issues.add("profile", hasChambersKey ? "give profile.chambers (one limb) or [[limb]] tables (two limbs), not both" : "give profile.chambers (one limb, distal → proximal) or [[limb]] tables")
            return nil
        }
        if let single {
            if Set(single).count != single.count { issues.add("profile.chambers", "chamber names must be unique") }
            return [LimbDescription(name: "", chambers: single, firstChamber: 0, drive: 0)]
        }
        if hasChambersKey { return nil }
        var limbs: [LimbDescription] = []
        var sharedDrive: Int?
        var drives = 0
        var ok = true
        for var t in tables {
            let name = t.string("name", required: true)
            let chambers = t.strings("chambers", required: true, maxCount: maxChambers)
            let pump = t.string("pump") ?? "shared"
            t.rejectUnknownKeys()
            guard let name, let chambers else { ok = false; continue }
            if name.isEmpty || name.contains(".") || limbs.contains(where: { $0.name == name }) {
                issues.add(t.keyPath("name"), "must be a unique limb name without dots (e.g. \"left\"), got \"\(name)\"")
                ok = false
            }
            if chambers.isEmpty { issues.add(t.keyPath("chambers"), "lists no chamber") ; ok = false }
            if Set(chambers).count != chambers.count { issues.add(t.keyPath("chambers"), "chamber names must be unique within the limb"); ok = false }
            let drive: Int
            switch pump {
            case "shared":
                if sharedDrive == nil { sharedDrive = drives; drives += 1 }
                drive = sharedDrive ?? 0
            case "own":
                drive = drives
                drives += 1
            default:
                issues.add(t.keyPath("pump"), "is \"\(pump)\"; use \"shared\" (one pump and safety relay for the limbs that say so) or \"own\" (this limb has its own pump and relay)")
                ok = false
                continue
            }
            let first = limbs.last.map { $0.firstChamber + $0.chambers.count } ?? 0
            limbs.append(LimbDescription(name: name, chambers: chambers, firstChamber: first, drive: drive))
        }
        return ok && !limbs.isEmpty ? limbs : nil
    }

    /// Thresholds that follow the garment, pump and sensors, unless the profile sets them: the
    /// rise- and fall-rate limits (``PressureRateRule``) and the quiet frozen-sensor check, which
    /// needs sensor noise of at least one resolution step to be sure a repeated value is stuck.
    static func derive(_ safety: inout SafetySettings, from p: BootParameters, ceiling: Double, explicit: Set<String>) {
        let rule = PressureRateRule(parameters: p, ceiling: ceiling)
        if !explicit.contains("max_rise_rate_mmHg_s") { safety.maxRiseRate = rule.maxRiseRate }
        if !explicit.contains("max_fall_rate_mmHg_s") { safety.maxFallRate = rule.maxFallRate }
        // A late tick leaves a filling chamber's inlet open: at the rise limit (twice the
        // garment's fastest healthy rise) 10 mmHg of overshoot, the headroom below the ceiling,
        // is where lateness starts to matter; always short of the stale-readings limit, where
        // the high loop-stall takes over (docs/safety.md, "Loop lateness").
        if !explicit.contains("overrun_after_s") {
            let range = SafetyThreshold.named("overrun_after_s")?.range ?? 0.001...0.05
            let derived = min(SafetySettings.lateOvershoot / safety.maxRiseRate, 0.9 * safety.staleAfter)
            safety.overrunAfter = min(max(derived, range.lowerBound), range.upperBound)
        }
        if !explicit.contains("frozen_quiet_s") && p.sensorNoise > 0 && p.sensorNoise >= p.sensorResolution {
            safety.frozenQuiet = PressureRateRule.frozenQuietSeconds
        }
    }

    /// The `[safety]` table: every key optional, each one a row of ``SafetyThreshold/table`` and
    /// checked against its range. Returns the keys the profile set.
    static func readSafety(_ t: inout TableReader, into s: inout SafetySettings) -> Set<String> {
        var set: Set<String> = []
        for row in SafetyThreshold.table {
            let value: Double?
            if row.integer {
                value = t.integer(row.key).map { Double($0) }
            } else {
                value = t.number(row.key)
            }
            guard let v = value else { continue }
            guard row.range.contains(v) else {
                let decimals = row.integer ? 0 : 3
                t.issues.add(t.keyPath(row.key), "must be between \(formatFixed(row.range.lowerBound, decimals: decimals)) and \(formatFixed(row.range.upperBound, decimals: decimals)) \(row.unit), got \(formatFixed(v, decimals: decimals)): \(row.reason)")
                continue
            }
            row.apply(v, to: &s)
            set.insert(row.key)
        }
        return set
    }

    /// `chambers`: the boot's chamber names, nil when the profile's own list is invalid (already
    /// reported; the simulation table is then checked on its own).
    static func simulation(_ t: inout TableReader, chambers known: [String]?) -> BootParameters? {
        let chambers = known ?? []
        let issues = t.issues
        let issuesBefore = issues.issues.count
        var p = BootParameters(chambers: [])
        // Upper bounds are about 100× any real part's value: they keep the physics on ordinary
        // numbers whatever a file says.
        func set(_ key: String, _ apply: (Double) -> Void, min: Double = 0, max: Double) {
            guard let v = t.number(key) else { return }
            if v < min || v > max { issues.add(t.keyPath(key), "must be between \(formatFixed(min, decimals: 4)) and \(formatFixed(max, decimals: 3))") } else { apply(v) }
        }
        set("pump_max_flow_nl_s", { p.pumpMaxFlow = $0 }, min: 0.001, max: 100)
        set("pump_stall_mmHg", { p.pumpStall = $0 }, min: 1, max: InputLimits.maxPressureMagnitude)
        set("inlet_orifice", { p.inletOrifice = $0 }, min: 0.0001, max: 10)
        set("exhaust_orifice", { p.exhaustOrifice = $0 }, min: 0.0001, max: 10)
        // The parameters the supervisor's reasoning depends on have safety bounds (HardwareBound).
        func bounded(_ key: String, _ apply: (Double) -> Void) {
            guard let b = HardwareBound.named(key), let v = t.number(key) else { return }
            if b.range.contains(v) { apply(v) } else {
                issues.add(t.keyPath(key), "must be between \(formatFixed(b.range.lowerBound, decimals: 3)) and \(formatFixed(b.range.upperBound, decimals: 3)) \(b.unit), got \(formatFixed(v, decimals: 3)): \(b.reason)")
            }
        }
        bounded("actuator_delay_s") { p.actuatorDelay = $0 }
        set("sensor_noise_mmHg", { p.sensorNoise = $0 }, max: 20)
        set("sensor_resolution_mmHg", { p.sensorResolution = $0 }, max: 10)
        bounded("sensor_latency_s") { p.sensorLatency = $0 }
        bounded("sensor_full_scale_mmHg") { p.sensorFullScale = $0 }
        set("physics_rate_hz", { p.physicsRate = $0 }, min: 100, max: 100_000)
        if let seed = t.integer("seed") {
            if seed < 0 { issues.add(t.keyPath("seed"), "must be 0 or more") } else { p.seed = UInt64(seed) }
        }
        let entries = t.tables("chamber", maxCount: maxChambers)
        let hasLimb = t.has("limb")
        let limbTable = hasLimb ? t.table("limb") : nil
        var segments: [LimbParameters.Segment] = []
        if known != nil && entries.count != chambers.count {
            issues.add(t.keyPath("chamber"), "describes \(entries.count) chambers but the profile's chambers (limb by limb) are \(chambers.count); give one [[simulation.chamber]] per chamber, in the same order")
        }
        var ok = true
        for (i, var e) in entries.enumerated() {
            let name = e.string("name", required: true)
            if let name, i < chambers.count, name != chambers[i] {
                issues.add(e.keyPath("name"), "is \"\(name)\" but the profile's chamber \(i + 1) is \"\(chambers[i])\"; list them in the same order")
                ok = false
            }
            let v = e.number("volume_l", upTo: 100, "l", required: true)
            let c = e.number("compliance_l_per_mmHg", upTo: 1, "l/mmHg", required: true)
            let leak = e.number("leak", upTo: 10, "(orifice coefficient)") ?? 0
            if let v, v <= 0 { issues.add(e.keyPath("volume_l"), "must be above 0"); ok = false }
            if let c, c < 0 { issues.add(e.keyPath("compliance_l_per_mmHg"), "must be 0 or more"); ok = false }
            if leak < 0 { issues.add(e.keyPath("leak"), "must be 0 or more"); ok = false }
            segments.append(segment(&e, limb: hasLimb))
            e.rejectUnknownKeys()
            if let v, let c { p.chambers.append(.init(volumeL: v, complianceLPerMmHg: c, leak: leak)) } else { ok = false }
        }
        if var lt = limbTable {
            p.limb = limb(&lt, segments: segments)
            lt.rejectUnknownKeys()
        }
        return ok && issues.issues.count == issuesBefore ? p : nil
    }

    /// A chamber's segment of limb (its limb keys; defaults for an adult calf, `docs/limb-model.md`).
    /// Without a `[simulation.limb]` table the keys are refused: they would be silently unused.
    static func segment(_ e: inout TableReader, limb: Bool) -> LimbParameters.Segment {
        var s = LimbParameters.Segment()
        let keys = ["venous_ml", "ejectable", "seated_depth_cm", "tissue_ml_per_mmHg"]
        guard limb else {
            for k in keys where e.has(k) {
                _ = e.node(k)
                e.issues.add(e.keyPath(k), "describes the limb, but the profile has no [simulation.limb] table: add one (docs/limb-model.md) or remove the key")
            }
            return s
        }
        if let v = e.number("venous_ml", in: 0...2000, "mL") { s.venousML = v }
        if let v = e.number("ejectable", in: 0...1, "(share of the venous volume)") { s.ejectable = v }
        if let v = e.number("seated_depth_cm", in: 0...150, "cm") { s.seatedDepthCM = v }
        if let v = e.number("tissue_ml_per_mmHg", in: 0...10, "mL/mmHg") { s.tissueMLPerMmHg = v }
        return s
    }

    /// The `[simulation.limb]` table: the limb inside the garment.
    static func limb(_ t: inout TableReader, segments: [LimbParameters.Segment]) -> LimbParameters {
        var l = LimbParameters(segments: segments)
        switch t.string("kind") {
        case nil, "leg": break
        case "dummy": l.venous = false
        case let other?: t.issues.add(t.keyPath("kind"), "is \"\(other)\"; use \"leg\" (venous compartments that empty and refill) or \"dummy\" (a foam or plastic form: tissue only, no blood)")
        }
        if let name = t.string("posture") {
            if let posture = LimbParameters.Posture(rawValue: name) { l.posture = posture } else {
                t.issues.add(t.keyPath("posture"), "is \"\(name)\"; use one of \(LimbParameters.Posture.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", "))")
            }
        }
        if let v = t.number("refill_s", in: 1...300, "s") { l.refillSeconds = v }
        if let v = t.number("emptying_s", in: 0.1...30, "s") { l.emptyingSeconds = v }
        if let v = t.number("resting_venous_mmHg", in: 0...40, "mmHg") { l.restingVenousMmHg = v }
        if let v = t.number("emptying_mmHg", in: 1...200, "mmHg") { l.emptyingMmHg = v }
        if let v = t.number("tissue_s", in: 0.1...600, "s") { l.tissueSeconds = v }
        if let v = t.number("ambient_c", in: -20...45, "°C") { l.ambientC = v }
        if let v = t.number("skin_c", in: 20...42, "°C") { l.skinC = v }
        if let v = t.number("thermal_s", in: 1...3600, "s") { l.thermalSeconds = v }
        if let v = t.number("outlet_area_cm2", in: 0.05...20, "cm²") { l.outletAreaCM2 = v }
        return l
    }
}
