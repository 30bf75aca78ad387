import ArgumentParser
import Foundation
import Logging
import SoleusAPI
import SoleusConfig
import SoleusDaemon
import SoleusHardware
import SoleusRuntime

#if canImport(Glibc)
import Glibc
#endif

@main
struct SoleusD: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "soleusd",
        abstract: "The Soleus controller daemon: owns the boot, runs one session at a time, serves the HTTP API.",
        discussion: """
            The therapy side (this process: boot, control loop, safety supervisor, session log) and the API \
            (a child process it restarts if it dies) are kept apart, so nothing on the API side can interrupt a session. \
            At start-up the boot is vented before anything else, and sessions a killed daemon left open are marked interrupted.
            """,
        subcommands: [Serve.self, APIProcess.self],
        defaultSubcommand: Serve.self)
}

/// Writes /proc/self/oom_score_adj (−1000…1000: who the OOM killer takes first); false if refused.
func setOOMScoreAdjustment(_ value: Int) -> Bool {
    let fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC)
    guard fd >= 0 else { return false }
    defer { close(fd) }
    let bytes = Array("\(value)\n".utf8)
    return bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) } == bytes.count
}

/// The signal pipe's ends: set once before the handlers are installed, read-only afterwards.
nonisolated(unsafe) var signalReadFD: Int32 = -1
nonisolated(unsafe) var signalWriteFD: Int32 = -1

/// The daemon proper (the therapy process).
struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the daemon (the default).")

    @OptionGroup var options: DaemonOptions

    func run() throws {
        let s = try options.resolve()
        LoggingSystem.bootstrap { StreamLogHandler.standardError(label: $0) }
        let logger = makeLogger("soleusd", level: s.logLevel)
        // Threads already exist (the concurrency runtime's), so a signal can land on any of them:
        // its handler only writes its number to a pipe the main thread waits on.
        try installSignalPipe(logger)
        signal(SIGPIPE, SIG_IGN)
        signal(SIGXFSZ, SIG_IGN)

        // The data directory first: a second daemon on it must leave the boot (and the first
        // daemon's session) alone. Then the vent, before anything else touches boot or sessions.
        let lock = try takeDataDirectory(s, logger)
        defer { withExtendedLifetime(lock) {} }
        let profile = try ventFirst(s, logger)
        // If memory runs out, the kernel's OOM killer must pick the API process, never this one.
        if !setOOMScoreAdjustment(-900) { logger.info("could not lower the OOM score (needs CAP_SYS_RESOURCE); the API process raises its own instead") }
        let store = try openStore(s, logger)
        // The API process reads the token from its file; this process makes it on first start.
        do {
            let t = try APIToken.ensure(s.tokenFile)
            if t.created {
                // Shown this once; afterwards only the file (mode 0600) holds it.
                print("API token (shown once; kept in \(s.tokenFile), mode 0600): \(t.token)")
                fflush(nil)
            }
        } catch { throw fail(logger, "\(error)") }

        let service = TherapyService(
            settings: .init(profile: profile, speed: s.speed, realtimePriority: s.rtPriority, seed: s.seed, dataDirectory: s.data),
            store: store, logger: logger)
        let control: ControlServer
        do { control = try ControlServer(path: s.controlSocket, service: service, logger: logger) } catch { throw fail(logger, "\(error)") }
        control.start()
        let api = APISupervisor(arguments: apiArguments(s), logger: logger) { service.apiSeen.withLock { $0 } }
        api.start()
        let notifier = SystemdNotifier()
        notifier.notify("READY=1\nSTATUS=boot vented; API on \(s.host):\(s.port)")
        // The watchdog is fed only while the loop advances: a stalled loop gets the daemon restarted.
        notifier.startWatchdog(logger: logger) { service.healthy(stall: 2) }
        logger.notice("soleusd ready", metadata: ["api": "\(s.tls == nil ? "http" : "https")://\(s.host):\(s.port)", "hardware": "\(profile.name)", "data": "\(s.data)"])

        var received = waitForSignal()
        while received == SIGHUP {
            logger.notice("SIGHUP ignored: restart the daemon to change its settings")
            received = waitForSignal()
        }
        logger.notice("signal \(received): shutting down")
        notifier.notify("STOPPING=1")
        // No new session from here on; the API goes first so nothing can ask for one; then the
        // running session stops and vents, and its end is recorded.
        service.close()
        api.stop()
        service.shutdown()
        control.stop()
        logger.notice("soleusd stopped; the boot is vented")
    }

    /// Loads the profile and vents the boot before anything else.
    func ventFirst(_ s: DaemonSettings, _ logger: Logger) throws -> HardwareProfile {
        let profile: HardwareProfile
        do { profile = try HardwareProfileFile.load(path: s.hardware) } catch { throw fail(logger, error.description) }
        for w in profile.warnings { logger.warning("\(s.hardware): \(w)") }
        do {
            let backend = try profile.makeBackend(seed: s.seed)
            backend.vent()
            backend.close()
        } catch {
            throw fail(logger, "the boot cannot be opened to vent it: \(error)")
        }
        logger.notice("boot vented", metadata: ["hardware": "\(profile.name)"])
        // Refused after the vent, so even a misconfigured daemon leaves a real boot safe.
        if s.speed != .realtime, case .io = profile.backend {
            throw fail(logger, "speed \(s.speed) needs the simulated backend; real hardware runs in real time")
        }
        return profile
    }

    /// Takes the data directory's lock (one daemon, or one `soleus run`, per directory). Held by
    /// another process: refused without touching the boot. Any other failure: the boot is vented
    /// anyway, then the daemon stops.
    func takeDataDirectory(_ s: DaemonSettings, _ logger: Logger) throws -> DataDirectoryLock {
        try? FileManager.default.createDirectory(atPath: s.data, withIntermediateDirectories: true)
        do { return try DataDirectoryLock.acquire(directory: s.data) } catch {
            if DataDirectoryLock.heldByAnother(directory: s.data) {
                throw fail(logger, "\(error.description); this daemon leaves the boot alone")
            }
            _ = try? ventFirst(s, logger)
            throw fail(logger, error.description)
        }
    }

    /// Opens the store and marks what a killed daemon left open as interrupted.
    func openStore(_ s: DaemonSettings, _ logger: Logger) throws -> SessionStore {
        do {
            let store = try SessionStore(directory: s.data)
            let marked = try store.markUnfinishedInterrupted()
            if marked > 0 { logger.warning("\(marked) session(s) left without an end (crash, kill or power loss) marked interrupted") }
            return store
        } catch {
            throw fail(logger, error.description)
        }
    }

    func apiArguments(_ s: DaemonSettings) -> [String] {
        var a = ["api", "--listen", "\(s.host.contains(":") ? "[\(s.host)]" : s.host):\(s.port)", "--data", s.data, "--hardware", s.hardware,
                 "--token-file", s.tokenFile, "--log-level", s.logLevel.rawValue, "--parent", "\(getpid())",
                 "--requests-per-second", "\(s.requestsPerSecond)", "--burst", "\(s.burst)"]
        if let tls = s.tls { a += ["--tls-certificate", tls.certificate, "--tls-key", tls.key] }
        return a
    }

    func installSignalPipe(_ logger: Logger) throws {
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else { throw fail(logger, "cannot create the signal pipe: \(String(cString: strerror(errno)))") }
        for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        signalReadFD = fds[0]
        signalWriteFD = fds[1]
        for sig in [SIGTERM, SIGINT, SIGHUP] {
            signal(sig) { s in
                var b = UInt8(truncatingIfNeeded: s)
                _ = write(signalWriteFD, &b, 1)
            }
        }
    }

    /// Blocks until a signal arrives; returns its number.
    func waitForSignal() -> Int32 {
        var b: UInt8 = 0
        while true {
            let n = read(signalReadFD, &b, 1)
            if n == 1 { return Int32(b) }
            if n < 0 && errno == EINTR { continue }
            return SIGTERM
        }
    }

    func fail(_ logger: Logger, _ message: String) -> ExitCode {
        logger.critical("\(message)")
        return ExitCode(1)
    }
}

