import Foundation
import Logging
import SoleusConfig
import SoleusCore
import SoleusHardware
import SoleusRuntime
import Synchronization

/// The therapy side of the daemon: runs one session at a time on the boot, takes operator
/// commands, and reports status. It lives in the daemon's main process, apart from the API (a
/// fault there cannot reach it); everything reaches it through ``ControlServer``.
public final class TherapyService: Sendable {
    public struct Settings: Sendable {
        public var profile: HardwareProfile
        public var speed: Speed
        public var realtimePriority: Int32?
        public var seed: UInt64?
        public var dataDirectory: String

        public init(profile: HardwareProfile, speed: Speed, realtimePriority: Int32?, seed: UInt64?, dataDirectory: String) {
            self.profile = profile
            self.speed = speed
            self.realtimePriority = realtimePriority
            self.seed = seed
            self.dataDirectory = dataDirectory
        }
    }

    /// A session being run.
    final class Running: Sendable {
        let mailbox = CommandMailbox()
        let protocolName: String
        let session = Mutex<Int64?>(nil)
        let latest = Mutex<(progress: SessionProgress, wall: Double)?>(nil)
        let stopping = Atomic<Bool>(false)
        /// Wall time the loop began ticking (0: not yet), and whether it has finished.
        let loopStart = Mutex<Double>(0)
        let loopDone = Atomic<Bool>(false)
        let finished = DispatchSemaphore(value: 0)
        let began = DispatchSemaphore(value: 0)
        let failure = Mutex<String?>(nil)

        init(protocolName: String) { self.protocolName = protocolName }
    }

    enum State: Sendable {
        case idle
        case starting
        case running(Running)
    }

    let settings: Settings
    let store: SessionStore
    let logger: Logger
    private let state = Mutex<State>(.idle)
    /// Set once the daemon shuts down: no session starts any more.
    private let closing = Atomic<Bool>(false)
    private let last = Mutex<StatusReport.LastSession?>(nil)

    public init(settings: Settings, store: SessionStore, logger: Logger) {
        self.settings = settings
        self.store = store
        self.logger = logger
    }

    var chamberNames: [String] { settings.profile.boot.chambers }

    // MARK: start

    /// Starts stored protocol `protocolId` with the overrides; returns the session id once the
    /// session is recorded and its loop is running. Only one session runs at a time: of two
    /// concurrent starts, one gets 409.
    public func start(_ r: ControlRequest) -> ControlReply {
        guard let protocolId = r.protocolId else { return .failure(400, "start needs protocol_id") }
        let claimed = state.withLock { s -> ControlReply? in
            if closing.load(ordering: .relaxed) { return .failure(503, "the daemon is shutting down; no session starts") }
            switch s {
            case .idle:
                s = .starting
                return nil
            case .starting: return .failure(409, "a session is starting; only one runs at a time")
            case .running(let run):
                let which = run.session.withLock { $0 }.map { "session \($0) is running" } ?? "a session is starting"
                return .failure(409, "\(which); only one runs at a time (stop it first)")
            }
        }
        if let claimed { return claimed }
        do {
            let prepared = try prepare(protocolId: protocolId, r)
            return try launch(prepared)
        } catch let reply as ControlReply.Refusal {
            state.withLock { $0 = .idle }
            return reply.reply
        } catch {
            state.withLock { $0 = .idle }
            return .failure(500, "\(error)")
        }
    }

    /// The stored protocol, validated for this boot, with the overrides applied.
    func prepare(protocolId: Int64, _ r: ControlRequest) throws -> PreparedSession {
        let stored: StoredProtocol?
        do { stored = try store.storedProtocol(protocolId) } catch { throw ControlReply.Refusal(500, "\(error)") }
        guard let stored else { throw ControlReply.Refusal(404, "no protocol \(protocolId) (see GET /v1/protocols)") }
        let length = try overrideLength(r)
        do {
            return try PreparedSession.prepare(protocolText: stored.text, label: stored.name, profile: settings.profile, level: r.level, limb: r.limb, length: length)
        } catch {
            let asked = [r.level.map { "level \($0)" }, r.minutes.map { "\(formatFixed($0, decimals: 1)) min" }, r.cycles.map { "\($0) cycles" }].compactMap { $0 }
            throw ControlReply.Refusal(422, "protocol \(protocolId) (\"\(stored.name)\") cannot run on this boot" + (asked.isEmpty ? "" : " as asked (" + asked.joined(separator: ", ") + ")"),
                                       problems: error.description.split(separator: "\n").map(String.init))
        }
    }

