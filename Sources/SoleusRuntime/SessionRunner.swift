import SoleusCore
import SoleusHardware

/// A snapshot for progress displays, taken outside the control tick.
public struct SessionProgress: Sendable {
    public var time: Double
    public var part: CyclePart
    public var cycle: Int
    public var set: Int
    public var pressures: [Double]
    public var setPoints: [Double]
    public var phases: [Phase]
    public var outputs: BootOutputs
    /// The alarm a display shows now, if any.
    public var highestAlarm: AlarmManager.Alarm?
}

/// Something the operator does during a session.
public enum OperatorCommand: String, Sendable, Equatable {
    case stop
    case acknowledge
    case reset
    case pauseAudio = "pause-audio"
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
}

/// Paces the loop and reports how late each tick started.
public protocol TickPacing {
    /// Sleeps until session time `t` is due (returns at once when running as fast as possible).
    func wait(untilSessionTime t: Double)
    /// How late (s) the tick for session time `t` starts.
    func lateness(atSessionTime t: Double) -> Double
}

/// Runs one session: read inputs → controller → safety supervisor → write outputs → record, once per
/// tick on absolute deadlines, then vents and confirms it. Every way out (protocol end, operator
/// stop, safety trip, hardware error) passes through the same venting tail.
public final class SessionRunner {
    public struct Options: Sendable {
        public var speed: Speed
        /// Samples per second written to the log (≥ 10).
        public var sampleRate: Double
        /// How long to wait for every chamber to read below the vented threshold at the end.
        public var ventTimeout: Double
        /// Session seconds between flushes to the sink.
        public var flushEvery: Double

