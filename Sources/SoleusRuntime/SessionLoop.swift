import Dispatch
import SoleusCore
import SoleusHardware
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The control loop of one session, run on its own thread by ``SessionRunner``: every tick reads
/// the inputs, steps each limb's controller and safety supervisor, writes the outputs and hands
/// its records to the log writer through a ``LogRing``, then sleeps to the next absolute
/// deadline. After set-up a tick allocates nothing and takes no lock another thread can hold
/// (docs/performance.md, "The loop's hot path").
final class SessionLoop: @unchecked Sendable {
    // Safety of @unchecked: created on the caller's thread, then touched only by the loop thread
    // until the caller has joined it; the caller reads the outcome after the join.
    let runner: SessionRunner
    let ring: LogRing
    let writer: SessionLogWriter
    let board: StatusBoard
    let commands: (Double) -> OperatorCommand?
    var pacing: TickPacing

    var channels: [LimbChannel]
    let n: Int
    let tick: Double
    var idleChambers: ChamberSet
    var details: [AlarmDetail]
    var alarms = AlarmManager()
    var transitions: [AlarmManager.Transition] = []
    var trips: [(channel: Int, cause: AlarmCondition)] = []
    let sampleEvery: Int
    let flushTicks: Int
    let histogram: LatencyHistogram
    var nextPublish = 0.0
    var flushMark = 0
    /// The store's state as the loop knows it: read every tick when paced, at each flush mark in
    /// lockstep (``flush()``).
    var storageFailing: Bool {
        writer.lockstep.load(ordering: .relaxed) ? failingAtMark : writer.failing.load(ordering: .relaxed)
    }
    var failingAtMark = false
    /// The store did not make room within the storage timeout: the loop no longer waits for it.
    var storageGaveUp = false
    /// The outputs and readings of the last tick, for displays.
    var lastOutputs: BootOutputs
    var lastPressures = ChamberValues()

    /// Ring losses: in all, and not yet reported in the log.
    var lost = LogLoss()
    var pendingLost = LogLoss()
    var lostFrom = 0.0

    // The outcome, read by the caller after the join.
    var raised: [RaisedAlarm] = []
    var ventedLimbs: [(limb: Int, time: Double, cause: AlarmCondition, detail: AlarmDetail)] = []
    var reason = EndReason.completed
    var detail = "protocol completed"
    var tripCause: (limb: Int, cause: AlarmCondition, detail: AlarmDetail)?
    var t = 0.0
    var k = 0
    var ventedAfter: Double?
    var ventUnconfirmed: String?
    var setup = RealtimeSetup(requestedPriority: nil, priority: nil, memoryLocked: false, problems: [])
    var timing: LoopTiming
    /// Limb compressions taken from the backend (simulated limbs only), and how many each limb
    /// has had.
    var compressions: [LimbCompression] = []
    var compressionCounts: [Int]

    var backend: BootBackend { runner.backend }
    /// Faster than real time (`--speed N`) the loop's wall-clock lateness has no physical meaning:
    /// the simulated boot moves only when it is read. It is measured and shown, not alarmed.
    var judgesLateness: Bool {
        if case .factor = options.speed { return false }
        return true
    }
    var options: SessionRunner.Options { runner.options }

    init(runner: SessionRunner, ring: LogRing, writer: SessionLogWriter, board: StatusBoard, pacing: TickPacing,
         commands: @escaping (Double) -> OperatorCommand?) {
        self.runner = runner
        self.ring = ring
        self.writer = writer
        self.board = board
        self.pacing = pacing
        self.commands = commands
        let plan = runner.plan, boot = runner.boot
        n = boot.chambers.count
        tick = runner.regulator.tickSeconds
        channels = plan.limbs.map {
            LimbChannel(limb: boot.limbs[$0.limb], offset: $0.offsetSeconds, plan: plan, regulator: runner.regulator, safety: runner.safety)
        }
        idleChambers = ChamberSet.all(n)
        for ch in channels { for c in ch.limb.range { idleChambers.set(c, false) } }
        details = Array(repeating: AlarmDetail(), count: AlarmCondition.allCases.count)
        transitions.reserveCapacity(AlarmCondition.allCases.count)
        trips.reserveCapacity(channels.count)
        raised.reserveCapacity(Self.maxRaised)
        ventedLimbs.reserveCapacity(channels.count)
        sampleEvery = max(1, Int((1 / (runner.options.sampleRate * tick)).rounded(.down)))
        flushTicks = max(1, Int((runner.options.flushEvery / tick).rounded()))
        histogram = LatencyHistogram(period: tick)
        timing = LoopTiming(period: tick)
        lastOutputs = .vented(chamberCount: n)
        compressions.reserveCapacity(16)
        compressionCounts = Array(repeating: 0, count: max(boot.limbs.count, 1))
    }