    /// The session length the request asks for, if any: minutes or cycles, not both. Checked
    /// against the boot's limits by the validator, as a protocol file's own length is.
    func overrideLength(_ r: ControlRequest) throws -> SessionLength? {
        if r.minutes != nil && r.cycles != nil { throw ControlReply.Refusal(422, "give minutes or cycles, not both") }
        if let m = r.minutes {
            guard m.isFinite, m > 0 else { throw ControlReply.Refusal(422, "minutes must be more than 0, not \(m)") }
            return .minutes(m)
        }
        if let c = r.cycles {
            guard (1...InputLimits.maxCycles).contains(c) else { throw ControlReply.Refusal(422, "cycles must be between 1 and \(InputLimits.maxCycles), not \(c)") }
            return .cycles(c)
        }
        return nil
    }

    /// Opens the boot and starts the session on its own thread; waits until it is recorded.
    func launch(_ prepared: PreparedSession) throws -> ControlReply {
        let backend: BootBackend
        do { backend = try prepared.makeBackend(seed: settings.seed) } catch {
            throw ControlReply.Refusal(503, "the boot cannot be opened: \(error); nothing was run")
        }
        let run = Running(protocolName: prepared.plan.name)
        let sink = RecordingSink(store: store, run: run)
        var options = SessionRunner.Options(speed: settings.speed, realtimePriority: settings.realtimePriority)
        do { options.garment = try prepared.checkGarment(on: backend, speed: settings.speed, catalogue: .beside(profilePath: prepared.profile.path)) } catch {
            backend.close()
            throw ControlReply.Refusal(503, "\(error); the boot was vented, and nothing was run")
        }
        let runner = prepared.runner(backend: backend, sink: sink, options: options)
        state.withLock { $0 = .running(run) }
        let job = SessionJob(runner: runner, backend: backend)
        let thread = Thread { [self] in
            self.runSession(job.runner, backend: job.backend, run: run)
        }
        thread.name = "soleus-session"
        thread.start()
        run.began.wait()
        if let id = run.session.withLock({ $0 }) {
            logger.info("session started", metadata: ["session": "\(id)", "protocol": "\(prepared.plan.name)"])
            return ControlReply(status: 201, sessionId: id)
        }
        run.finished.wait()
        throw ControlReply.Refusal(503, run.failure.withLock { $0 } ?? "the session could not start")
    }

    /// The session thread: runs to the end, closes the boot, records what happened.
    func runSession(_ runner: SessionRunner, backend: BootBackend, run: Running) {
        var signalled = false
        defer {
            backend.vent()
            backend.close()
            state.withLock { $0 = .idle }
            if !signalled { run.began.signal() }
            run.finished.signal()
        }
        do {
            let result = try runner.run(
                commands: { _ in run.mailbox.take() },
                progress: { p in
                    // The wall time kept is when the session clock last moved: a stalled loop
                    // leaves its last snapshot on the board, and must not look alive.
                    run.latest.withLock { l in l = (p, l.map { $0.progress.time == p.time } == true ? l?.wall ?? monotonicSeconds() : monotonicSeconds()) }
                },
                started: { setup in
                    run.loopStart.withLock { $0 = monotonicSeconds() }
                    signalled = true
                    run.began.signal()
                    if self.settings.speed == .realtime && !setup.granted { self.logger.warning("control loop: \(setup)") }
                },
                loopEnded: { run.loopDone.store(true, ordering: .relaxed) })
            last.withLock { $0 = .init(id: result.sessionID, endReason: result.end.reason.rawValue, detail: result.end.detail) }
            logger.info("session ended", metadata: ["session": "\(result.sessionID)", "end": "\(result.end.reason.rawValue)", "detail": "\(result.end.detail)"])
        } catch {
            run.failure.withLock { $0 = "\(error)" }
            if let id = run.session.withLock({ $0 }) {
                last.withLock { $0 = .init(id: id, endReason: EndReason.interrupted.rawValue, detail: "\(error)") }
            }
            logger.error("session failed: \(error)")
        }
    }

    // MARK: commands and status

    /// Passes an operator command to the running session's loop (it acts on it within a tick).
    /// `stop` waits until the session has ended and the boot is vented.
    public func command(_ name: String?) -> ControlReply {
        guard let name, let cmd = OperatorCommand(rawValue: name), cmd != .shutdown else {
            return .failure(400, "unknown command \"\(name ?? "")\"; use stop, pause, resume, acknowledge, reset or pause-audio")
        }
        guard case .running(let run) = state.withLock({ $0 }) else { return .failure(409, "no session is running") }
        guard run.mailbox.post(cmd) else { return .failure(429, "commands are arriving faster than the loop takes them; try again") }
        if cmd == .stop {
            run.stopping.store(true, ordering: .relaxed)
            run.finished.wait()
            run.finished.signal()
        }
        return ControlReply(status: 200, sessionId: run.session.withLock { $0 }, report: status())
    }

    /// Refuses new sessions from now on (the first step of a shutdown).
    public func close() { closing.store(true, ordering: .relaxed) }

