import SoleusConfig
import SoleusCore
import SoleusHardware
import SoleusSimulation

/// Runs a ``Scenario`` on the simulated boot: applies its timeline at the scheduled session times,
/// watches the *true* chamber pressures, and checks the outcome against the expectation.
public struct ScenarioRunner {
    public let scenario: Scenario

    public init(scenario: Scenario) { self.scenario = scenario }

    /// What happened, and each expectation checked.
    public struct Outcome: Sendable {
        public var result: SessionResult
        public var log: [SessionEvent]
        /// When the first fault was applied.
        public var firstFault: Double?
        /// The highest true pressure of any chamber (mmHg) and which.
        public var maxPressure: Double
        public var maxPressureChamber: Int
        /// Seconds from the expected alarm (or the end) until every checked chamber was below 5 mmHg.
        public var ventedAfterAlarm: Double?
        public var checks: [Check]
        public var passed: Bool { checks.allSatisfy(\.passed) }
    }

    public struct Check: Sendable {
        public var what: String
        public var passed: Bool
        public var detail: String
    }

    public func run() throws -> Outcome {
        var prepared = try PreparedSession.load(protocolPath: scenario.protocolPath, profilePath: scenario.profilePath, limb: scenario.limb)
        if let cycles = scenario.cycles { prepared.plan.length = .cycles(cycles) }
        return try run(prepared)
    }

    /// Runs the scenario's timeline on an already prepared session (tests adjust its plan).
    public func run(_ prepared: PreparedSession) throws -> Outcome {
        guard case .simulated(let params) = prepared.profile.backend else {
            throw ConfigError(file: scenario.path, "scenario.hardware must use the simulated backend")
        }
        let sim = SimulatedBoot(parameters: params)
        let boot = ScriptedBoot(sim, timeline: scenario.timeline)
        let pacing = ScriptedPacing(timeline: scenario.timeline)
        let log = MemorySessionLog()
        let sink = ScriptedLog(log, timeline: scenario.timeline)
        var pending = scenario.timeline.compactMap { a -> (Double, OperatorCommand)? in
            if case .operatorCommand(let c) = a.action, let cmd = OperatorCommand(rawValue: c) { return (a.at, cmd) }
            return nil
        }
        let runner = prepared.runner(backend: boot, sink: sink, options: .init(speed: .max), pacing: pacing)
        let result = try runner.run(commands: { t in
            guard let (at, cmd) = pending.first, t + 1e-9 >= at else { return nil }
            pending.removeFirst()
            return cmd
        })
        // Keep the physics going with the boot vented, so that venting is judged on the real
        // pressures even when a faulty sensor let the session confirm it early (or never).
        let tick = prepared.profile.regulator.tickSeconds
        let end = result.end.duration
        for k in 1...Int(10 / tick) { _ = try? boot.read(at: end + Double(k) * tick) }
        return evaluate(result, boot: boot, log: log, names: prepared.profile.boot.chambers)
    }

    func evaluate(_ result: SessionResult, boot: ScriptedBoot, log: MemorySessionLog, names: [String]) -> Outcome {
        let x = scenario.expect
        var checks: [Check] = []
        let firstFault = scenario.timeline.first { a in
            if case .operatorCommand = a.action { return false }
            return true
        }?.at
        let raised = x.alarm.flatMap { a in result.alarms.first { $0.condition == a } }
        if let a = x.alarm {
            checks.append(Check(what: "alarm \(a) raised", passed: raised != nil,
                                detail: raised.map { "at \(formatFixed($0.time, decimals: 2)) s" } ?? "raised instead: \(result.alarms.map(\.condition.description).joined(separator: ", "))"))
            if let p = x.priority {
                checks.append(Check(what: "priority \(p)", passed: a.policy.priority == p, detail: "policy says \(a.policy.priority)"))
            }
            if let ms = x.withinMs, let r = raised {
                let latency = (r.time - (firstFault ?? 0)) * 1000
                checks.append(Check(what: "raised within \(formatFixed(ms, decimals: 0)) ms of the fault", passed: latency <= ms + 1e-6,
                                    detail: "\(formatFixed(latency, decimals: 0)) ms"))
            }
        } else {
            checks.append(Check(what: "no alarm", passed: result.alarms.isEmpty,
                                detail: result.alarms.isEmpty ? "none raised" : "raised: \(result.alarms.map { "\($0.condition) at \(formatFixed($0.time, decimals: 2)) s" }.joined(separator: ", "))"))
        }
        var peak = 0.0, peakChamber = 0
        for c in 0..<boot.chamberCount where boot.truePeak[c] > peak { peak = boot.truePeak[c]; peakChamber = c }
        checks.append(Check(what: "true pressure ≤ \(formatMMHg(x.maxPressure)) mmHg", passed: peak <= x.maxPressure,
                            detail: "peak \(formatMMHg(peak)) mmHg"))
        var ventedAfter: Double?
        if let within = x.ventedWithin {
            let from = raised?.time ?? result.end.duration
            ventedAfter = boot.ventedTime(after: from, excluding: x.unvented).map { $0 - from }
            checks.append(Check(what: "vented below 5 mmHg within \(formatFixed(within, decimals: 1)) s of the alarm" + (x.unvented.isEmpty ? "" : " (except \(x.unvented.count) chamber(s) that cannot)"),
                                passed: (ventedAfter ?? .infinity) <= within,
                                detail: ventedAfter.map { "\(formatFixed($0, decimals: 2)) s" } ?? "not vented"))
        }
        // A chamber that physically cannot vent must be named by the log's vent-unconfirmed.
        for c in x.unvented where c < names.count {
            let named = result.ventUnconfirmed?.contains(names[c]) ?? false
            checks.append(Check(what: "the log names \(names[c]) as not confirmed vented", passed: named,
                                detail: result.ventUnconfirmed ?? "the log says vented"))
        }
        if let r = x.endReason {
            checks.append(Check(what: "session ends \(r)", passed: result.end.reason.rawValue == r, detail: "\(result.end.reason.rawValue): \(result.end.detail)"))
        }
        return Outcome(result: result, log: log.events, firstFault: firstFault, maxPressure: peak, maxPressureChamber: peakChamber,
                       ventedAfterAlarm: ventedAfter, checks: checks)
    }
}

