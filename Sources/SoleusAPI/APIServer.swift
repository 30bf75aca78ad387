import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import Logging
import NIOCore
import NIOSSL
import SoleusConfig
import SoleusCore
import SoleusDaemon
import SoleusRuntime
import Synchronization

/// The daemon's HTTP API (docs/openapi.json), run in a process of its own: it reads the session
/// store, stores uploaded protocols, and passes everything that touches the boot to the therapy
/// process over the control socket.
public struct APIServer: Sendable {
    public struct Settings: Sendable {
        public var host: String
        public var port: Int
        public var token: String
        public var controlSocket: String
        public var dataDirectory: String
        public var profile: HardwareProfile
        /// PEM certificate chain and private key; plain HTTP when nil.
        public var tls: (certificate: String, key: String)?
        public var requestsPerSecond: Double
        public var burst: Double

        public init(host: String, port: Int, token: String, controlSocket: String, dataDirectory: String, profile: HardwareProfile,
                    tls: (certificate: String, key: String)?, requestsPerSecond: Double = 20, burst: Double = 60) {
            self.host = host
            self.port = port
            self.token = token
            self.controlSocket = controlSocket
            self.dataDirectory = dataDirectory
            self.profile = profile
            self.tls = tls
            self.requestsPerSecond = requestsPerSecond
            self.burst = burst
        }
    }

    /// Largest request body accepted (413 beyond).
    public static let maxBody = 256 * 1024
    /// Open connections at most; more wait in the backlog.
    public static let maxConnections = 64
    /// Seconds between the API process's pings to the therapy process.
    public static let pingPeriod = 3.0
    /// Live streams open at once at most.
    public static let maxStreams = 8

    let settings: Settings
    let store: SessionStore
    let logger: Logger
    let streams = StreamCounter()

    public init(settings: Settings, logger: Logger) throws {
        self.settings = settings
        self.logger = logger
        store = try SessionStore(directory: settings.dataDirectory)
    }

    /// Serves until SIGTERM or SIGINT.
    public func run() async throws {
        let router = Router(context: APIContext.self)
        router.add(middleware: ErrorBody())
        router.add(middleware: RateLimit(limiter: RateLimiter(perSecond: settings.requestsPerSecond, burst: settings.burst)))
        router.add(middleware: BearerAuth<APIContext>(token: settings.token))
        addRoutes(to: router)
        let http = HTTP1Channel.Configuration(idleTimeout: .seconds(60))
        let server: HTTPServerBuilder
        if let tls = settings.tls {
            server = try .tls(.http1(configuration: http), tlsConfiguration: try Self.tlsConfiguration(tls))
        } else {
            server = .http1(configuration: http)
        }
        let app = Application(
            router: router, server: server,
            configuration: .init(address: .hostname(settings.host, port: settings.port), serverName: "soleusd",
                                 availableConnectionsDelegate: MaximumAvailableConnections(Self.maxConnections)),
            logger: logger)
        // Proof of life for the therapy process, which kills an API process gone quiet. On the
        // concurrency pool, so a pool that handlers have jammed stops the pings too.
        let pinger = Task {
            while !Task.isCancelled {
                _ = try? await control(ControlRequest(op: .ping), timeout: 2)
                try? await Task.sleep(for: .seconds(Self.pingPeriod))
            }
        }
        defer { pinger.cancel() }
        try await app.runService()
    }

    static func tlsConfiguration(_ tls: (certificate: String, key: String)) throws -> TLSConfiguration {
        let chain = try NIOSSLCertificate.fromPEMFile(tls.certificate).map { NIOSSLCertificateSource.certificate($0) }
        let key = try NIOSSLPrivateKey(file: tls.key, format: .pem)
        return TLSConfiguration.makeServerConfiguration(certificateChain: chain, privateKey: .privateKey(key))
    }

    // MARK: talking to the therapy process

    /// Sends `request` to the therapy process off the event loop; a 503 if it does not answer.
    func control(_ request: ControlRequest, timeout: Double = ControlChannel.ioTimeout) async throws -> ControlReply {
        let path = settings.controlSocket
        do {
            return try await blocking { try ControlChannel.send(request, to: path, timeout: timeout) }
        } catch {
            throw APIError(.serviceUnavailable, "the therapy process is not answering: \(error)")
        }
    }

    /// A reply as the HTTP answer: its report or session id on success, its error otherwise.
    func answer(_ reply: ControlReply, success: HTTPResponse.Status = .ok) throws -> Response {
        guard (200..<300).contains(reply.status) else {
            throw APIError(HTTPResponse.Status(code: reply.status), reply.error ?? "refused", problems: reply.problems)
        }
        if let report = reply.report { return jsonResponse(success, report) }
        if let id = reply.sessionId { return jsonResponse(.created, APIModel.Started(sessionId: id)) }
        return jsonResponse(success, APIModel.Problem(error: ""))
    }

    /// A store read off the event loop, its failure a 500 naming it.
    func read<T: Sendable>(_ body: @escaping @Sendable (SessionStore) throws -> T) async throws -> T {
        let store = self.store
        do { return try await blocking { try body(store) } } catch let e as APIError { throw e } catch {
            throw APIError(.internalServerError, "the session store cannot be read: \(error)")
        }
    }
}

/// Runs blocking work (a socket round trip, an SQLite read) on a global queue, not on the
/// server's event loop.
func blocking<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { c in
        DispatchQueue.global().async {
            do { c.resume(returning: try work()) } catch { c.resume(throwing: error) }
        }
    }
}

/// Live streams open now.
final class StreamCounter: Sendable {
    private let count = Mutex<Int>(0)
    func open(limit: Int) -> Bool { count.withLock { n in n < limit ? { n += 1; return true }() : false } }
    func close() { count.withLock { $0 -= 1 } }
}
