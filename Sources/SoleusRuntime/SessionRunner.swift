import Dispatch
import SoleusCore
import SoleusHardware

/// Something the operator does during a session.
public enum OperatorCommand: String, Sendable, Equatable {
    case stop
    case acknowledge
    case reset
    case pauseAudio = "pause-audio"
    /// Vent every chamber and hold the program until ``resume``; the session goes on.
    case pause
    /// Carry on after ``pause`` with a new cycle.
    case resume
    /// Stop because the daemon is shutting down (SIGTERM, SIGINT): as ``stop``, logged as such.
    case shutdown
}

/// One alarm raised during a session.
public struct RaisedAlarm: Sendable, Equatable {
    public var time: Double
    public var condition: AlarmCondition
    public var detail: AlarmDetail
}

/// The outcome of ``SessionRunner/run(commands:progress:)``.
public struct SessionResult: Sendable {
    public var sessionID: Int64
    public var end: SessionEnd
    /// Seconds from the end of therapy until every chamber read below the vented threshold; nil if
    /// that was not confirmed within the vent timeout.
    public var ventedAfter: Double?
    /// Why venting was not confirmed, naming the chambers (nil when it was).
    public var ventUnconfirmed: String?
    /// Cycle summaries of the whole session.
    public var summaries: [CycleSummary]
    /// Every alarm raised, in order.
    public var alarms: [RaisedAlarm]
    /// Alarms still on display at the end (active or latched).
    public var alarmsAtEnd: [AlarmManager.Alarm]
    /// How late the loop's ticks started.
    public var timing: LoopTiming
    /// What the loop thread got of the real-time scheduling it asked for.
    public var realtime: RealtimeSetup
}

/// Runs one session: read inputs → controller → safety supervisor → write outputs → record, once per
/// tick on absolute deadlines, then vents and confirms it. Every way out (protocol end, operator
/// stop, safety trip, hardware error) passes through the same venting tail.
///
/// Three threads: the loop (``SessionLoop``, real-time when permitted), the log writer that owns
/// the store (``SessionLogWriter``), and the caller's, which shows progress and, at the end,
/// records how the session ended.
public final class SessionRunner {
    public struct Options: Sendable {
        public var speed: Speed
        /// Samples per second written to the log (≥ 10).
        public var sampleRate: Double
        /// How long to wait for every chamber to read below the vented threshold at the end.
        public var ventTimeout: Double
        /// Session seconds between flushes to the sink.
        public var flushEvery: Double
        /// The loop thread's SCHED_FIFO priority in real time (1–99; nil: a normal thread). Only
        /// asked for at ``Speed/realtime``: a simulated session at a higher speed may run flat out,
        /// and a real-time thread doing so would starve the machine.
        public var realtimePriority: Int32?
        /// Whether the loop waits for the store at each flush (nil: when nothing is paced, at
        /// ``Speed/max``, so that a simulated session's log never depends on thread timing). A
        /// paced loop never waits: a store that falls behind fills the ring, and what does not fit
        /// is counted as lost.
        public var waitForStorage: Bool?
        /// Records the loop can hand to the log writer before it must drop them (about 3 minutes
        /// of a 3-chamber session at 100 Hz, 20 samples per second).
        public var logCapacity: Int
        /// How long to wait for the store at a lockstep flush and at the end (s).
        public var storageTimeout: Double
        /// The garment check run on the boot just before (``GarmentCheck``): logged at the
        /// session's start; a refusal ends the session before any therapy.
        public var garment: GarmentJudgement?

        public init(speed: Speed = .max, sampleRate: Double = 20, ventTimeout: Double = 10, flushEvery: Double = 1,
                    realtimePriority: Int32? = 80, waitForStorage: Bool? = nil, logCapacity: Int = 4096, storageTimeout: Double = 10) {
            self.speed = speed
            self.sampleRate = sampleRate
            self.ventTimeout = ventTimeout
            self.flushEvery = flushEvery
            self.realtimePriority = realtimePriority
            self.waitForStorage = waitForStorage
            self.logCapacity = logCapacity
            self.storageTimeout = storageTimeout
        }
    }