    /// Alarms kept for the session's result; more are logged but not listed.
    static let maxRaised = 256

    /// The highest cycle number of any limb, for events that are not one limb's.
    func cycleNow() -> Int {
        var c = 0
        for ch in channels { c = max(c, ch.controller.cycleNumber) }
        return c
    }

    /// Runs the session on the loop thread, from the first tick to the end of the venting tail.
    /// `ready` is signalled once `setup` is stored (the caller reads it then).
    func run(setup: RealtimeSetup, ready: DispatchSemaphore) {
        self.setup = setup
        ready.signal()
        if pacing.isPaced { push(.note(SessionEvent(time: 0, cycle: 0, kind: "loop-realtime", message: setup.description))) }
        pacing.begin()
        if let g = options.garment {
            push(.note(SessionEvent(time: 0, cycle: 0, kind: g.accepted ? "garment-detected" : "garment-not-detected", message: g.text)))
        }
        if let g = options.garment, !g.accepted {
            reason = .garmentNotDetected
            detail = g.text + "; nothing was run"
        } else {
            therapy()
        }
        closeCycles()
        // Before the vent, so that the log's last event stays the vent's confirmation.
        handOverCompressions(final: true)
        ventingTail()
        if pacing.isPaced {
            timing = histogram.summary(paced: true)
            push(.note(SessionEvent(time: t, cycle: cycleNow(), kind: "loop-timing", message: "control loop at \(formatFixed(1 / tick, decimals: 0)) Hz: \(timing)")),
                 waitForRoom: true)
        } else {
            timing = LoopTiming(period: tick, ticks: k, paced: false)
        }
        publish(inputs: nil, force: true)
    }

    // MARK: therapy

    func therapy() {
        while true {
            t = Double(k) * tick
            let lateness = pacing.lateness(atSessionTime: t)
            if pacing.isPaced { histogram.add(lateness) }
            guard step(lateness: judgesLateness ? lateness : 0) else { return }
            k += 1
            pacing.wait(untilSessionTime: Double(k) * tick)
        }
    }

    /// One tick of therapy; false when the session ends.
    func step(lateness: Double) -> Bool {
        let inputs: BootInputs
        do { inputs = try backend.read(at: t) } catch {
            return end(.hardwareError, "reading inputs failed: \(error)", kind: "hardware-error")
        }
        for i in channels.indices {
            channels[i].take(inputs)
            channels[i].step(time: t)
        }
        var present = AlarmSet()
        let out = supervise(lateness: lateness, present: &present)
        do { try backend.write(out) } catch {
            return end(.hardwareError, "writing outputs failed: \(error)", kind: "hardware-error")
        }
        lastOutputs = out
        handOverControlEvents()
        if k % flushTicks == 0 { catchUpWithWriter() }
        if storageFailing || pendingLost.total > 0 { present.insert(.storageFailure) }
        updateAlarms(present: present, inputs: inputs)
        handOverSummaries(inputs)
        if k % sampleEvery == 0 { push(.sample(SessionSample(time: t, pressures: inputs.pressures, outputs: out))) }
        if !containTrips() { return false }
        if !channels.contains(where: \.isActive) {
            if !ventedLimbs.isEmpty { reason = .limbVented }
            return false
        }
        if t >= runner.limits.maxSessionMinutes * 60 {
            return end(.lengthLimit, "ended at the profile's session limit of \(formatFixed(runner.limits.maxSessionMinutes, decimals: 0)) min (limits.max_session_min)", kind: "length-limit")
        }
        if let cmd = commands(t), !obey(cmd) { return false }
        if k % flushTicks == 0 {
            handOverCompressions(final: false)
            flush()
        }
        publish(inputs: inputs)
        return true
    }

