import Foundation
import Logging
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Bytes a Unix socket's path may take, its terminating zero included.
let unixSocketPathCapacity = MemoryLayout.size(ofValue: sockaddr_un().sun_path)

/// The address of the Unix socket at `path` (an abstract one, for `abstract`: a leading zero byte)
/// and its length for bind/connect/sendto; nil when the path is too long.
func unixSocketAddress(_ path: String, abstract: Bool = false) -> (address: sockaddr_un, length: socklen_t)? {
    var addr = sockaddr_un()
    addr.sun_family = sa_family_t(AF_UNIX)
    let bytes = Array(path.utf8)
    let offset = abstract ? 1 : 0
    guard bytes.count + offset < unixSocketPathCapacity else { return nil }
    withUnsafeMutableBytes(of: &addr.sun_path) { raw in
        for (i, b) in bytes.enumerated() { raw[i + offset] = b }
    }
    return (addr, socklen_t(MemoryLayout<sa_family_t>.size + offset + bytes.count))
}

/// An error of the control socket, with the operating system's reason.
public struct ControlChannelError: Error, CustomStringConvertible, Sendable {
    public var description: String
    init(_ what: String, errno e: Int32 = errno) { description = "\(what): \(String(cString: strerror(e)))" }
    init(message: String) { description = message }
}

/// The Unix socket between the API process and the therapy process: one JSON request line in, one
/// JSON reply line out, per connection. The socket file is 0600: only the daemon's user reaches
/// it. Every read and write has a timeout and a size limit, so a hung or misbehaving API process
/// can hold up a connection of its own, never the session.
public enum ControlChannel {
    /// Largest request or reply line.
    public static let maxMessage = 1 << 20
    /// How long one side waits for the other's bytes.
    public static let ioTimeout = 5.0

    static func address(_ path: String) throws(ControlChannelError) -> sockaddr_un {
        guard let addr = unixSocketAddress(path) else {
            throw ControlChannelError(message: "the control socket path \(path) is \(path.utf8.count) bytes; Unix sockets allow \(unixSocketPathCapacity - 1) (use a shorter data directory)")
        }
        return addr.address
    }

    static func setTimeouts(_ fd: Int32, _ seconds: Double) {
        var tv = timeval(tv_sec: Int(seconds), tv_usec: Int((seconds - Double(Int(seconds))) * 1e6))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }

    /// Reads one line (without its newline), at most ``maxMessage`` bytes.
    static func readLine(_ fd: Int32, limit: Int = maxMessage) throws(ControlChannelError) -> Data {
        var data = Data()
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw ControlChannelError(errno == EAGAIN || errno == EWOULDBLOCK ? "no answer within \(Int(ioTimeout)) s" : "reading the control socket", errno: errno)
            }
            if n == 0 { throw ControlChannelError(message: "the other side closed the control connection before a whole message") }
            if let nl = chunk[0..<n].firstIndex(of: UInt8(ascii: "\n")) {
                data.append(contentsOf: chunk[0..<nl])
                return data
            }
            data.append(contentsOf: chunk[0..<n])
            if data.count > limit { throw ControlChannelError(message: "a control message longer than \(limit) bytes") }
        }
    }

    static func writeAll(_ fd: Int32, _ data: Data) throws(ControlChannelError) {
        var bytes = [UInt8](data)
        bytes.append(UInt8(ascii: "\n"))
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw ControlChannelError("writing the control socket", errno: errno)
            }
            sent += n
        }
    }

    /// Client side (the API process): sends `request` and waits for the reply. Blocks the calling
    /// thread; `timeout` bounds the wait for the reply (a stop waits for the vent).
    public static func send(_ request: ControlRequest, to path: String, timeout: Double = ioTimeout) throws(ControlChannelError) -> ControlReply {
        var addr = try address(path)
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw ControlChannelError("creating a socket") }
        defer { close(fd) }
        setTimeouts(fd, timeout)
        let rc = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) } }
        guard rc == 0 else { throw ControlChannelError("the therapy process does not answer on \(path)") }
        let body: Data
        do { body = try WireJSON.encode(request) } catch { throw ControlChannelError(message: "cannot encode the request: \(error)") }
        try writeAll(fd, body)
        let line = try readLine(fd)
        do { return try WireJSON.decode(ControlReply.self, from: line) } catch {
            throw ControlChannelError(message: "the therapy process sent a reply that cannot be read: \(error)")
        }
    }
}

/// The therapy process's end of the control socket: a thread accepting connections, each served
/// on its own short-lived thread (a stop waits for the vent without holding up a status request).
public final class ControlServer: Sendable {
    public let path: String
    let fd: Int32
    let service: TherapyService
    let logger: Logger
    let busy = Atomic<Int>(0)
    static let maxConnections = 16

    /// Binds the socket (replacing a stale one left by a killed daemon) with mode 0600.
    public init(path: String, service: TherapyService, logger: Logger) throws(ControlChannelError) {
        var addr = try ControlChannel.address(path)
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw ControlChannelError("creating the control socket") }
        unlink(path)
        let old = umask(0o177)
        let rc = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) } }
        umask(old)
        guard rc == 0 else {
            let e = errno
            close(fd)
            throw ControlChannelError("binding the control socket \(path)", errno: e)
        }
        chmod(path, 0o600)
        guard listen(fd, 16) == 0 else {
            let e = errno
            close(fd)
            throw ControlChannelError("listening on the control socket \(path)", errno: e)
        }
        self.path = path
        self.fd = fd
        self.service = service
        self.logger = logger
    }

    /// Starts accepting on a thread of its own.
    public func start() {
        let t = Thread { [self] in acceptLoop() }
        t.name = "soleus-control"
        t.start()
    }

    func acceptLoop() {
        while true {
            let c = accept(fd, nil, nil)
            if c < 0 {
                if errno == EINTR || errno == ECONNABORTED { continue }
                if errno == EBADF || errno == EINVAL { return }
                logger.error("control socket: \(String(cString: strerror(errno)))")
                Thread.sleep(forTimeInterval: 0.1)
                continue
            }
            _ = fcntl(c, F_SETFD, FD_CLOEXEC)
            guard busy.wrappingAdd(1, ordering: .relaxed).newValue <= Self.maxConnections else {
                busy.wrappingSubtract(1, ordering: .relaxed)
                try? ControlChannel.writeAll(c, (try? WireJSON.encode(ControlReply.failure(503, "the therapy process is busy; try again"))) ?? Data())
                close(c)
                continue
            }
            let t = Thread { [self] in
                serve(c)
                busy.wrappingSubtract(1, ordering: .relaxed)
            }
            t.name = "soleus-control-conn"
            t.start()
        }
    }

    func serve(_ c: Int32) {
        defer { close(c) }
        ControlChannel.setTimeouts(c, ControlChannel.ioTimeout)
        let reply: ControlReply
        do {
            let line = try ControlChannel.readLine(c)
            do {
                reply = service.answer(try WireJSON.decode(ControlRequest.self, from: line))
            } catch {
                reply = .failure(400, "a control request that cannot be read: \(error)")
            }
        } catch {
            logger.warning("control connection dropped: \(error)")
            return
        }
        do { try ControlChannel.writeAll(c, try WireJSON.encode(reply)) } catch {
            logger.warning("control reply not delivered: \(error)")
        }
    }

    /// Stops accepting and removes the socket file.
    public func stop() {
        shutdown(fd, Int32(SHUT_RDWR))
        close(fd)
        unlink(path)
    }
}
