import Dispatch
import SoleusCore
import SoleusHardware
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Owns the session's store on a thread of its own: drains the loop's ``LogRing``, turns its
/// records into the log's words (``LogFormatter``), and writes them at every flush mark. A store
/// that fails is retried every few seconds while the records wait in memory (bounded), and its
/// failure is published for the loop's storage-failure alarm; a store that stalls only fills the
/// ring. Nothing here runs on the loop's thread.
final class SessionLogWriter: @unchecked Sendable {
    // Safety of @unchecked: the writer's state (`batch`, `health`, `summaries`, `lastCycle`) is
    // touched only on the writer thread until `done` is signalled, and read by the caller only
    // after it has waited for `done`. The rest is atomics, semaphores and immutable settings.
    let ring: LogRing
    let sink: SessionSink
    let id: Int64
    let formatter: LogFormatter
    /// True while the store fails to write: the loop raises the storage-failure alarm.
    let failing = Atomic<Bool>(false)
    /// The last flush mark written (or given up on).
    let flushedMark = Atomic<Int>(0)
    /// Lockstep (nothing paced): at each flush mark the loop waits until the previous one is
    /// written, and takes the store's state from then, so a simulated session's log and alarms
    /// never depend on thread timing (the writer still works while the loop runs on). Cleared if
    /// the store stalls.
    let lockstep: Atomic<Bool>
    private let wake = DispatchSemaphore(value: 0)
    private let flushed = DispatchSemaphore(value: 0)
    private let done = DispatchSemaphore(value: 0)
    private let finishing = Atomic<Bool>(false)
    private var thread: pthread_t?

    private var batch = LogBatch()
    private(set) var health = LogHealth()
    /// Every cycle summary handed over, for the session's result.
    private(set) var summaries: [CycleSummary] = []
    private var lastCycle = 0
    private var lastTime = 0.0

    init(ring: LogRing, sink: SessionSink, id: Int64, formatter: LogFormatter, lockstep: Bool) {
        self.ring = ring
        self.sink = sink
        self.id = id
        self.formatter = formatter
        self.lockstep = Atomic(lockstep)
        batch.samples.reserveCapacity(256)
    }

    /// Starts the writer thread.
    func start() throws(LoopThreadError) {
        guard let t = startThread({ [self] in run() }) else {
            throw LoopThreadError(description: "cannot start the session log writer thread")
        }
        thread = t
    }

    /// Loop side: wakes the writer (lockstep flushes, a full ring at the end).
    func nudge() { wake.signal() }

    /// Loop side, lockstep only: waits until flush mark `mark` is written. False after `timeout`
    /// s; the caller then stops waiting for the store for the rest of the session.
    func waitFlushed(_ mark: Int, timeout: Double) -> Bool {
        let deadline = DispatchTime.now() + .nanoseconds(Int(timeout * 1e9))
        while flushedMark.load(ordering: .acquiring) < mark {
            wake.signal()
            if flushed.wait(timeout: deadline) == .timedOut { return flushedMark.load(ordering: .acquiring) >= mark }
        }
        return true
    }

    /// Caller side, once the loop has ended: writes what is left and returns. False if the store
    /// did not finish within `timeout` s (the thread is left to finish, or not, on its own).
    func finish(timeout: Double) -> Bool {
        finishing.store(true, ordering: .releasing)
        wake.signal()
        guard done.wait(timeout: .now() + .nanoseconds(Int(timeout * 1e9))) == .success else { return false }
        if let thread { pthread_join(thread, nil) }
        thread = nil
        return true
    }

    private func run() {
        while true {
            _ = wake.wait(timeout: .now() + .milliseconds(50))
            let last = finishing.load(ordering: .acquiring)
            while let r = ring.pop() { handle(r) }
            if last {
                flush(at: lastTime, force: true)
                break
            }
        }
        done.signal()
    }