/// The simulated boot with a fault timeline applied as session time passes, and the true
/// pressures watched.
final class ScriptedBoot: BootBackend {
    let sim: SimulatedBoot
    var timeline: [Scenario.TimedAction]
    var active: [(until: Double, action: Scenario.TimedAction)] = []
    var truePeak: [Double]
    /// (time, max true pressure of each chamber) once per tick, to find when venting finished.
    var trace: [(Double, ChamberValues)] = []

    init(_ sim: SimulatedBoot, timeline: [Scenario.TimedAction]) {
        self.sim = sim
        self.timeline = timeline.filter { if case .fault = $0.action { return true } else { return false } }
        truePeak = Array(repeating: 0, count: sim.chamberCount)
    }

    var chamberCount: Int { sim.chamberCount }
    var summary: String { sim.summary + ", scripted faults" }

    func read(at time: Double) throws(HardwareError) -> BootInputs {
        apply(at: time)
        let inputs = try sim.read(at: time)
        let p = sim.physics.pressure
        for c in 0..<chamberCount { truePeak[c] = max(truePeak[c], p[c]) }
        trace.append((time, p))
        return inputs
    }

    func write(_ outputs: BootOutputs) throws(HardwareError) { try sim.write(outputs) }
    func vent() { sim.vent() }
    func takeLimbCompressions(into out: inout [LimbCompression], final: Bool) { sim.takeLimbCompressions(into: &out, final: final) }

    /// First time at or after `from` when every chamber but `excluding` read below 5 mmHg (true).
    func ventedTime(after from: Double, excluding: [Int]) -> Double? {
        trace.first { t, p in t >= from && (0..<chamberCount).allSatisfy { excluding.contains($0) || p[$0] < 5 } }?.0
    }

    func apply(at time: Double) {
        var f = sim.physics.faults
        var changed = false
        while let next = timeline.first, time + 1e-9 >= next.at {
            timeline.removeFirst()
            set(next, on: &f, time: time)
            changed = true
            if let d = next.duration { active.append((next.at + d, next)) }
        }
        // Squeezes ramp; timed faults end.
        for (i, entry) in active.enumerated().reversed() where time + 1e-9 >= entry.until {
            clear(entry.action, on: &f)
            active.remove(at: i)
            changed = true
        }
        for case let a in rampingSqueezes where time <= a.end + 0.01 {
            let frac = a.over > 0 ? min(1, max(0, (time - a.start) / a.over)) * a.fraction : a.fraction
            if f.squeeze[a.chamber] != frac, !squeezeReleased.contains(a.chamber) { f.squeeze[a.chamber] = frac; changed = true }
        }
        if changed { sim.setFaults(f) }
    }

    var rampingSqueezes: [(chamber: Int, fraction: Double, start: Double, over: Double, end: Double)] = []
    var squeezeReleased: Set<Int> = []