/// The API side, started and restarted by the daemon (not for direct use).
struct APIProcess: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "api", abstract: "The API process (started by soleusd).", shouldDisplay: false)

    @Option var listen: String
    @Option var data: String
    @Option var hardware: String
    @Option var tokenFile: String
    @Option var logLevel: String = "info"
    @Option var parent: Int32
    @Option var requestsPerSecond: Double = 20
    @Option var burst: Double = 60
    @Option var tlsCertificate: String?
    @Option var tlsKey: String?

    func run() async throws {
        let logger = makeLogger("soleusd.api", level: Logger.Level(rawValue: logLevel) ?? .info)
        signal(SIGPIPE, SIG_IGN)
        // A memory blow-up here must end this process, not the therapy process (raising is always allowed).
        _ = setOOMScoreAdjustment(800)
        guard let colon = listen.lastIndex(of: ":"), let port = Int(listen[listen.index(after: colon)...]) else { throw ExitCode(2) }
        let host = String(listen[..<colon]).trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
        let profile: HardwareProfile
        let token: String
        do {
            profile = try HardwareProfileFile.load(path: hardware)
            token = try APIToken.read(tokenFile)
        } catch {
            logger.critical("\(error)")
            throw ExitCode(1)
        }
        let settings = APIServer.Settings(
            host: host, port: port, token: token, controlSocket: data + "/soleusd.sock", dataDirectory: data, profile: profile,
            tls: tlsCertificate.flatMap { c in tlsKey.map { (c, $0) } }, requestsPerSecond: requestsPerSecond, burst: burst)
        // Ends with the daemon: a therapy process killed outright leaves no API behind.
        let parent = self.parent
        let orphanWatch = Thread {
            while getppid() == parent { Thread.sleep(forTimeInterval: 0.5) }
            Glibc.exit(0)
        }
        orphanWatch.start()
        do { try await APIServer(settings: settings, logger: logger).run() } catch {
            logger.critical("API stopped: \(error)")
            throw ExitCode(1)
        }
    }
}