    private func handle(_ record: LogRecord) {
        switch record {
        case .empty: break
        case .sample(let s):
            lastTime = s.time
            if batch.samples.count < LogHealth.maxBacklogSamples { batch.samples.append(s) } else { health.droppedSamples += 1 }
        case .summary(let s):
            summaries.append(s)
            if batch.summaries.count < LogHealth.maxBacklogEvents { batch.summaries.append(s) } else { health.droppedSummaries += 1 }
        case .limb(let c, let number):
            if batch.compressions.count < LogHealth.maxBacklogEvents { batch.compressions.append(NumberedCompression(number: number, compression: c)) }
            log(formatter.compressionEvent(c, number: number, cycle: lastCycle))
        case .flush(let t, let mark):
            lastTime = t
            flush(at: t)
            flushedMark.store(mark, ordering: .releasing)
            if lockstep.load(ordering: .acquiring) { flushed.signal() }
        case .lost(let loss, let from, let to):
            health.ringLost.add(loss)
            log(SessionEvent(time: to, cycle: lastCycle, kind: "log-overflow",
                             message: "the log writer fell behind (storage too slow) and \(loss.text) between \(formatFixed(from, decimals: 2)) s and \(formatFixed(to, decimals: 2)) s could not be kept; therapy went on"))
        default:
            guard let e = formatter.event(record) else { return }
            lastCycle = e.cycle
            log(e)
        }
    }

    private func log(_ e: SessionEvent) {
        if batch.events.count < LogHealth.maxBacklogEvents { batch.events.append(e) } else { health.droppedEvents += 1 }
    }

    /// Writes the batch. A failing store is retried every few seconds of session time, not at
    /// every flush; while it fails the batch is kept (to the backlog bounds), the loss counted,
    /// and the loop's storage-failure alarm sounds.
    private func flush(at t: Double, force: Bool = false) {
        guard !batch.isEmpty else { return }
        if health.failing && !force && t < health.retryAt { return }
        do { try sink.append(batch, to: id) } catch {
            health.failing = true
            failing.store(true, ordering: .releasing)
            health.retryAt = t + LogHealth.retrySeconds
            if health.failedAt == nil {
                health.failedAt = t
                health.firstError = "\(error)"
                log(SessionEvent(time: t, cycle: lastCycle, kind: "storage-error",
                                 message: "the session log cannot be written: \(error); therapy continues, and up to \(LogHealth.maxBacklogSamples) samples are kept until storage recovers"))
            }
            if force { health.unwritten = (batch.samples.count, batch.events.count, batch.summaries.count) }
            return
        }
        batch.samples.removeAll(keepingCapacity: true)
        batch.events.removeAll(keepingCapacity: true)
        batch.summaries.removeAll(keepingCapacity: true)
        batch.compressions.removeAll(keepingCapacity: true)
        if health.failing {
            health.failing = false
            failing.store(false, ordering: .releasing)
            log(SessionEvent(time: t, cycle: lastCycle, kind: "storage-recovered",
                             message: "the session log is written again; \(health.lossText)"))
            if force { flush(at: t, force: true) }
        }
    }
}

/// Turns the loop's records into the session log's events: every message string of a session is
/// built here, on the writer's thread.
struct LogFormatter: Sendable {
    /// The boot's chamber names, and each limb channel's chambers by their boot names.
    let names: [String]
    let limbNames: [[String]]
    let limbs: [String]
    let severalLimbs: Bool

    /// The log's line for a limb compression: what the simulated limb says this compression did.
    func compressionEvent(_ c: LimbCompression, number: Int, cycle: Int) -> SessionEvent {
        let limb = severalLimbs && c.limb < limbs.count ? "\(limbs[c.limb]) " : ""
        let refill = c.refillSeconds.isNaN ? "not refilled before the next compression" : "refilled (90 %) in \(formatFixed(c.refillSeconds, decimals: 1)) s"
        return SessionEvent(time: c.start, cycle: cycle, kind: "limb-compression", pressure: nil,
                            message: "\(limb)compression \(number) (simulated limb): \(formatFixed(c.expelledML, decimals: 0)) mL of venous blood expelled, peak outflow \(formatFixed(c.peakFlowMLPerS, decimals: 1)) mL/s (velocity proxy \(formatFixed(c.peakVelocityCMPerS, decimals: 1)) cm/s), \(refill)")
    }