    func set(_ a: Scenario.TimedAction, on f: inout SimulatedFaults, time: Double) {
        guard case .fault(let fault) = a.action else { return }
        switch fault {
        case .leak(let c, let k): f.leak[c] = k
        case .inlet(let c, let v): f.inlet[c] = v
        case .exhaust(let c, let v): f.exhaust[c] = v
        case .pumpWeak(let s): f.pumpStrength = s
        case .pumpDead: f.pumpDead = true
        case .pumpStuckOn: f.pumpStuckOn = true
        case .sensor(let c, let redundant, let kind):
            let fault: SimulatedFaults.SensorFault
            switch kind {
            case .stuck(let v): fault = .stuck(v ?? sim.physics.pressure[c])
            case .drift(let r): fault = .drift(perSecond: r, since: time)
            case .disconnected: fault = .disconnected
            case .offset(let d): fault = .offset(d)
            case .noisy(let sd): fault = .noisy(sd)
            }
            if redundant { f.redundantSensor[c] = fault } else { f.sensor[c] = fault }
        case .occlusion(let c): f.occlusion[c] = true
        case .hoseOff(let c): f.disconnected[c] = true
        case .squeeze(let c, let frac, let over):
            squeezeReleased.remove(c)
            rampingSqueezes.append((c, frac, a.at, over, a.at + over))
            if over == 0 { f.squeeze[c] = frac }
        case .communicationLoss: f.communicationLost = true
        case .emergencyStop: f.emergencyStop = true
        }
    }

    func clear(_ a: Scenario.TimedAction, on f: inout SimulatedFaults) {
        guard case .fault(let fault) = a.action else { return }
        switch fault {
        case .leak(let c, _): f.leak[c] = 0
        case .inlet(let c, _): f.inlet[c] = .normal
        case .exhaust(let c, _): f.exhaust[c] = .normal
        case .pumpWeak: f.pumpStrength = 1
        case .pumpDead: f.pumpDead = false
        case .pumpStuckOn: f.pumpStuckOn = false
        case .sensor(let c, let redundant, _):
            if redundant { f.redundantSensor[c] = .none } else { f.sensor[c] = .none }
        case .occlusion(let c): f.occlusion[c] = false
        case .hoseOff(let c): f.disconnected[c] = false
        case .squeeze(let c, _, _):
            f.squeeze[c] = 0
            squeezeReleased.insert(c)
        case .communicationLoss: f.communicationLost = false
        case .emergencyStop: f.emergencyStop = false
        }
    }
}

/// Never sleeps; reports the lateness a scenario's `loop-stall` events ask for.
struct ScriptedPacing: TickPacing {
    let stalls: [(from: Double, to: Double, lateness: Double)]

    init(timeline: [Scenario.TimedAction]) {
        stalls = timeline.compactMap { a in
            if case .loopStall(let l) = a.action { return (a.at, a.at + (a.duration ?? 0.01), l) }
            return nil
        }
    }

    mutating func begin() {}
    var isPaced: Bool { true }
    func wait(untilSessionTime t: Double) {}
    func lateness(atSessionTime t: Double) -> Double {
        stalls.first { t + 1e-9 >= $0.from && t < $0.to }?.lateness ?? 0
    }
}

/// The in-memory log, failing every write that carries a record from a scenario's
/// `storage-failure` window (as a full disk would), so the runner's handling of a failing store
/// is replayed deterministically.
final class ScriptedLog: SessionSink {
    let log: MemorySessionLog
    let windows: [(from: Double, to: Double)]

    init(_ log: MemorySessionLog, timeline: [Scenario.TimedAction]) {
        self.log = log
        windows = timeline.compactMap { a in
            if case .storageFailure = a.action { return (a.at, a.at + (a.duration ?? .infinity)) }
            return nil
        }
    }

    func failing(_ t: Double) -> Bool { windows.contains { t >= $0.from && t < $0.to } }

    func begin(_ header: SessionHeader) throws -> Int64 { try log.begin(header) }

    func append(_ batch: LogBatch, to id: Int64) throws {
        // The write happens now: at the latest record's time (a backlog from the window is
        // written once storage has recovered).
        let now = max(batch.samples.last?.time ?? 0, batch.events.map(\.time).max() ?? 0)
        if failing(now) { throw StoreError("database or disk is full (scripted storage failure)") }
        try log.append(batch, to: id)
    }

    func end(_ id: Int64, _ end: SessionEnd) throws {
        if failing(end.duration) { throw StoreError("database or disk is full (scripted storage failure)") }
        try log.end(id, end)
    }
}

extension Scenario {
    /// `sim` with this scenario's faults applied on its timeline (operator actions are ignored):
    /// for `soleus sim serve --scenario`.
    public func faultedBoot(_ sim: SimulatedBoot) -> BootBackend {
        ScriptedBoot(sim, timeline: timeline.filter { if case .fault = $0.action { true } else { false } })
    }
}