    /// Ends therapy with `reason`, logging `detail` as an event of `kind`. Always false.
    func end(_ reason: EndReason, _ detail: String, kind: String) -> Bool {
        self.reason = reason
        self.detail = detail
        push(.note(SessionEvent(time: t, cycle: cycleNow(), kind: kind, message: detail)))
        return false
    }

    /// Each limb's supervisor checks its own limb; the boot's outputs are theirs composed.
    /// Chambers of a limb the session does not run on stay open to atmosphere.
    func supervise(lateness: Double, present: inout AlarmSet) -> BootOutputs {
        var out = BootOutputs(pumps: [], inlets: [], exhausts: idleChambers, powered: [])
        trips.removeAll(keepingCapacity: true)
        for i in channels.indices.reversed() {
            let wasSafe = channels[i].supervisor.safeState
            let shared = runner.sharedInlets(channels, of: i)
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
                limbPresent.contains($0) && $0.policy.reaction == .vent && !runner.confinable(channels, i, $0)
            }) { trips.append((i, worse)) }
        }
        return out
    }

    func handOverControlEvents() {
        for i in channels.indices {
            for e in channels[i].controller.events {
                channels[i].summarizer.handle(e)
                push(.control(e, limb: i))
            }
            channels[i].controller.clearEvents()
        }
    }

    func updateAlarms(present: AlarmSet, inputs: BootInputs) {
        alarms.update(time: t, present: present, details: details, transitions: &transitions)
        for tr in transitions {
            switch tr {
            case .raised(let a):
                if raised.count < Self.maxRaised { raised.append(RaisedAlarm(time: t, condition: a.condition, detail: a.detail)) }
                // What the hardware last reported, for the alarms a hardware fault can cause.
                let hardware = a.condition == .staleReadings || a.condition == .sensorFault ? backend.lastFault : nil
                push(.alarmRaised(a, cycle: cycleNow(), readings: inputs.pressures, hardware: hardware))
            case .conditionEnded(let c, let latched):
                push(.alarmEnded(c, time: t, cycle: cycleNow(), latched: latched))
            }
        }
        transitions.removeAll(keepingCapacity: true)
    }

    func handOverSummaries(_ inputs: BootInputs) {
        for i in channels.indices {
            channels[i].summarizer.add(readings: channels[i].inputs.pressures)
            guard !channels[i].summarizer.completed.isEmpty else { continue }
            for s in channels[i].summarizer.completed {
                var s = s
                s.chamber = channels[i].bootIndex(s.chamber)
                push(.summary(s))
            }
            channels[i].summarizer.clearCompleted()
        }
    }

    /// A trip is confined to its limb only if every limb tripping on this tick can be, and another
    /// limb is still giving therapy; otherwise everything vents. False when therapy ends.
    func containTrips() -> Bool {
        guard !trips.isEmpty else { return true }
        let confined = trips.allSatisfy { !channels[$0.channel].ventedAlone && runner.canCarryOn(channels, $0.channel, $0.cause) }
        if confined {
            for (i, cause) in trips {
                channels[i].ventedAlone = true
                ventedLimbs.append((i, t, cause, details[cause.rawValue]))
                push(.limbVented(limb: i, cause: cause, detail: details[cause.rawValue], time: t, cycle: channels[i].controller.cycleNumber))
            }
            return true
        }
        let (i, cause) = trips[0]
        reason = .safetyTrip
        tripCause = (i, cause, details[cause.rawValue])
        push(.safeState(limb: i, cause: cause, time: t, cycle: cycleNow()))
        return false
    }

    /// Carries out an operator command; false for stop.
    func obey(_ cmd: OperatorCommand) -> Bool {
        var concerned = AlarmSet()
        switch cmd {
        case .stop, .shutdown:
            reason = .stopped
            detail = cmd == .stop ? "stopped by the operator" : "stopped: the daemon was shut down (SIGTERM or SIGINT)"
            push(.command(cmd, time: t, cycle: cycleNow(), alarms: concerned))
            return false
        case .acknowledge: for c in alarms.acknowledge() { concerned.insert(c) }
        case .reset: for c in alarms.reset() { concerned.insert(c) }
        case .pauseAudio: alarms.pauseAudio(at: t)
        case .pause:
            // Every limb's controller vents and holds; the supervisors keep checking.
            var any = false
            for i in channels.indices where channels[i].controller.pause(at: t) {
                channels[i].supervisor.compressionsAbandoned()
                any = true
            }
            if !any { return true }
        case .resume:
            var any = false
            for i in channels.indices where channels[i].controller.resume(at: t) { any = true }
            if !any { return true }
        }
        push(.command(cmd, time: t, cycle: cycleNow(), alarms: concerned))
        return true
    }

    /// Logs the compressions whose figures the backend has completed (at the end, every one).
    func handOverCompressions(final: Bool) {
        backend.takeLimbCompressions(into: &compressions, final: final)
        for c in compressions {
            let l = min(max(c.limb, 0), compressionCounts.count - 1)
            compressionCounts[l] += 1
            push(.limb(c, number: compressionCounts[l]), waitForRoom: final)
        }
        compressions.removeAll(keepingCapacity: true)
    }

    func closeCycles() {
        for i in channels.indices {
            channels[i].summarizer.closeCycle()
            for s in channels[i].summarizer.completed {
                var s = s
                s.chamber = channels[i].bootIndex(s.chamber)
                push(.summary(s), waitForRoom: true)
            }
            channels[i].summarizer.clearCompleted()
        }
    }

    // MARK: the venting tail

    /// Common to every exit: safe outputs, and wait for the pressures to fall. Only fresh
    /// readings of sensors still trusted can confirm it.
    func ventingTail() {
        let ventStart = t
        var trustedVentedAfter: Double?
        var lastVentInputs: BootInputs?
        var untrusted = ChamberSet(), occluded = ChamberSet()
        for ch in channels {
            let shift = UInt32(ch.limb.firstChamber)
            untrusted.formUnion(ChamberSet(rawValue: ch.supervisor.untrustedSensors.rawValue << shift))
            occluded.formUnion(ChamberSet(rawValue: ch.supervisor.occludedChambers.rawValue << shift))
        }
        let limits = runner.limits
        var belowTicks = 0
        let ventConfirmTicks = max(1, Int((0.2 / tick).rounded()))
        backend.vent()
        let vented = BootOutputs.vented(chamberCount: n)
        lastOutputs = vented
        k += 1
        while true {
            let tv = Double(k) * tick
            if tv - ventStart > options.ventTimeout { break }
            pacing.wait(untilSessionTime: tv)
            if pacing.isPaced { histogram.add(pacing.lateness(atSessionTime: tv)) }
            guard let inputs = try? backend.read(at: tv) else { break }
            lastVentInputs = inputs
            backend.vent()
            if k % sampleEvery == 0 { push(.sample(SessionSample(time: tv, pressures: inputs.pressures, outputs: vented))) }
            var maxP = -Double.infinity
            for c in 0..<n where !untrusted.contains(index: c) {
                maxP = max(maxP, inputs.pressures[c].isNaN ? .infinity : inputs.pressures[c])
            }
            // Vented = every trusted chamber below the threshold on fresh readings for
            // `ventConfirmTicks` ticks in a row, so one noisy low reading cannot confirm it.
            let fresh = inputs.age <= runner.safety.staleAfter
            belowTicks = fresh && maxP < limits.ventedBelow.mmHg ? belowTicks + 1 : 0
            t = tv
            if belowTicks >= ventConfirmTicks {
                if untrusted.isEmpty {
                    ventedAfter = tv - ventStart
                    push(.note(SessionEvent(time: tv, cycle: cycleNow(), kind: "vented", pressure: maxP,
                                            message: "all chambers below \(formatMMHg(limits.ventedBelow.mmHg)) mmHg \(formatFixed(tv - ventStart, decimals: 2)) s after the end")),
                         waitForRoom: true)
                } else {
                    trustedVentedAfter = tv - ventStart
                }
                break
            }
            publish(inputs: inputs)
            k += 1
        }
        if ventedAfter == nil {
            let why = runner.whyVentUnconfirmed(untrusted: untrusted, occluded: occluded, trustedVentedAfter: trustedVentedAfter, last: lastVentInputs)
            ventUnconfirmed = why
            push(.note(SessionEvent(time: t, cycle: cycleNow(), kind: "vent-unconfirmed", message: "exhausts open, but venting is not confirmed: \(why)")),
                 waitForRoom: true)
        }
        backend.vent()
    }

    // MARK: handing over

    /// Hands a record to the writer. When the ring is full the record is counted as lost (and
    /// the storage-failure alarm sounds), unless `waitForRoom` (lockstep, or therapy is over):
    /// then it waits for the writer, up to the storage timeout.
    func push(_ record: LogRecord, waitForRoom: Bool = false) {
        let wait = (waitForRoom || writer.lockstep.load(ordering: .relaxed)) && !storageGaveUp
        if pendingLost.total > 0 {
            if ring.push(.lost(pendingLost, from: lostFrom, to: t)) {
                pendingLost = LogLoss()
            } else if !wait || !waitForRing() {
                lose(record)
                return
            } else {
                return push(record, waitForRoom: waitForRoom)
            }
        }
        if ring.push(record) { return }
        if wait && waitForRing() && ring.push(record) { return }
        lose(record)
    }

    func lose(_ record: LogRecord) {
        if pendingLost.total == 0 { lostFrom = t }
        pendingLost.count(record)
        lost.count(record)
    }

    /// Waits (up to the storage timeout) for room in the ring; false if none came.
    func waitForRing() -> Bool {
        let deadline = monotonicSeconds() + options.storageTimeout
        while ring.count >= ring.capacity {
            if monotonicSeconds() > deadline {
                writer.lockstep.store(false, ordering: .relaxed)
                storageGaveUp = true
                return false
            }
            writer.nudge()
            var ts = timespec(tv_sec: 0, tv_nsec: 200_000)
            nanosleep(&ts, nil)
        }
        return true
    }

    /// In lockstep, at a flush tick: waits until the previous mark is written and takes the
    /// store's state from it. The writer works on one flush while the loop runs to the next, and
    /// what the loop sees never depends on which thread was faster.
    func catchUpWithWriter() {
        guard writer.lockstep.load(ordering: .relaxed) && flushMark > 0 else { return }
        if writer.waitFlushed(flushMark, timeout: options.storageTimeout) {
            failingAtMark = writer.failing.load(ordering: .acquiring)
        } else {
            // The store stalls: from now on the loop does not wait for it.
            writer.lockstep.store(false, ordering: .relaxed)
        }
    }

    /// A flush mark for the writer.
    func flush() {
        flushMark += 1
        push(.flush(time: t, mark: flushMark))
        if writer.lockstep.load(ordering: .relaxed) { writer.nudge() }
    }

    /// Publishes the status for displays about twenty times per wall second. Never waits: when a
    /// reader holds the board, this publication is skipped.
    func publish(inputs: BootInputs?, force: Bool = false) {
        let now = monotonicSeconds()
        guard force || now >= nextPublish else { return }
        nextPublish = now + 0.05
        if pacing.isPaced { timing = histogram.summary(paced: true) } else { timing = LoopTiming(period: tick, ticks: k, paced: false) }
        board.publish(snapshot(inputs: inputs))
    }

    func snapshot(inputs: BootInputs?) -> SessionProgress {
        var p = SessionProgress(time: t, chamberCount: n, timing: timing)
        for ch in channels {
            for c in 0..<ch.chamberCount {
                p.setPoints[ch.bootIndex(c)] = ch.controller.setPoint(of: c)
                p.phases[ch.bootIndex(c)] = ch.controller.phase(of: c)
            }
        }
        var lead = 0
        for i in channels.indices where channels[i].controller.cycleNumber > channels[lead].controller.cycleNumber { lead = i }
        p.part = channels[lead].controller.part
        p.cycle = channels[lead].controller.cycleNumber
        p.set = channels[lead].controller.setNumber
        if let inputs { lastPressures = inputs.pressures }
        p.pressures = lastPressures
        p.outputs = lastOutputs
        p.highestAlarm = alarms.highest
        p.paused = channels.contains { $0.controller.isPaused }
        p.audioPausedUntil = alarms.audioPausedUntil
        // By raw value: a synthesized `allCases` builds an array on every call, and the loop allocates nothing.
        var raw = 0
        while let c = AlarmCondition(rawValue: raw) {
            raw += 1
            guard let a = alarms.alarm(c) else { continue }
            p.alarmsShown.insert(a.condition)
            if a.active { p.alarmsActive.insert(a.condition) }
            if a.acknowledged { p.alarmsAcknowledged.insert(a.condition) }
        }
        return p
    }
}