    func event(_ record: LogRecord) -> SessionEvent? {
        switch record {
        case .control(let e, let i):
            let message = describe(e, names: limbNames[i])
            return SessionEvent(
                time: e.time, cycle: e.cycle, kind: e.kind.rawValue,
                chamber: e.chamber >= 0 ? limbNames[i][e.chamber] : nil,
                pressure: e.pressure.isNaN ? nil : e.pressure,
                message: severalLimbs && e.chamber < 0 ? "\(limbs[i]): \(message)" : message)
        case .alarmRaised(let a, let cycle, let readings, let hardware):
            let note = hardware.map { " [hardware: \($0)]" } ?? ""
            return SessionEvent(
                time: a.raisedAt, cycle: cycle, kind: "alarm",
                chamber: a.detail.chamber >= 0 && a.detail.chamber < names.count ? names[a.detail.chamber] : nil,
                pressure: a.detail.value.isFinite ? a.detail.value : nil,
                message: "\(a.priority) priority: \(describeAlarm(a.condition, a.detail, names: names)) [readings: \(readingsText(readings, names: names))]\(note)")
        case .alarmEnded(let c, let t, let cycle, let latched):
            return SessionEvent(time: t, cycle: cycle, kind: "alarm-ended",
                                message: "\(c) condition ended" + (latched ? "; alarm latched until reset" : "; alarm cleared"))
        case .command(let cmd, let t, let cycle, let alarms):
            let list = alarms.conditions.map(\.description).joined(separator: ", ")
            switch cmd {
            case .acknowledge:
                return SessionEvent(time: t, cycle: cycle, kind: "alarm-acknowledged", message: list.isEmpty ? "nothing to acknowledge" : "acknowledged: " + list)
            case .reset:
                return SessionEvent(time: t, cycle: cycle, kind: "alarm-reset", message: list.isEmpty ? "no latched alarm to reset" : "reset: " + list)
            case .pauseAudio:
                return SessionEvent(time: t, cycle: cycle, kind: "audio-paused", message: "alarm audio paused for \(Int(AlarmManager.audioPauseSeconds)) s")
            case .stop:
                return SessionEvent(time: t, cycle: cycle, kind: "operator-stop", message: "stopped by the operator")
            case .shutdown:
                return SessionEvent(time: t, cycle: cycle, kind: "daemon-shutdown", message: "stopped: the daemon was shut down (SIGTERM or SIGINT)")
            case .pause:
                return SessionEvent(time: t, cycle: cycle, kind: "operator-pause", message: "paused by the operator: every chamber vents until resumed")
            case .resume:
                return SessionEvent(time: t, cycle: cycle, kind: "operator-resume", message: "resumed by the operator")
            }
        case .limbVented(let i, let cause, _, let t, let cycle):
            let others = limbs.indices.filter { $0 != i }.map { limbs[$0] }.joined(separator: ", ")
            return SessionEvent(time: t, cycle: cycle, kind: "limb-vented",
                                message: "\(limbs[i]) limb vented by \(cause) (inlets closed, exhausts open); the other limbs (\(others)) carry on, as the profile's on_limb_fault = carry-on allows for this fault")
        case .safeState(let i, let cause, let t, let cycle):
            return SessionEvent(time: t, cycle: cycle, kind: "safe-state",
                                message: "safe state forced by \(cause)\(severalLimbs ? " on the \(limbs[i]) limb" : ""): pump off, inlets closed, exhausts open")
        case .note(let e):
            return e
        case .empty, .sample, .summary, .limb, .lost, .flush:
            return nil
        }
    }
}

/// What a session lost of its log while storage failed or fell behind.
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
    /// Records the loop could not hand to the writer (its ring was full).
    var ringLost = LogLoss()
    /// Records still in memory when the session ended with the store failing.
    var unwritten: (samples: Int, events: Int, summaries: Int) = (0, 0, 0)

    var lostAnything: Bool {
        droppedSamples + droppedEvents + droppedSummaries + unwritten.samples + unwritten.events + unwritten.summaries + ringLost.total > 0
    }
    /// Storage failed or fell behind at some point.
    var troubled: Bool { failedAt != nil || ringLost.total > 0 }

    var lossText: String {
        var lost: [String] = []
        if droppedSamples > 0 { lost.append("\(droppedSamples) samples while storage failed") }
        if droppedEvents > 0 { lost.append("\(droppedEvents) events while storage failed") }
        if droppedSummaries > 0 { lost.append("\(droppedSummaries) cycle summaries while storage failed") }
        if ringLost.total > 0 { lost.append("\(ringLost.text) while the log writer fell behind") }
        let u = unwritten
        if u.samples + u.events + u.summaries > 0 {
            lost.append("the last \(u.samples) samples, \(u.events) events and \(u.summaries) cycle summaries, which could not be written at the end")
        }
        let when: String
        if let failedAt {
            when = "storage failed at \(formatFixed(failedAt, decimals: 1)) s (\(firstError))" + (lost.isEmpty ? " and recovered" : "")
        } else {
            when = "storage fell behind"
        }
        return when + (lost.isEmpty ? "; nothing was lost" : "; lost: " + lost.joined(separator: ", "))
    }
}
