import Foundation
import Logging

#if canImport(Glibc)
import Glibc
#endif

/// Tells systemd how the daemon is (sd_notify's datagram protocol, without linking libsystemd):
/// READY once the boot is vented and the API is up, WATCHDOG only while the therapy side is
/// healthy, so a stalled control loop stops the pings and systemd restarts the daemon, which
/// vents first. Does nothing when systemd did not ask (no NOTIFY_SOCKET).
public final class SystemdNotifier: Sendable {
    let socketPath: String?
    /// Watchdog interval systemd asked for (WATCHDOG_USEC), seconds.
    public let watchdogInterval: Double?

    public init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        socketPath = environment["NOTIFY_SOCKET"].flatMap { $0.isEmpty ? nil : $0 }
        let pidMatches = environment["WATCHDOG_PID"].map { Int32($0) == getpid() } ?? true
        watchdogInterval = pidMatches ? environment["WATCHDOG_USEC"].flatMap(Double.init).map { $0 / 1e6 } : nil
    }

    public var enabled: Bool { socketPath != nil }

    /// Sends `state` (e.g. "READY=1"); false when it could not be delivered.
    @discardableResult
    public func notify(_ state: String) -> Bool {
        guard var path = socketPath else { return false }
        // An abstract socket is given with a leading "@".
        let abstract = path.hasPrefix("@")
        if abstract { path.removeFirst() }
        guard let found = unixSocketAddress(path, abstract: abstract) else { return false }
        var addr = found.address
        let length = found.length
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        let message = Array(state.utf8)
        let sent = withUnsafePointer(to: &addr) { a in
            a.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in
                message.withUnsafeBytes { sendto(fd, $0.baseAddress, $0.count, 0, sa, length) }
            }
        }
        return sent == message.count
    }

    /// Pings the watchdog every half interval while `healthy()` holds; a thread of its own.
    public func startWatchdog(logger: Logger, healthy: @escaping @Sendable () -> Bool) {
        guard enabled, let interval = watchdogInterval, interval > 0 else { return }
        let t = Thread { [self] in
            var warned = false
            while true {
                Thread.sleep(forTimeInterval: interval / 2)
                if healthy() {
                    notify("WATCHDOG=1")
                    warned = false
                } else if !warned {
                    logger.critical("the control loop has stopped advancing: watchdog pings withheld, systemd will restart the daemon (which vents first)")
                    warned = true
                }
            }
        }
        t.name = "soleus-watchdog"
        t.start()
    }
}