    /// Refuses new sessions, lets one that is starting get going, then stops it and waits until
    /// the boot is vented and its end recorded (daemon shutdown).
    public func shutdown() {
        close()
        while case .starting = state.withLock({ $0 }) { Thread.sleep(forTimeInterval: 0.01) }
        guard case .running(let run) = state.withLock({ $0 }) else { return }
        logger.notice("stopping the running session for shutdown")
        while !run.mailbox.post(.shutdown) { Thread.sleep(forTimeInterval: 0.01) }
        run.finished.wait()
        run.finished.signal()
    }

    /// What a display shows now.
    public func status() -> StatusReport {
        var r = StatusReport(state: "idle", hardware: settings.profile.name, speed: settings.speed.description, chambers: chamberNames)
        r.lastSession = last.withLock { $0 }
        switch state.withLock({ $0 }) {
        case .idle: break
        case .starting: r.state = "starting"
        case .running(let run):
            r.state = run.stopping.load(ordering: .relaxed) ? "stopping" : "running"
            r.sessionId = run.session.withLock { $0 }
            r.protocolName = run.protocolName
            if let p = run.latest.withLock({ $0 }) { r.take(p.progress, names: chamberNames) }
        }
        return r
    }

    /// For the watchdog: false when a running session's clock has not moved for `stall` seconds
    /// of wall time, counted from when its loop began (a loop stuck before its first tick counts).
    /// Once the loop has finished (the boot vented) the session is only recording its end.
    public func healthy(stall: Double) -> Bool {
        guard case .running(let run) = state.withLock({ $0 }) else { return true }
        return Self.loopHealthy(now: monotonicSeconds(), loopStart: run.loopStart.withLock { $0 }, clockMoved: run.latest.withLock { $0?.wall },
                                loopDone: run.loopDone.load(ordering: .relaxed), stall: stall)
    }

    /// The watchdog's judgement of a running session's loop, from wall times (s): healthy until
    /// the loop has begun (`loopStart` 0: setting up), then while the session clock moved within
    /// `stall` of `now` (counted from the loop's start if it never moved), and once it is done.
    public static func loopHealthy(now: Double, loopStart: Double, clockMoved: Double?, loopDone: Bool, stall: Double) -> Bool {
        if loopDone || loopStart == 0 { return true }
        return now - max(clockMoved ?? loopStart, loopStart) < stall
    }

    /// When the API process last asked anything (it pings every few seconds): the supervisor
    /// kills an API process that has gone quiet, hung.
    public let apiSeen = Mutex<Double>(0)

    public func answer(_ r: ControlRequest) -> ControlReply {
        switch r.op {
        case .ping:
            apiSeen.withLock { $0 = monotonicSeconds() }
            return ControlReply(status: 200)
        case .status: return ControlReply(status: 200, report: status())
        case .start: return start(r)
        case .command: return command(r.command)
        }
    }
}

extension ControlReply {
    /// A refusal thrown inside the service, turned into a reply.
    struct Refusal: Error {
        var reply: ControlReply
        init(_ status: Int, _ error: String, problems: [String]? = nil) { reply = .failure(status, error, problems: problems) }
    }
}

/// A session's runner and boot, handed from the control thread to the session thread that alone
/// uses them from then on.
final class SessionJob: @unchecked Sendable {
    let runner: SessionRunner
    let backend: BootBackend
    init(runner: SessionRunner, backend: BootBackend) {
        self.runner = runner
        self.backend = backend
    }
}

/// The store, remembering the id of the session it begins (the service answers a start with it).
final class RecordingSink: SessionSink {
    let store: SessionStore
    let run: TherapyService.Running

    init(store: SessionStore, run: TherapyService.Running) {
        self.store = store
        self.run = run
    }

    func begin(_ header: SessionHeader) throws -> Int64 {
        let id = try store.begin(header)
        run.session.withLock { $0 = id }
        return id
    }

    func append(_ batch: LogBatch, to id: Int64) throws { try store.append(batch, to: id) }
    func end(_ id: Int64, _ end: SessionEnd) throws { try store.end(id, end) }
}

/// Operator commands on their way to the loop: posted by the control thread, taken by the loop
/// without ever waiting (if the poster holds the lock, the loop takes it on the next tick).
final class CommandMailbox: Sendable {
    static let capacity = 16
    private let queue = Mutex<[OperatorCommand]>({
        var q: [OperatorCommand] = []
        q.reserveCapacity(CommandMailbox.capacity)
        return q
    }())

    /// False when the mailbox is full.
    func post(_ c: OperatorCommand) -> Bool {
        queue.withLock { q in
            guard q.count < Self.capacity else { return false }
            q.append(c)
            return true
        }
    }

    /// Loop side: the oldest command, if any and if the lock is free.
    func take() -> OperatorCommand? {
        queue.withLockIfAvailable { q in q.isEmpty ? nil : q.removeFirst() } ?? nil
    }
}
