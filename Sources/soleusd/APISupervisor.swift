import Foundation
import Logging
import SoleusDaemon
import SoleusHardware
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Runs the API as a child process (`soleusd api …`) and restarts it whenever it exits: a crash or
/// memory blow-up there ends that process only, never the session this process runs. A hang is
/// turned into an exit: the API pings every 3 s, and one silent for ``hangTimeout`` is killed.
final class APISupervisor: Sendable {
    let arguments: [String]
    let logger: Logger
    /// When the API process last showed it was alive (monotonic seconds).
    let lastSign: @Sendable () -> Double
    static let hangTimeout = 15.0
    let childStarted = Mutex<Double>(0)
    let child = Atomic<Int32>(0)
    let stopping = Atomic<Bool>(false)
    let done = DispatchSemaphore(value: 0)

    init(arguments: [String], logger: Logger, lastSign: @escaping @Sendable () -> Double) {
        self.arguments = arguments
        self.logger = logger
        self.lastSign = lastSign
    }

    /// Starts the API and its restarts on a thread of its own, and the hang watch on another.
    func start() {
        let t = Thread { [self] in superviseLoop() }
        t.name = "soleus-api-supervisor"
        t.start()
        let w = Thread { [self] in hangWatch() }
        w.name = "soleus-api-watch"
        w.start()
    }

    /// Kills an API process that has not pinged for ``hangTimeout`` (the supervisor restarts it).
    func hangWatch() {
        while !stopping.load(ordering: .relaxed) {
            Thread.sleep(forTimeInterval: 1)
            let pid = child.load(ordering: .relaxed)
            guard pid > 0 else { continue }
            let quiet = monotonicSeconds() - max(lastSign(), childStarted.withLock { $0 })
            if quiet > Self.hangTimeout, !stopping.load(ordering: .relaxed) {
                logger.error("API process silent for \(Int(quiet)) s (hung); killing it", metadata: ["pid": "\(pid)"])
                kill(pid, SIGKILL)
                childStarted.withLock { $0 = monotonicSeconds() }
            }
        }
    }

    func superviseLoop() {
        var backoff = 0.5
        while !stopping.load(ordering: .relaxed) {
            let began = monotonicSeconds()
            guard let pid = spawn() else {
                Thread.sleep(forTimeInterval: 5)
                continue
            }
            childStarted.withLock { $0 = monotonicSeconds() }
            child.store(pid, ordering: .relaxed)
            logger.info("API process started", metadata: ["pid": "\(pid)"])
            var status: Int32 = 0
            while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
            child.store(0, ordering: .relaxed)
            if stopping.load(ordering: .relaxed) { break }
            let how = (status & 0x7f) == 0 ? "exited with status \((status >> 8) & 0xff)" : "was killed by signal \(status & 0x7f)"
            // Quick deaths back off (up to 10 s); one that ran a while restarts at once.
            backoff = monotonicSeconds() - began > 30 ? 0.5 : min(backoff * 2, 10)
            logger.error("API process \(how); therapy is unaffected; restarting it in \(backoff) s", metadata: ["pid": "\(pid)"])
            Thread.sleep(forTimeInterval: backoff)
        }
        done.signal()
    }

    /// Starts this binary as `soleusd api …` with no signal blocked and the default action for the ones
    /// this process handles, the standard streams shared.
    func spawn() -> Int32? {
        // This very binary, by its real path (so `ps` and `pkill` see "soleusd", not "exe").
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? "/proc/self/exe"
        let argv: [UnsafeMutablePointer<CChar>?] = (["soleusd"] + arguments).map { strdup($0) } + [nil]
        defer { for p in argv { free(p) } }
        var attr = posix_spawnattr_t()
        posix_spawnattr_init(&attr)
        defer { posix_spawnattr_destroy(&attr) }
        var none = sigset_t()
        sigemptyset(&none)
        posix_spawnattr_setsigmask(&attr, &none)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for s in [SIGTERM, SIGINT, SIGHUP, SIGPIPE] { sigaddset(&defaults, s) }
        posix_spawnattr_setsigdefault(&attr, &defaults)
        posix_spawnattr_setflags(&attr, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, exe, nil, &attr, argv, environ)
        guard rc == 0 else {
            logger.critical("cannot start the API process: \(String(cString: strerror(rc)))")
            return nil
        }
        return pid
    }

    /// Ends the API process (SIGTERM, then SIGKILL after 5 s) and its restarts.
    func stop() {
        stopping.store(true, ordering: .relaxed)
        let pid = child.load(ordering: .relaxed)
        guard pid > 0 else { return }
        kill(pid, SIGTERM)
        if done.wait(timeout: .now() + 5) == .timedOut {
            kill(pid, SIGKILL)
            _ = done.wait(timeout: .now() + 2)
        }
    }
}
