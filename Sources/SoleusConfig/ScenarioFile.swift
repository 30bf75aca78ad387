import SoleusCore
import SoleusSimulation

/// A fault scenario (`scenarios/*.toml`): a protocol on a simulated profile, a timeline of faults
/// and operator actions, and the outcome expected. Format in `docs/safety.md`.
public struct Scenario: Sendable {
    public var name: String
    public var summary: String
    /// Paths resolved against the scenario file's folder.
    public var protocolPath: String
    public var profilePath: String
    /// Run only this many main cycles (keeps scenarios short), if given.
    public var cycles: Int?
    /// The limb a single-limb protocol runs on, on a boot of two limbs.
    public var limb: String?
    public var timeline: [TimedAction]
    public var expect: Expectation
    public var path: String

    public struct TimedAction: Sendable {
        public var at: Double
        /// Seconds after which a fault is removed again (e.g. a brief limb movement), if given.
        public var duration: Double?
        public var action: Action
    }

    public enum Action: Sendable {
        case fault(Fault)
        case operatorCommand(String)
        /// The loop starts its ticks this late (s) for `duration` seconds.
        case loopStall(lateness: Double)
        /// The session log cannot be written (a full or failing disk) for `duration` seconds, or
        /// to the end.
        case storageFailure
    }

    public enum Fault: Sendable, Equatable {
        case leak(chamber: Int, coefficient: Double)
        case inlet(chamber: Int, SimulatedFaults.ValveFault)
        case exhaust(chamber: Int, SimulatedFaults.ValveFault)
        case pumpWeak(strength: Double)
        case pumpDead
        case pumpStuckOn
        /// A fault of one chamber's pressure sensor; `redundant` picks the second transducer.
        case sensor(chamber: Int, redundant: Bool, SensorFault)
        case occlusion(chamber: Int)
        /// The garment's hose comes off this outlet: no bladder there any more.
        case hoseOff(chamber: Int)
        /// Squeeze to `fraction` of the volume, ramping over `over` seconds.
        case squeeze(chamber: Int, fraction: Double, over: Double)
        case communicationLoss
        case emergencyStop
    }

    public enum SensorFault: Sendable, Equatable {
        /// Stuck at this value, or (nil) at the true pressure when the fault begins.
        case stuck(Double?)
        case drift(perSecond: Double)
        case disconnected
        case offset(Double)
        /// Extra Gaussian noise of this standard deviation (mmHg).
        case noisy(Double)
    }

    public struct Expectation: Sendable {
        /// The alarm that must be raised (nil: none may be raised).
        public var alarm: AlarmCondition?
        public var priority: AlarmPriority?
        /// Raised within this many ms of the first fault.
        public var withinMs: Double?
        /// The true pressure in every chamber never exceeds this (default: ceiling + 5 mmHg).
        public var maxPressure: Double
        /// Every chamber (but `unvented`) below 5 mmHg within this many seconds of the alarm.
        public var ventedWithin: Double?
        /// Chambers that physically cannot vent in this scenario (e.g. exhaust stuck closed).
        public var unvented: [Int]
        public var endReason: String?
    }
}

public enum ScenarioFile {
    /// Loads a scenario and checks its chamber names against the profile it names.
    public static func load(path: String) throws(ConfigError) -> Scenario {
        let text = try readTextFile(path)
        let dir = path.contains("/") ? String(path[..<(path.lastIndex(of: "/") ?? path.endIndex)]) : "."
        return try parse(text, file: path, directory: dir)
    }