        public init(speed: Speed = .max, sampleRate: Double = 20, ventTimeout: Double = 10, flushEvery: Double = 1) {
            self.speed = speed
            self.sampleRate = sampleRate
            self.ventTimeout = ventTimeout
            self.flushEvery = flushEvery
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

    /// Runs the session to its end. `commands` is polled every tick with the session time
    /// (operator stop, acknowledge, reset, audio pause); `progress` is called about ten times per
    /// wall-clock second.
    public func run(
        commands: (Double) -> OperatorCommand? = { _ in nil }, progress: (SessionProgress) -> Void = { _ in }
    ) throws -> SessionResult {
        let n = boot.chambers.count
        let names = boot.chambers
        let tick = regulator.tickSeconds
        // One channel per limb the plan runs on: its controller, supervisor and summaries.
        var channels = plan.limbs.map {
            LimbChannel(limb: boot.limbs[$0.limb], offset: $0.offsetSeconds, plan: plan, regulator: regulator, safety: safety)
        }
        // Each limb's chambers by their boot names, for its controller's events.
        let limbNames = channels.map { ch in ch.limb.chambers.map { ch.limb.qualified($0) } }
        let severalLimbs = boot.limbs.count > 1
        var idleChambers = ChamberSet.all(n)
        for ch in channels { for c in ch.limb.range { idleChambers.set(c, false) } }
        var details = Array(repeating: AlarmDetail(), count: AlarmCondition.allCases.count)
        var alarms = AlarmManager()
        var transitions: [AlarmManager.Transition] = []
        transitions.reserveCapacity(AlarmCondition.allCases.count)
        var raised: [RaisedAlarm] = []
        var allSummaries: [CycleSummary] = []
        let sampleEvery = max(1, Int((1 / (options.sampleRate * tick)).rounded(.down)))
        let flushTicks = max(1, Int((options.flushEvery / tick).rounded()))
        let wallClock = Pacer(speed: .max)
        let maxSessionSeconds = limits.maxSessionMinutes * 60
        var nextProgress = 0.0
        /// What the hardware last reported, for alarms a hardware fault can cause.
        func hardwareNote(_ c: AlarmCondition) -> String {
            guard c == .staleReadings || c == .sensorFault, let f = backend.lastFault else { return "" }
            return " [hardware: \(f)]"
        }
        /// The highest cycle number of any limb, for events that are not one limb's.
        func cycleNow() -> Int {
            var c = 0
            for ch in channels { c = max(c, ch.controller.cycleNumber) }
            return c
        }

        // Vent before anything else: whatever state the boot was left in, start from safe.
        backend.vent()
        let id = try sink.begin(header)
        var batch = LogBatch()
        batch.samples.reserveCapacity(flushTicks / sampleEvery + 2)
        var storage = LogHealth()

        // A failing store must not stop the control loop or the venting: the batch is kept (up
        // to the backlog bounds) and written at a later flush, the loss is counted, the
        // storage-failure alarm sounds, and the end reason says what was lost.
        func flush(force: Bool = false) {
            guard !batch.isEmpty else { return }
            // A failing store is retried every few seconds, not at every flush.
            if storage.failing && !force && t < storage.retryAt { return }
            do { try sink.append(batch, to: id) } catch {
                storage.failing = true
                storage.retryAt = t + LogHealth.retrySeconds
                if storage.failedAt == nil {
                    storage.failedAt = t
                    storage.firstError = "\(error)"
                    log(SessionEvent(time: t, cycle: cycleNow(), kind: "storage-error",
                                     message: "the session log cannot be written: \(error); therapy continues, and up to \(LogHealth.maxBacklogSamples) samples are kept until storage recovers"))
                }
                return
            }
            batch.samples.removeAll(keepingCapacity: true)
            batch.events.removeAll(keepingCapacity: true)
            batch.summaries.removeAll(keepingCapacity: true)
            if storage.failing {
                storage.failing = false
                log(SessionEvent(time: t, cycle: cycleNow(), kind: "storage-recovered",
                                 message: "the session log is written again; \(storage.lossText)"))
            }
        }
        func log(_ e: SessionEvent) {
            if batch.events.count < LogHealth.maxBacklogEvents { batch.events.append(e) } else { storage.droppedEvents += 1 }
        }
        func keep(_ summaries: [CycleSummary]) {
            let room = max(0, LogHealth.maxBacklogEvents - batch.summaries.count)
            batch.summaries += summaries.prefix(room)
            storage.droppedSummaries += max(0, summaries.count - room)
        }
        func record(_ s: SessionSample) {
            if batch.samples.count < LogHealth.maxBacklogSamples { batch.samples.append(s) } else { storage.droppedSamples += 1 }
        }

        var ventedLimbs: [String] = []
        var reason = EndReason.completed
        var detail = "protocol completed"
        var k = 0
        var t = 0.0
        var lastOutputs = BootOutputs.vented(chamberCount: n)
        therapy: while true {
            t = Double(k) * tick
            let lateness = pacing.lateness(atSessionTime: t)
            let inputs: BootInputs
            do { inputs = try backend.read(at: t) } catch {
                reason = .hardwareError
                detail = "reading inputs failed: \(error)"
                log(SessionEvent(time: t, cycle: cycleNow(), kind: "hardware-error", message: detail))
                break therapy
            }
            for i in channels.indices {
                channels[i].take(inputs)
                channels[i].step(time: t)
            }
            // Each limb's supervisor checks its own limb; the boot's outputs are theirs composed.
            // Chambers of a limb the session does not run on stay open to atmosphere.
            var out = BootOutputs(pumps: [], inlets: [], exhausts: idleChambers, powered: [])
            var present = AlarmSet()
            // Limbs whose supervisor forced its safe state on this tick (usually none).
            var trips: [(channel: Int, cause: AlarmCondition)] = []
            for i in channels.indices.reversed() {
                let wasSafe = channels[i].supervisor.safeState
                let shared = sharedInlets(channels, of: i)
                channels[i].outputs = channels[i].supervisor.check(
                    time: t, inputs: channels[i].inputs, command: channels[i].command,
                    lateness: lateness, sharedInlets: shared)
                channels[i].compose(into: &out)
                let limbPresent = channels[i].supervisor.present
                present.formUnion(limbPresent)
                if limbPresent.isEmpty { continue }
                // Reversed, so the first limb's details win when both limbs raise a condition.
                for c in AlarmCondition.allCases where limbPresent.contains(c) {
                    var d = channels[i].supervisor.details[c.rawValue]
                    if d.chamber >= 0 { d.chamber = channels[i].bootIndex(d.chamber) }
                    details[c.rawValue] = d
                }
                if channels[i].supervisor.safeState && !wasSafe, let cause = channels[i].supervisor.cause { trips.append((i, cause)) }
                // A limb already vented alone that now shows a fault it cannot contain.
                if channels[i].ventedAlone, let worse = AlarmCondition.allCases.first(where: {
                    limbPresent.contains($0) && $0.policy.reaction == .vent && !confinable(channels, i, $0)
                }) { trips.append((i, worse)) }
            }
            do { try backend.write(out) } catch {
                reason = .hardwareError
                detail = "writing outputs failed: \(error)"
                log(SessionEvent(time: t, cycle: cycleNow(), kind: "hardware-error", message: detail))
                break therapy
            }
            lastOutputs = out
            for i in channels.indices {
                for e in channels[i].controller.events {
                    channels[i].summarizer.handle(e)
                    let message = describe(e, names: limbNames[i])
                    log(SessionEvent(
                        time: e.time, cycle: e.cycle, kind: e.kind.rawValue,
                        chamber: e.chamber >= 0 ? limbNames[i][e.chamber] : nil,
                        pressure: e.pressure.isNaN ? nil : e.pressure,
                        message: severalLimbs && e.chamber < 0 ? "\(channels[i].limb.name): \(message)" : message))
                }
                channels[i].controller.clearEvents()
            }
            if storage.failing { present.insert(.storageFailure) }
            alarms.update(time: t, present: present, details: details, transitions: &transitions)
            for tr in transitions {
                switch tr {
                case .raised(let a):
                    raised.append(RaisedAlarm(time: t, condition: a.condition, detail: a.detail))
                    log(SessionEvent(
                        time: t, cycle: cycleNow(), kind: "alarm",
                        chamber: a.detail.chamber >= 0 ? names[a.detail.chamber] : nil,
                        pressure: a.detail.value.isFinite ? a.detail.value : nil,
                        message: "\(a.priority) priority: \(describeAlarm(a.condition, a.detail, names: names, inputs: inputs)) [readings: \(readingsText(inputs, names: names))]\(hardwareNote(a.condition))"))
                case .conditionEnded(let c, let latched):
                    log(SessionEvent(time: t, cycle: cycleNow(), kind: "alarm-ended",
                                     message: "\(c) condition ended" + (latched ? "; alarm latched until reset" : "; alarm cleared")))
                }
            }
            transitions.removeAll(keepingCapacity: true)
            for i in channels.indices {
                channels[i].summarizer.add(readings: channels[i].inputs.pressures)
                if !channels[i].summarizer.completed.isEmpty {
                    var done = channels[i].summarizer.completed
                    for k in done.indices { done[k].chamber = channels[i].bootIndex(done[k].chamber) }
                    keep(done)
                    allSummaries += done
                    channels[i].summarizer.clearCompleted()
                }
            }
            if k % sampleEvery == 0 { record(SessionSample(time: t, pressures: inputs.pressures, outputs: out)) }
            // A trip is confined to its limb only if every limb tripping on this tick can be, and
            // another limb is still giving therapy; otherwise everything vents.
            let confined = !trips.isEmpty && trips.allSatisfy { !channels[$0.channel].ventedAlone && canCarryOn(channels, $0.channel, $0.cause) }
            if confined {
                for (i, cause) in trips {
                    let what = describeAlarm(cause, details[cause.rawValue], names: names, inputs: inputs)
                    channels[i].ventedAlone = true
                    ventedLimbs.append("\(channels[i].limb.name) at \(formatFixed(t, decimals: 1)) s by \(what)")
                    log(SessionEvent(time: t, cycle: channels[i].controller.cycleNumber, kind: "limb-vented",
                                     message: "\(channels[i].limb.name) limb vented by \(cause) (inlets closed, exhausts open); the other limbs (\(otherLimbs(channels, i))) carry on, as the profile's on_limb_fault = carry-on allows for this fault"))
                }
            } else if let (i, cause) = trips.first {
                reason = .safetyTrip
                detail = "\(cause): " + describeAlarm(cause, details[cause.rawValue], names: names, inputs: inputs)
                log(SessionEvent(time: t, cycle: cycleNow(), kind: "safe-state",
                                 message: "safe state forced by \(cause)\(severalLimbs ? " on the \(channels[i].limb.name) limb" : ""): pump off, inlets closed, exhausts open"))
                break therapy
            }
            if !channels.contains(where: \.isActive) {
                if !ventedLimbs.isEmpty {
                    reason = .limbVented
                    detail = "therapy completed on the other limbs; vented alone: " + ventedLimbs.joined(separator: "; ")
                }
                break therapy
            }
            if t >= maxSessionSeconds {
                reason = .lengthLimit
                detail = "ended at the profile's session limit of \(formatFixed(limits.maxSessionMinutes, decimals: 0)) min (limits.max_session_min)"
                log(SessionEvent(time: t, cycle: cycleNow(), kind: "length-limit", message: detail))
                break therapy
            }
            if let cmd = commands(t) {
                switch cmd {
                case .stop:
                    reason = .stopped
                    detail = "stopped by the operator"
                    log(SessionEvent(time: t, cycle: cycleNow(), kind: "operator-stop", message: detail))
                    break therapy
                case .acknowledge:
                    let done = alarms.acknowledge()
                    log(SessionEvent(time: t, cycle: cycleNow(), kind: "alarm-acknowledged",
                                     message: done.isEmpty ? "nothing to acknowledge" : "acknowledged: " + done.map(\.description).joined(separator: ", ")))
                case .reset:
                    let done = alarms.reset()
                    log(SessionEvent(time: t, cycle: cycleNow(), kind: "alarm-reset",
                                     message: done.isEmpty ? "no latched alarm to reset" : "reset: " + done.map(\.description).joined(separator: ", ")))
                case .pauseAudio:
                    alarms.pauseAudio(at: t)
                    log(SessionEvent(time: t, cycle: cycleNow(), kind: "audio-paused",
                                     message: "alarm audio paused for \(Int(AlarmManager.audioPauseSeconds)) s"))
                }
            }
            if k % flushTicks == 0 { flush() }
            let wall = wallClock.elapsed()
            if wall >= nextProgress {
                nextProgress = wall + 0.1
                progress(snapshot(channels, inputs: inputs, outputs: out, time: t, alarm: alarms.highest))
            }
            k += 1
            pacing.wait(untilSessionTime: Double(k) * tick)
        }
        for i in channels.indices {
            channels[i].summarizer.closeCycle()
            var done = channels[i].summarizer.completed
            for k in done.indices { done[k].chamber = channels[i].bootIndex(done[k].chamber) }
            keep(done)
            allSummaries += done
        }

        // The venting tail, common to every exit: safe outputs, and wait for the pressures to fall.
        // Only fresh readings of sensors still trusted can confirm it.
        let ventStart = t
        var ventedAfter: Double?
        var trustedVentedAfter: Double?
        var lastVentInputs: BootInputs?
        var untrusted = ChamberSet(), occluded = ChamberSet()
        for ch in channels {
            let shift = UInt32(ch.limb.firstChamber)
            untrusted.formUnion(ChamberSet(rawValue: ch.supervisor.untrustedSensors.rawValue << shift))
            occluded.formUnion(ChamberSet(rawValue: ch.supervisor.occludedChambers.rawValue << shift))
        }
        var belowTicks = 0
        let ventConfirmTicks = max(1, Int((0.2 / tick).rounded()))
        backend.vent()
        lastOutputs = .vented(chamberCount: n)
        k += 1
        while true {
            let tv = Double(k) * tick
            if tv - ventStart > options.ventTimeout { break }
            pacing.wait(untilSessionTime: tv)
            guard let inputs = try? backend.read(at: tv) else { break }
            lastVentInputs = inputs
            backend.vent()
            if k % sampleEvery == 0 { record(SessionSample(time: tv, pressures: inputs.pressures, outputs: lastOutputs)) }
            var maxP = -Double.infinity
            for c in 0..<n where !untrusted.contains(index: c) {
                maxP = max(maxP, inputs.pressures[c].isNaN ? .infinity : inputs.pressures[c])
            }
            // Vented = every trusted chamber below the threshold on fresh readings for
            // `ventConfirmTicks` ticks in a row, so one noisy low reading cannot confirm it.
            let fresh = inputs.age <= safety.staleAfter
            belowTicks = fresh && maxP < limits.ventedBelow.mmHg ? belowTicks + 1 : 0
            if belowTicks >= ventConfirmTicks {
                if untrusted.isEmpty {
                    ventedAfter = tv - ventStart
                    log(SessionEvent(time: tv, cycle: cycleNow(), kind: "vented",
                                     pressure: maxP,
                                     message: "all chambers below \(formatMMHg(limits.ventedBelow.mmHg)) mmHg \(formatFixed(tv - ventStart, decimals: 2)) s after the end"))
                } else {
                    trustedVentedAfter = tv - ventStart
                }
                t = tv
                break
            }
            t = tv
            k += 1
        }
        var ventUnconfirmed: String?
        if ventedAfter == nil {
            let why = whyVentUnconfirmed(untrusted: untrusted, occluded: occluded, trustedVentedAfter: trustedVentedAfter, last: lastVentInputs)
            ventUnconfirmed = why
            log(SessionEvent(time: t, cycle: cycleNow(), kind: "vent-unconfirmed",
                             message: "exhausts open, but venting is not confirmed: \(why)"))
        }
        if reason == .safetyTrip && ventedAfter != nil { detail += "; all chambers vented" }
        if let ventUnconfirmed { detail += "; venting not confirmed: " + ventUnconfirmed }
        backend.vent()
        flush(force: true)
        if storage.failedAt != nil {
            if storage.failing {
                storage.unwritten = (batch.samples.count, batch.events.count, batch.summaries.count)
            }
            let state = storage.lostAnything ? "the session log is incomplete" : "the session log was at risk"
            if reason == .completed {
                reason = .storageFailure
                detail = "protocol completed, but \(state): " + storage.lossText
            } else {
                detail += "; \(state): " + storage.lossText
            }
        }
        let end = SessionEnd(reason: reason, detail: detail, duration: t, cyclesCompleted: channels.map(\.controller.mainCyclesDone).max() ?? 0)
        do { try sink.end(id, end) } catch {
            throw SessionLogError(description: "the session ran (\(reason.rawValue), \(formatFixed(t, decimals: 1)) s) and the boot was vented, but its end could not be stored: \(error)" + (storage.failedAt != nil ? "; \(storage.lossText)" : "") + ". It will show as interrupted.")
        }
        return SessionResult(sessionID: id, end: end, ventedAfter: ventedAfter, ventUnconfirmed: ventUnconfirmed,
                             summaries: allSummaries, alarms: raised, alarmsAtEnd: alarms.current)
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

    func snapshot(_ channels: [LimbChannel], inputs: BootInputs, outputs: BootOutputs, time: Double, alarm: AlarmManager.Alarm?) -> SessionProgress {
        let n = boot.chambers.count
        var setPoints = Array(repeating: 0.0, count: n)
        var phases = Array(repeating: Phase.waiting, count: n)
        for ch in channels {
            for c in 0..<ch.chamberCount {
                setPoints[ch.bootIndex(c)] = ch.controller.setPoint(of: c)
                phases[ch.bootIndex(c)] = ch.controller.phase(of: c)
            }
        }
        let lead = channels.max { $0.controller.cycleNumber < $1.controller.cycleNumber } ?? channels[0]
        return SessionProgress(
            time: time, part: lead.controller.part, cycle: lead.controller.cycleNumber, set: lead.controller.setNumber,
            pressures: inputs.pressures.array(count: n), setPoints: setPoints, phases: phases,
            outputs: outputs, highestAlarm: alarm)
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

    /// The names of the limbs other than `i`.
    func otherLimbs(_ channels: [LimbChannel], _ i: Int) -> String {
        channels.indices.filter { $0 != i }.map { channels[$0].limb.name }.joined(separator: ", ")
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
    case .finished: return "protocol finished"
    }
}

/// Every chamber's reading, for the log line of an alarm.
func readingsText(_ inputs: BootInputs, names: [String]) -> String {
    names.indices.map { "\(names[$0]) \(formatMMHg(inputs.pressures[$0]))" }.joined(separator: ", ") + " mmHg"
}

/// The operator's text for an alarm: what, where, and the numbers that caused it.
func describeAlarm(_ c: AlarmCondition, _ d: AlarmDetail, names: [String], inputs: BootInputs) -> String {
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
    case .storageFailure: what = "the session log cannot be written (see the storage-error event); therapy continues"
    case .sensorDisagreement: what = "\(chamber)'s two sensors differ by \(formatMMHg(v)) mmHg (limit \(formatMMHg(l)) mmHg); its pressure is unknown"
    case .unexplainedAir: what = "\(chamber) took \(formatFixed(v, decimals: 0)) % of the pump's air while holding, without the pressure rising (limit \(formatFixed(l, decimals: 0)) %): torn bladder, or the sensor reads low"
    }
    return "\(c) — \(what)"
}

/// What a session lost of its log while storage failed.
struct LogHealth {
    /// Most samples held in memory while the store fails: ten minutes at 20 Hz.
    static let maxBacklogSamples = 12_000
    /// Most events (and cycle summaries) held in memory while the store fails.
    static let maxBacklogEvents = 10_000
    /// Session seconds between attempts to write to a failing store.
    static let retrySeconds = 5.0

    var failing = false
    var failedAt: Double?
    var retryAt = 0.0
    var firstError = ""
    var droppedSamples = 0
    var droppedEvents = 0
    var droppedSummaries = 0
    /// Records still in memory when the session ended with the store failing.
    var unwritten: (samples: Int, events: Int, summaries: Int) = (0, 0, 0)

    var lostAnything: Bool { droppedSamples + droppedEvents + droppedSummaries + unwritten.samples + unwritten.events + unwritten.summaries > 0 }

    var lossText: String {
        var lost: [String] = []
        if droppedSamples > 0 { lost.append("\(droppedSamples) samples while storage failed") }
        if droppedEvents > 0 { lost.append("\(droppedEvents) events while storage failed") }
        if droppedSummaries > 0 { lost.append("\(droppedSummaries) cycle summaries while storage failed") }
        let u = unwritten
        if u.samples + u.events + u.summaries > 0 {
            lost.append("the last \(u.samples) samples, \(u.events) events and \(u.summaries) cycle summaries, which could not be written at the end")
        }
        let when = failedAt.map { "storage failed at \(formatFixed($0, decimals: 1)) s (\(firstError))" } ?? "storage failed"
        return when + (lost.isEmpty ? " and recovered; nothing was lost" : "; lost: " + lost.joined(separator: ", "))
    }
}
