import ArgumentParser
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOSSL
import SoleusConfig
import SoleusDaemon

#if canImport(Glibc)
import Glibc
#endif

/// Where the daemon is: `--device URL` or $SOLEUS_DEVICE, the token from $SOLEUS_TOKEN or the
/// client configuration file (~/.config/soleus/client.toml, or $SOLEUS_CONFIG).
struct DeviceOptions: ParsableArguments {
    @Option(name: .long, help: "The daemon's URL (e.g. http://controller.local:7878; default $SOLEUS_DEVICE or the client config file).")
    var device: String?

    /// True when the command should talk to a daemon rather than the local store (also when the
    /// client configuration file is broken: ``client()`` then says what is wrong with it, instead
    /// of the command quietly reading the local store).
    var isRemote: Bool {
        if resolvedURL != nil { return true }
        let path = getenv("SOLEUS_CONFIG").map { String(cString: $0) } ?? Self.defaultConfigPath
        return access(path, F_OK) == 0 && config == nil
    }

    var config: ClientConfig? {
        let path = getenv("SOLEUS_CONFIG").map { String(cString: $0) } ?? Self.defaultConfigPath
        guard access(path, F_OK) == 0 else { return nil }
        return try? ClientConfigFile.load(path: path)
    }

    static var defaultConfigPath: String {
        if let xdg = getenv("XDG_CONFIG_HOME") { return String(cString: xdg) + "/soleus/client.toml" }
        return (getenv("HOME").map { String(cString: $0) } ?? ".") + "/.config/soleus/client.toml"
    }

    /// Remote or local for a command that can be both: an explicit `--device` is remote, an
    /// explicit `--data` local; otherwise $SOLEUS_DEVICE or the client configuration decide.
    func isRemote(given data: DataOptions) -> Bool {
        if device != nil { return true }
        if data.data != nil { return false }
        return isRemote
    }

    var resolvedURL: String? { device ?? getenv("SOLEUS_DEVICE").map { String(cString: $0) } ?? config?.url }

    /// A client for the daemon; errors say what is missing and where to put it.
    func client() throws -> DeviceClient {
        // A client configuration file with a mistake is reported as such, before anything else.
        let configPath = getenv("SOLEUS_CONFIG").map { String(cString: $0) } ?? Self.defaultConfigPath
        if access(configPath, F_OK) == 0 {
            do { _ = try ClientConfigFile.load(path: configPath) } catch { throw CLIError(error.description) }
        }
        guard var url = resolvedURL, !url.isEmpty else {
            throw CLIError("this command talks to a daemon: give --device URL, set SOLEUS_DEVICE, or put url in [device] of \(configPath)")
        }
        while url.hasSuffix("/") { url.removeLast() }
        guard url.hasPrefix("http://") || url.hasPrefix("https://") else { throw CLIError("--device must start with http:// or https://, not \"\(url)\"") }
        guard let token = getenv("SOLEUS_TOKEN").map({ String(cString: $0) }) ?? config?.token, !token.isEmpty else {
            throw CLIError("no API token: set SOLEUS_TOKEN, or put token in [device] of \(configPath) (the daemon printed it at its first start; it is in its data directory's api-token file)")
        }
        return try DeviceClient(base: url, token: token, ca: getenv("SOLEUS_CA").map { String(cString: $0) } ?? config?.ca)
    }
}

/// An HTTP client of the daemon's API (docs/openapi.json).
final class DeviceClient: Sendable {
    let base: String
    let token: String
    let http: HTTPClient