    /// Parses scenario text; its protocol and profile paths are resolved against `directory`
    /// (the profile is read to check chamber names).
    public static func parse(_ text: String, file path: String, directory dir: String) throws(ConfigError) -> Scenario {
        let root = try TOMLNode.parse(text, file: path)
        let issues = IssueCollector()
        var doc = TableReader(root, path: "", issues: issues)
        var head = doc.table("scenario", required: true)
        let name = head?.string("name", required: true)
        let summary = head?.string("summary") ?? ""
        let protocolRel = head?.string("protocol", required: true)
        let profileRel = head?.string("hardware", required: true)
        let cycles = head?.integer("cycles", upTo: InputLimits.maxScenarioCycles)
        if let cycles, cycles < 1 { issues.add("scenario.cycles", "must be at least 1, got \(cycles)") }
        let limb = head?.string("limb")
        head?.rejectUnknownKeys()
        func resolve(_ p: String) -> String { p.hasPrefix("/") ? p : dir + "/" + p }
        guard let protocolRel, let profileRel else { throw ConfigError(file: path, issues: issues.issues) }
        let profile: HardwareProfile
        do { profile = try HardwareProfileFile.load(path: resolve(profileRel)) } catch {
            throw ConfigError(file: path, issues: [ConfigIssue(keyPath: "scenario.hardware", message: error.description)])
        }
        func chamber(_ t: inout TableReader) -> Int? {
            guard let n = t.string("chamber", required: true) else { return nil }
            guard let i = profile.boot.chambers.firstIndex(of: n) else {
                issues.add(t.keyPath("chamber"), "\"\(n)\" is not a chamber of \(profileRel) (\(profile.boot.chambers.joined(separator: ", ")))")
                return nil
            }
            return i
        }
        var timeline: [Scenario.TimedAction] = []
        for var e in doc.tables("event", maxCount: InputLimits.maxScenarioEvents) {
            let at = e.number("at_s", in: 0...InputLimits.maxScenarioSeconds, "s", required: true)
            let duration = e.number("duration_s", in: 0...InputLimits.maxScenarioSeconds, "s")
            var action: Scenario.Action?
            if let op = e.string("operator") {
                if ["acknowledge", "reset", "pause-audio", "stop"].contains(op) { action = .operatorCommand(op) }
                else { issues.add(e.keyPath("operator"), "\"\(op)\" is not an operator action (acknowledge, reset, pause-audio, stop)") }
            } else if let kind = e.string("fault", required: true) {
                action = fault(kind, &e, chamber: chamber).map { $0 }
            }
            e.rejectUnknownKeys()
            if let at, let action { timeline.append(.init(at: at, duration: duration, action: action)) }
        }
        var expect = Scenario.Expectation(maxPressure: profile.boot.limits.ceiling.mmHg + 5, unvented: [])
        if var x = doc.table("expect", required: true) {
            if let a = x.string("alarm") {
                if a == "none" { expect.alarm = nil }
                else if let c = AlarmCondition(id: a) { expect.alarm = c }
                else { issues.add(x.keyPath("alarm"), "\"\(a)\" is not an alarm (\(AlarmCondition.allCases.map(\.description).joined(separator: ", ")), or none)") }
            } else {
                issues.add(x.keyPath("alarm"), "is required: the alarm expected, or \"none\"")
            }
            if let p = x.string("priority") {
                switch p {
                case "high": expect.priority = .high
                case "medium": expect.priority = .medium
                case "low": expect.priority = .low
                default: issues.add(x.keyPath("priority"), "must be high, medium or low")
                }
            }
            expect.withinMs = x.number("within_ms", in: 0...InputLimits.maxScenarioSeconds * 1000, "ms")
            if let m = x.number("max_pressure_mmHg", in: 0...InputLimits.maxPressureMagnitude, "mmHg") { expect.maxPressure = m }
            expect.ventedWithin = x.number("vented_within_s", in: 0...InputLimits.maxScenarioSeconds, "s")
            expect.endReason = x.string("end_reason")
            for n in x.strings("unvented", maxCount: maxChambers) ?? [] {
                if let i = profile.boot.chambers.firstIndex(of: n) { expect.unvented.append(i) }
                else { issues.add(x.keyPath("unvented"), "\"\(n)\" is not a chamber of \(profileRel)") }
            }
            x.rejectUnknownKeys()
        }
        doc.rejectUnknownKeys()
        guard issues.issues.isEmpty, let name else { throw ConfigError(file: path, issues: issues.issues) }
        return Scenario(
            name: name, summary: summary, protocolPath: resolve(protocolRel), profilePath: resolve(profileRel),
            cycles: cycles, limb: limb, timeline: timeline.sorted { $0.at < $1.at }, expect: expect, path: path)
    }