    let plan: TreatmentPlan
    let boot: BootDescription
    var limits: BootLimits { boot.limits }
    let regulator: RegulatorSettings
    let safety: SafetySettings
    let backend: BootBackend
    let sink: SessionSink
    let header: SessionHeader
    let options: Options
    let pacing: TickPacing

    public init(
        plan: TreatmentPlan, boot: BootDescription, regulator: RegulatorSettings, safety: SafetySettings,
        backend: BootBackend, sink: SessionSink, header: SessionHeader, options: Options, pacing: TickPacing? = nil
    ) {
        self.plan = plan
        self.boot = boot
        self.regulator = regulator
        self.safety = safety
        self.backend = backend
        self.sink = sink
        self.header = header
        self.options = options
        self.pacing = pacing ?? Pacer(speed: options.speed)
    }

    /// Runs the session to its end. `commands` is called on the loop thread every tick with the
    /// session time (operator stop, acknowledge, reset, audio pause): it must return at once and
    /// never block. `progress` is called on the caller's thread about ten times per wall-clock
    /// second with the loop's latest snapshot. `started` is called on the caller's thread once the
    /// loop thread is set up, with what it got of real-time scheduling, before the first tick.
    /// `loopEnded` is called on the caller's thread once the loop thread has finished (the boot
    /// vented), before the end is recorded.
    public func run(
        commands: @escaping (Double) -> OperatorCommand? = { _ in nil }, progress: (SessionProgress) -> Void = { _ in },
        started: (RealtimeSetup) -> Void = { _ in }, loopEnded: () -> Void = {}
    ) throws -> SessionResult {
        // Vent before anything else: whatever state the boot was left in, start from safe.
        backend.vent()
        let id = try sink.begin(header)
        let ring = LogRing(capacity: options.logCapacity)
        let writer = SessionLogWriter(ring: ring, sink: sink, id: id, formatter: formatter(),
                                      lockstep: options.waitForStorage ?? (options.speed == .max))
        let board = StatusBoard()
        let loop = SessionLoop(runner: self, ring: ring, writer: writer, board: board, pacing: pacing, commands: commands)
        let finished = DispatchSemaphore(value: 0), ready = DispatchSemaphore(value: 0)
        do {
            try writer.start()
            let thread = try LoopThread(priority: options.speed == .realtime ? options.realtimePriority : nil) { setup in
                loop.run(setup: setup, ready: ready)
                finished.signal()
            }
            ready.wait()
            started(loop.setup)
            while finished.wait(timeout: .now() + .milliseconds(100)) == .timedOut {
                if let p = board.latest() { progress(p) }
            }
            thread.join()
            loopEnded()
        } catch {
            backend.vent()
            _ = writer.finish(timeout: options.storageTimeout)
            try? sink.end(id, SessionEnd(reason: .interrupted, detail: "\(error); nothing was run", duration: 0, cyclesCompleted: 0))
            throw error
        }
        return try record(loop, writer: writer, id: id)
    }

