import SoleusCore
import SoleusSimulation

/// A hardware profile (`hardware/*.toml`, format in `docs/hardware.md`): the boot's chambers, its
/// hard limits, the controller tuning and the backend that drives it.
public struct HardwareProfile: Sendable, Equatable {
    public enum Backend: Sendable, Equatable {
        /// The physical simulator, with its parameters.
        case simulated(BootParameters)
    }

    public var name: String
    public var boot: BootDescription
    public var regulator: RegulatorSettings
    /// Safety supervisor thresholds (`[safety]`), with the ceiling and the sustained-pressure
    /// limit taken from `[limits]`.
    public var safety: SafetySettings
    public var backend: Backend
    /// The file's text, stored with every session run on it.
    public var text: String
    /// Where it was read from.
    public var path: String
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
        doc.rejectUnknownKeys(known: profile == nil ? ["simulation"] : [])
        guard issues.issues.isEmpty, let profile else { throw ConfigError(file: file, issues: issues.issues) }
        return profile
    }

    static func read(_ doc: inout TableReader, text: String, file: String) -> HardwareProfile? {
        let issues = doc.issues
        var header = doc.table("profile", required: true)
        let name = header?.string("name", required: true)
        let backendName = header?.string("backend", required: true)
        let chambers = header?.strings("chambers", required: true, maxCount: maxChambers)
        header?.rejectUnknownKeys()
        if let chambers {
            if chambers.isEmpty || chambers.count > maxChambers {
                issues.add("profile.chambers", "a boot has 1 to \(maxChambers) chambers, this lists \(chambers.count)")
            }
            if Set(chambers).count != chambers.count { issues.add("profile.chambers", "chamber names must be unique") }
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
        if var t = doc.table("safety") {
            readSafety(&t, into: &safety)
            t.rejectUnknownKeys()
        }
        safety.ceiling = limits.ceiling.mmHg
        safety.maxCompression = limits.maxCompressionSeconds

        var backend: HardwareProfile.Backend?
        switch backendName {
        case "simulated":
            if var sim = doc.table("simulation", required: true) {
                if let params = simulation(&sim, chambers: chambers ?? []) { backend = .simulated(params) }
                sim.rejectUnknownKeys()
            }
        case nil: break
        case let other?:
            issues.add("profile.backend", "\"\(other)\" is not a backend this build supports (supported: \"simulated\"; the gpio and modbus drivers are not built yet)")
        }

        guard let name, let chambers, let backend else { return nil }
        return HardwareProfile(
            name: name, boot: BootDescription(chambers: chambers, limits: limits), regulator: regulator,
            safety: safety, backend: backend, text: text, path: file)
    }

    /// The `[safety]` table: every key optional, defaults in ``SafetySettings``.
    static func readSafety(_ t: inout TableReader, into s: inout SafetySettings) {
        let issues = t.issues
        func seconds(_ key: String, _ apply: (Double) -> Void) {
            guard let v = t.number(key) else { return }
            if v <= 0 || v > 600 { issues.add(t.keyPath(key), "must be above 0 and at most 600 s") } else { apply(v) }
        }
        func mmHg(_ key: String, _ apply: (Double) -> Void) {
            guard let v = t.number(key) else { return }
            if v <= 0 || v > 300 { issues.add(t.keyPath(key), "must be above 0 and at most 300 mmHg") } else { apply(v) }
        }
        func count(_ key: String, _ apply: (Int) -> Void) {
            guard let v = t.integer(key) else { return }
            if v < 2 || v > 16 { issues.add(t.keyPath(key), "must be between 2 and 16") } else { apply(v) }
        }
        mmHg("over_target_band_mmHg") { s.overTargetBand = $0 }
        seconds("over_target_debounce_s") { s.overTargetDebounce = $0 }
        seconds("reach_timeout_s") { s.reachTimeout = $0 }
        mmHg("reach_band_mmHg") { s.reachBand = $0 }
        if let v = t.number("leak_duty") {
            if v <= 0 || v >= 1 { issues.add(t.keyPath("leak_duty"), "must be between 0 and 1 (a share of time)") } else { s.leakDuty = v }
        }
        seconds("leak_averaging_s") { s.leakAveraging = $0 }
        seconds("trim_window_s") { s.trimWindow = $0 }
        mmHg("closed_rise_mmHg") { s.closedRise = $0 }
        seconds("closed_rise_debounce_s") { s.closedRiseDebounce = $0 }
        count("hold_trims") { s.holdTrims = $0 }
        if let v = t.number("max_rise_rate_mmHg_s") {
            if v < 50 || v > 10_000 { issues.add(t.keyPath("max_rise_rate_mmHg_s"), "must be between 50 and 10000 mmHg/s") } else { s.maxRiseRate = v }
        }
        seconds("pump_no_rise_s") { s.pumpNoRiseTime = $0 }
        mmHg("pump_min_rise_mmHg") { s.pumpMinRise = $0 }
        if let v = t.number("sensor_min_mmHg") {
            if v > 0 || v < -50 { issues.add(t.keyPath("sensor_min_mmHg"), "must be between -50 and 0 mmHg") } else { s.sensorMin = v }
        }
        if let v = t.number("sensor_max_mmHg") {
            if v < 150 || v > 1000 { issues.add(t.keyPath("sensor_max_mmHg"), "must be between 150 and 1000 mmHg") } else { s.sensorMax = v }
        }
        seconds("frozen_activity_s") { s.frozenActivity = $0 }
        seconds("stale_after_s") { s.staleAfter = $0 }
        seconds("vent_timeout_s") { s.ventTimeout = $0 }
        mmHg("vented_above_mmHg") { s.ventedAbove = $0 }
        mmHg("gradient_band_mmHg") { s.gradientBand = $0 }
        seconds("gradient_debounce_s") { s.gradientDebounce = $0 }
        seconds("overrun_after_s") { s.overrunAfter = $0 }
    }

    static func simulation(_ t: inout TableReader, chambers: [String]) -> BootParameters? {
        let issues = t.issues
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
        set("actuator_delay_s", { p.actuatorDelay = $0 }, max: 1)
        set("sensor_noise_mmHg", { p.sensorNoise = $0 }, max: 20)
        set("sensor_resolution_mmHg", { p.sensorResolution = $0 }, max: 10)
        set("sensor_latency_s", { p.sensorLatency = $0 }, max: 1)
        set("sensor_full_scale_mmHg", { p.sensorFullScale = $0 }, min: 10, max: InputLimits.maxPressureMagnitude)
        set("physics_rate_hz", { p.physicsRate = $0 }, min: 100, max: 100_000)
        if let seed = t.integer("seed") {
            if seed < 0 { issues.add(t.keyPath("seed"), "must be 0 or more") } else { p.seed = UInt64(seed) }
        }
        let entries = t.tables("chamber", maxCount: maxChambers)
        if entries.count != chambers.count {
            issues.add(t.keyPath("chamber"), "describes \(entries.count) chambers but profile.chambers lists \(chambers.count); give one [[simulation.chamber]] per chamber, in the same order")
        }
        var ok = true
        for (i, var e) in entries.enumerated() {
            let name = e.string("name", required: true)
            if let name, i < chambers.count, name != chambers[i] {
                issues.add(e.keyPath("name"), "is \"\(name)\" but profile.chambers[\(i)] is \"\(chambers[i])\"; list them in the same order")
                ok = false
            }
            let v = e.number("volume_l", upTo: 100, "l", required: true)
            let c = e.number("compliance_l_per_mmHg", upTo: 1, "l/mmHg", required: true)
            let leak = e.number("leak", upTo: 10, "(orifice coefficient)") ?? 0
            if let v, v <= 0 { issues.add(e.keyPath("volume_l"), "must be above 0"); ok = false }
            if let c, c < 0 { issues.add(e.keyPath("compliance_l_per_mmHg"), "must be 0 or more"); ok = false }
            if leak < 0 { issues.add(e.keyPath("leak"), "must be 0 or more"); ok = false }
            e.rejectUnknownKeys()
            if let v, let c { p.chambers.append(.init(volumeL: v, complianceLPerMmHg: c, leak: leak)) } else { ok = false }
        }
        return ok ? p : nil
    }
}