    static func fault(_ kind: String, _ e: inout TableReader, chamber: (inout TableReader) -> Int?) -> Scenario.Action? {
        func withChamber(_ make: (Int) -> Scenario.Fault) -> Scenario.Action? { chamber(&e).map { .fault(make($0)) } }
        // Sensor faults hit the first transducer unless `channel = "redundant"`.
        func sensor(_ f: Scenario.SensorFault?) -> Scenario.Action? {
            var redundant = false
            switch e.string("channel") {
            case nil, "primary": break
            case "redundant": redundant = true
            case let other?: e.issues.add(e.keyPath("channel"), "is \"\(other)\"; use \"primary\" or \"redundant\"")
            }
            return f.flatMap { f in withChamber { .sensor(chamber: $0, redundant: redundant, f) } }
        }
        switch kind {
        case "leak":
            let k = e.number("coefficient", in: 0...10, "(orifice coefficient)", required: true)
            return k.flatMap { k in withChamber { .leak(chamber: $0, coefficient: k) } }
        case "inlet-stuck-open": return withChamber { .inlet(chamber: $0, .stuckOpen) }
        case "inlet-stuck-closed": return withChamber { .inlet(chamber: $0, .stuckClosed) }
        case "exhaust-stuck-open": return withChamber { .exhaust(chamber: $0, .stuckOpen) }
        case "exhaust-stuck-closed": return withChamber { .exhaust(chamber: $0, .stuckClosed) }
        case "pump-weak": return e.number("strength", in: 0...1, "(share of full flow)", required: true).map { .fault(.pumpWeak(strength: $0)) }
        case "pump-dead": return .fault(.pumpDead)
        case "pump-stuck-on": return .fault(.pumpStuckOn)
        case "sensor-stuck": return sensor(.stuck(e.number("value_mmHg", upTo: InputLimits.maxPressureMagnitude, "mmHg")))
        case "sensor-drift": return sensor(e.number("rate_mmHg_s", upTo: 1e6, "mmHg/s", required: true).map { .drift(perSecond: $0) })
        case "sensor-offset": return sensor(e.number("offset_mmHg", upTo: InputLimits.maxPressureMagnitude, "mmHg", required: true).map { .offset($0) })
        case "sensor-disconnected": return sensor(.disconnected)
        case "occlusion": return withChamber { .occlusion(chamber: $0) }
        case "hose-off": return withChamber { .hoseOff(chamber: $0) }
        case "sensor-noisy": return sensor(e.number("noise_mmHg", in: 0...50, "mmHg", required: true).map { .noisy($0) })
        case "squeeze":
            let f = e.number("fraction", in: 0...0.9, "(share of the volume)", required: true)
            let over = e.number("over_s", in: 0...InputLimits.maxScenarioSeconds, "s") ?? 0
            return f.flatMap { f in withChamber { .squeeze(chamber: $0, fraction: f, over: over) } }
        case "communication-loss": return .fault(.communicationLoss)
        case "emergency-stop": return .fault(.emergencyStop)
        case "storage-failure": return .storageFailure
        case "loop-stall":
            return e.number("lateness_ms", in: 0...60_000, "ms", required: true).map { .loopStall(lateness: $0 / 1000) }
        default:
            e.issues.add(e.keyPath("fault"), "\"\(kind)\" is not a fault (leak, inlet-stuck-open, inlet-stuck-closed, exhaust-stuck-open, exhaust-stuck-closed, pump-weak, pump-dead, pump-stuck-on, sensor-stuck, sensor-drift, sensor-offset, sensor-disconnected, occlusion, squeeze, communication-loss, emergency-stop, loop-stall, storage-failure)")
            return nil
        }
    }
}