    /// After the loop: waits for the writer, then stores how the session ended, with what the
    /// log lost if anything.
    func record(_ loop: SessionLoop, writer: SessionLogWriter, id: Int64) throws -> SessionResult {
        var reason = loop.reason
        var detail = loop.detail
        let names = boot.chambers
        if let trip = loop.tripCause {
            detail = "\(trip.cause): " + describeAlarm(trip.cause, trip.detail, names: names)
        } else if reason == .limbVented {
            detail = "therapy completed on the other limbs; vented alone: " + loop.ventedLimbs.map {
                "\(boot.limbs[plan.limbs[$0.limb].limb].name) at \(formatFixed($0.time, decimals: 1)) s by \(describeAlarm($0.cause, $0.detail, names: names))"
            }.joined(separator: "; ")
        }
        if reason == .safetyTrip && loop.ventedAfter != nil { detail += "; all chambers vented" }
        if let why = loop.ventUnconfirmed { detail += "; venting not confirmed: " + why }
        let t = loop.t
        let cycles = loop.channels.map(\.controller.mainCyclesDone).max() ?? 0
        guard writer.finish(timeout: options.storageTimeout) else {
            throw SessionLogError(description: "the session ran (\(reason.rawValue), \(formatFixed(t, decimals: 1)) s) and the boot was vented, but the session log has not answered for \(formatFixed(options.storageTimeout, decimals: 1)) s; what it has not written is lost. It will show as interrupted.")
        }
        var health = writer.health
        health.ringLost.add(loop.pendingLost)
        if health.troubled {
            let state = health.lostAnything ? "the session log is incomplete" : "the session log was at risk"
            if reason == .completed {
                reason = .storageFailure
                detail = "protocol completed, but \(state): " + health.lossText
            } else {
                detail += "; \(state): " + health.lossText
            }
        }
        let end = SessionEnd(reason: reason, detail: detail, duration: t, cyclesCompleted: cycles)
        do { try sink.end(id, end) } catch {
            throw SessionLogError(description: "the session ran (\(reason.rawValue), \(formatFixed(t, decimals: 1)) s) and the boot was vented, but its end could not be stored: \(error)" + (health.troubled ? "; \(health.lossText)" : "") + ". It will show as interrupted.")
        }
        return SessionResult(sessionID: id, end: end, ventedAfter: loop.ventedAfter, ventUnconfirmed: loop.ventUnconfirmed,
                             summaries: writer.summaries, alarms: loop.raised, alarmsAtEnd: loop.alarms.current,
                             timing: loop.timing, realtime: loop.setup)
    }

    /// The writer's view of the boot's and the limbs' names.
    func formatter() -> LogFormatter {
        let limbs = plan.limbs.map { boot.limbs[$0.limb] }
        return LogFormatter(names: boot.chambers, limbNames: limbs.map { l in l.chambers.map { l.qualified($0) } },
                            limbs: limbs.map(\.name), severalLimbs: boot.limbs.count > 1)
    }

    /// Why the venting tail could not confirm every chamber below the threshold, naming them.
    func whyVentUnconfirmed(untrusted: ChamberSet, occluded: ChamberSet, trustedVentedAfter: Double?, last: BootInputs?) -> String {
        let names = boot.chambers
        let below = formatMMHg(limits.ventedBelow.mmHg)
        var why: [String] = []
        let distrusted = names.indices.filter { untrusted.contains(index: $0) }.map { names[$0] }
        for c in names.indices where untrusted.contains(index: c) {
            let cause = occluded.contains(index: c)
                ? "occluded (its sensor sees only the hose)" : "its sensor was judged faulty"
            why.append("\(names[c]) unknown: \(cause)")
        }
        if let after = trustedVentedAfter {
            why.append(distrusted.count == names.count ? "no chamber has a trusted reading"
                       : "the others read below \(below) mmHg \(formatFixed(after, decimals: 2)) s after the end")
        } else if let last {
            if last.age > safety.staleAfter {
                why.append("the readings were stale (\(formatFixed(last.age * 1000, decimals: 0)) ms old)")
            } else {
                let high = names.indices.filter { !untrusted.contains(index: $0) && !(last.pressures[$0] < limits.ventedBelow.mmHg) }
                    .map { "\(names[$0]) \(formatMMHg(last.pressures[$0])) mmHg" }
                why.append("still at or above \(below) mmHg after \(formatFixed(options.ventTimeout, decimals: 0)) s: " + (high.isEmpty ? "readings kept crossing the threshold" : high.joined(separator: ", ")))
            }
        } else {
            why.append("the inputs could not be read")
        }
        return why.joined(separator: "; ")
    }

    /// Inlets of the other limbs on limb `i`'s drive commanded open this tick: they share its pump.
    func sharedInlets(_ channels: [LimbChannel], of i: Int) -> Int {
        var k = 0
        for j in channels.indices where j != i && channels[j].limb.drive == channels[i].limb.drive {
            k += channels[j].command.outputs.inlets.count
        }
        return k
    }

    /// Whether a venting `condition` on limb `i` can be contained by venting that limb alone while
    /// the others carry on: ``confinable(_:_:_:)``, and another limb is still giving therapy.
    func canCarryOn(_ channels: [LimbChannel], _ i: Int, _ condition: AlarmCondition) -> Bool {
        confinable(channels, i, condition) && channels.indices.contains { $0 != i && channels[$0].isActive }
    }