    init(base: String, token: String, ca: String?) throws {
        self.base = base
        self.token = token
        var config = HTTPClient.Configuration()
        if let ca {
            var tls = TLSConfiguration.makeClientConfiguration()
            tls.trustRoots = .file(ca)
            config.tlsConfiguration = tls
        }
        config.timeout = .init(connect: .seconds(5), read: .seconds(90))
        http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: config)
    }

    deinit { try? http.syncShutdown() }

    struct Reply {
        var status: Int
        var body: Data
    }

    func request(_ method: HTTPMethod, _ path: String, body: Data? = nil, contentType: String = "application/json") async throws -> Reply {
        var req = HTTPClientRequest(url: base + path)
        req.method = method
        req.headers.add(name: "Authorization", value: "Bearer \(token)")
        if let body {
            req.headers.add(name: "Content-Type", value: contentType)
            req.body = .bytes(ByteBuffer(bytes: body))
        }
        let response: HTTPClientResponse
        do { response = try await http.execute(req, timeout: .seconds(90)) } catch {
            throw CLIError("cannot reach the daemon at \(base): \(error) (is soleusd running there, and is the URL right?)")
        }
        let bytes = try await response.body.collect(upTo: 256 << 20)
        return Reply(status: Int(response.status.code), body: Data(bytes.readableBytesView))
    }

    /// A request whose answer must be `expect`; anything else is an error with the daemon's words.
    func call(_ method: HTTPMethod, _ path: String, body: Data? = nil, contentType: String = "application/json", expect: Set<Int> = [200]) async throws -> Data {
        let r = try await request(method, path, body: body, contentType: contentType)
        guard expect.contains(r.status) else { throw Self.failure(r) }
        return r.body
    }

    func decode<T: Decodable>(_ type: T.Type, _ path: String, method: HTTPMethod = .GET, body: Data? = nil, expect: Set<Int> = [200]) async throws -> T {
        let data = try await call(method, path, body: body, expect: expect)
        do { return try WireJSON.decode(type, from: data) } catch {
            throw CLIError("the daemon's answer to \(method.rawValue) \(path) cannot be read: \(error)")
        }
    }

    /// The daemon's error in a sentence: its message, then each problem on a line.
    static func failure(_ r: Reply) -> CLIError {
        if r.status == 401 { return CLIError("the daemon refused the token (401): check SOLEUS_TOKEN or the client config file") }
        guard let p = try? WireJSON.decode(APIModel.Problem.self, from: r.body) else {
            return CLIError("the daemon answered \(r.status): \(String(decoding: r.body.prefix(500), as: UTF8.self))")
        }
        return CLIError(([p.error] + (p.problems ?? []).map { "  " + $0 }).joined(separator: "\n"))
    }

    /// Streams the body of a GET to `sink` chunk by chunk.
    func stream(_ path: String, to sink: (ByteBuffer) throws -> Void) async throws {
        var req = HTTPClientRequest(url: base + path)
        req.headers.add(name: "Authorization", value: "Bearer \(token)")
        let response: HTTPClientResponse
        do { response = try await http.execute(req, timeout: .hours(24)) } catch {
            throw CLIError("cannot reach the daemon at \(base): \(error) (is soleusd running there, and is the URL right?)")
        }
        guard response.status.code == 200 else {
            let body = try await response.body.collect(upTo: 1 << 20)
            throw Self.failure(Reply(status: Int(response.status.code), body: Data(body.readableBytesView)))
        }
        for try await chunk in response.body { try sink(chunk) }
    }
}

/// Runs async work from a synchronous command and waits for it.
func waitFor<T: Sendable>(_ work: @escaping @Sendable () async throws -> T) throws -> T {
    let box = ResultBox<T>()
    let done = DispatchSemaphore(value: 0)
    Task {
        do { box.set(.success(try await work())) } catch { box.set(.failure(error)) }
        done.signal()
    }
    done.wait()
    return try box.get()
}

final class ResultBox<T: Sendable>: @unchecked Sendable {
    private var result: Result<T, any Error>?
    private let lock = NSLock()
    func set(_ r: Result<T, any Error>) { lock.withLock { result = r } }
    func get() throws -> T {
        guard let r = lock.withLock({ result }) else { throw CLIError("no result") }
        return try r.get()
    }
}