    /// Whether venting limb `i` alone contains `condition`: the profile allows it and the
    /// condition's confinement permits it on this limb's drive.
    func confinable(_ channels: [LimbChannel], _ i: Int, _ condition: AlarmCondition) -> Bool {
        guard boot.onLimbFault == .carryOn, channels.count > 1 else { return false }
        switch condition.policy.confinement {
        case .limb: return true
        case .ownDrive: return !channels.indices.contains { $0 != i && channels[$0].limb.drive == channels[i].limb.drive }
        case .boot: return false
        }
    }
}

func describe(_ e: ControlEvent, names: [String]) -> String {
    let chamber = e.chamber >= 0 ? names[e.chamber] : ""
    switch e.kind {
    case .cycleStarted: return "\(e.part.rawValue) cycle \(e.cycle) starts"
    case .inflate: return "\(chamber) inflates to \(formatMMHg(e.pressure)) mmHg"
    case .reached: return "\(chamber) reached target (\(formatMMHg(e.pressure)) mmHg)"
    case .hold: return "\(chamber) settles to \(formatMMHg(e.pressure)) mmHg"
    case .boost: return "\(chamber) boosted to \(formatMMHg(e.pressure)) mmHg in the hold"
    case .riseLate: return "\(chamber) has not reached its target within its required rise time (rise_s); it reads \(formatMMHg(e.pressure)) mmHg"
    case .release: return "\(chamber) releases"
    case .cycleEnded: return "cycle \(e.cycle) ends"
    case .overrun: return "cycle \(e.cycle) released later than its period; the next cycle starts late"
    case .setRest: return "rest between sets"
    case .paused: return "therapy paused by the operator: cycle \(e.cycle) abandoned, every chamber vents"
    case .resumed: return "therapy resumed: a new cycle starts"
    case .refillSensing: return "\(chamber) sealed at \(formatMMHg(e.pressure)) mmHg to sense the limb's refill"
    case .refillMeasured, .refillFallback: return e.refill.map { describeRefill($0, chamber: chamber) } ?? "refill measurement"
    case .finished: return "protocol finished"
    }
}

/// The log's words for a refill measurement: what was measured, how far to trust it, the rest it
/// sets, and if it was not used, why.
func describeRefill(_ r: RefillResult, chamber: String) -> String {
    let confidence = r.fit.isNaN ? "" : "; fit \(formatFixed(r.fit * 100, decimals: 1)) % of the trace, rise \(formatMMHg(r.riseMmHg)) mmHg against scatter \(formatFixed(r.scatterMmHg, decimals: 2)) mmHg"
    let rest = "rest \(formatFixed(r.restSeconds, decimals: 1)) s"
    switch r.outcome {
    case .measured:
        return "\(chamber): limb refill time \(formatFixed(r.refillSeconds, decimals: 1)) s\(confidence); \(rest) from now on"
    case .noRise: return "\(chamber): no refill seen (the sealed sleeve barely rose\(confidence)): a dummy limb or a loose sleeve; the fixed \(rest) applies"
    case .noisy: return "\(chamber): refill not measured: the pressure trace does not follow a refill curve closely enough (noise or movement\(confidence)); the fixed \(rest) applies"
    case .noPlateau: return "\(chamber): refill not measured: the pressure was still rising at the longest rest (a slow drift, or a refill longer than the protocol allows\(confidence)); the fixed \(rest) applies"
    case .pressureFell: return "\(chamber): refill not measured: the sealed sleeve lost pressure (a leak); the fixed \(rest) applies"
    case .riseTooLarge: return "\(chamber): refill not measured: the sealed sleeve rose \(formatMMHg(r.riseMmHg)) mmHg, more than a refill can (the limb moved?); the fixed \(rest) applies"
    case .noTrace: return "\(chamber): refill not measured: the sleeve never settled at its sensing pressure; the fixed \(rest) applies"
    }
}

/// Every chamber's reading, for the log line of an alarm.
func readingsText(_ pressures: ChamberValues, names: [String]) -> String {
    names.indices.map { "\(names[$0]) \(formatMMHg(pressures[$0]))" }.joined(separator: ", ") + " mmHg"
}

/// The operator's text for an alarm: what, where, and the numbers that caused it.
func describeAlarm(_ c: AlarmCondition, _ d: AlarmDetail, names: [String]) -> String {
    let chamber = d.chamber >= 0 && d.chamber < names.count ? names[d.chamber] : ""
    let v = d.value, l = d.limit
    let what: String
    switch c {
    case .overPressure: what = "\(chamber) read \(formatMMHg(v)) mmHg, above the ceiling of \(formatMMHg(l)) mmHg"
    case .overTarget: what = "\(chamber) at \(formatMMHg(v)) mmHg, above target + band (\(formatMMHg(l)) mmHg) for longer than the debounce"
    case .targetNotReached: what = "\(chamber) at \(formatMMHg(v)) mmHg has not reached \(formatMMHg(l)) mmHg in time"
    case .leak: what = "\(chamber) took \(formatFixed(v, decimals: 0)) % of the pump's air topping up while holding (limit \(formatFixed(l, decimals: 0)) %)"
    case .riseInletClosed:
        what = d.check == 1
            ? "\(chamber) needed \(Int(saturating: v)) exhaust trims in the window while holding (limit \(Int(saturating: l)))"
            : "\(chamber) rose \(formatMMHg(v)) mmHg with both valves closed (limit \(formatMMHg(l)) mmHg)"
    case .occlusion: what = "\(chamber) \(d.check == 1 ? "falling" : "rising") at \(formatFixed(v, decimals: 0)) mmHg/s (limit \(formatFixed(l, decimals: 0)) mmHg/s); its pressure is unknown"
    case .noPressureRise: what = "pump on for the check time, best rise \(formatMMHg(v)) mmHg (need \(formatMMHg(l)) mmHg)"
    case .sensorFault:
        let sensor = d.check == 3 ? "\(chamber) redundant sensor" : "\(chamber) sensor"
        switch d.check {
        case _ where !v.isFinite: what = "\(sensor) gives no valid reading"
        case 1: what = "\(sensor) frozen at \(formatMMHg(v)) mmHg while air moved for \(formatFixed(l, decimals: 2)) s"
        case 2: what = "\(sensor) frozen at \(formatMMHg(v)) mmHg for \(formatFixed(l, decimals: 2)) s (a noisy sensor never repeats itself that long)"
        default: what = "\(sensor) reads \(formatMMHg(v)) mmHg, outside its range (limit \(formatMMHg(l)) mmHg)"
        }
    case .staleReadings: what = "readings are \(formatFixed(v * 1000, decimals: 0)) ms old (limit \(formatFixed(l * 1000, decimals: 0)) ms)"
    case .ventFailure: what = "\(chamber) still at \(formatMMHg(v)) mmHg with the exhaust open"
    case .reverseGradient: what = "\(chamber) is \(formatMMHg(v)) mmHg above its distal neighbour"
    case .sustainedPressure: what = "\(chamber) above the low threshold for \(formatFixed(v, decimals: 0)) s (limit \(formatFixed(l, decimals: 0)) s)"
    case .emergencyStop: what = "emergency stop pressed"
    case .loopOverrun: what = "tick started \(formatFixed(v * 1000, decimals: 1)) ms late"
    case .loopStall: what = "tick started \(formatFixed(v * 1000, decimals: 0)) ms late, past the stale-readings limit of \(formatFixed(l * 1000, decimals: 0)) ms"
    case .storageFailure: what = "the session log cannot be written, or not fast enough (see the storage-error or log-overflow event); therapy continues"
    case .loopLate: what = "\(formatFixed(v * 100, decimals: 1)) % of recent ticks started a whole period late or more (limit \(formatFixed(l * 100, decimals: 1)) %): the controller's computer is overloaded"
    case .sensorDisagreement: what = "\(chamber)'s two sensors differ by \(formatMMHg(v)) mmHg (limit \(formatMMHg(l)) mmHg); its pressure is unknown"
    case .unexplainedAir: what = "\(chamber) took \(formatFixed(v, decimals: 0)) % of the pump's air while holding, without the pressure rising (limit \(formatFixed(l, decimals: 0)) %): torn bladder, or the sensor reads low"
    }
    return "\(c) — \(what)"
}
