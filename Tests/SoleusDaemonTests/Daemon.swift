import Foundation
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
#if canImport(Glibc)
import Glibc
#endif

/// A `soleusd` started for a test on a free loopback port with its own data directory, and the
/// CLI pointed at it, as a user would.
final class Daemon: @unchecked Sendable {
    static let root: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    static let binDir: URL = {
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        if dir.lastPathComponent.hasSuffix(".xctest") { dir.deleteLastPathComponent() }
        return dir
    }()

    let data: String
    let port: Int
    let arguments: [String]
    var process: Process
    let stderrFile: String
    let stdoutFile: String

    var base: String { "http://127.0.0.1:\(port)" }
    var token: String { (try? String(contentsOfFile: data + "/api-token", encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "" }

    /// Starts the daemon and waits until its API answers.
    let environment: [String: String]

    init(speed: String = "realtime", hardware: String = "hardware/sim-3-dvt.toml", data: String? = nil, extra: [String] = [], environment: [String: String] = [:]) throws {
        self.environment = environment
        self.data = data ?? Self.tempDir()
        port = Self.freePort()
        stderrFile = self.data + "/soleusd.stderr"
        stdoutFile = self.data + "/soleusd.stdout"
        arguments = ["--data", self.data, "--listen", "127.0.0.1:\(port)", "--speed", speed, "--hardware", hardware] + extra
        process = Process()
        try launch()
    }

    func launch() throws {
        process = Process()
        process.executableURL = Self.binDir.appendingPathComponent("soleusd")
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: Self.root)
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        // One log for every run of this daemon: a restart appends to it.
        if !FileManager.default.fileExists(atPath: stderrFile) { _ = FileManager.default.createFile(atPath: stderrFile, contents: nil) }
        let err = FileHandle(forWritingAtPath: stderrFile)
        _ = try err?.seekToEnd()
        process.standardError = err
        if !FileManager.default.fileExists(atPath: stdoutFile) { _ = FileManager.default.createFile(atPath: stdoutFile, contents: nil) }
        let out = FileHandle(forWritingAtPath: stdoutFile)
        _ = try out?.seekToEnd()
        process.standardOutput = out
        try process.run()
        try waitUntil(timeout: 30, "the daemon's API to answer") { (try? self.health()) != nil }
    }

    /// Everything the daemon wrote to standard error so far, all runs.
    var log: String { (try? String(contentsOfFile: stderrFile, encoding: .utf8)) ?? "" }
    /// Everything it printed on standard output, all runs.
    var output: String { (try? String(contentsOfFile: stdoutFile, encoding: .utf8)) ?? "" }

    /// Restarts after a kill (same data directory, same port).
    func restart() throws { try launch() }

    /// SIGTERM and wait (the daemon vents and closes its session).
    func stop() {
        guard process.isRunning else { return }
        process.terminate()
        process.waitUntilExit()
    }

    deinit {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        if let pid = try? health().apiPid { kill(pid, SIGKILL) }
    }

    // MARK: HTTP

    struct Reply {
        var status: Int
        var body: Data
        var headers: [String: String] = [:]
        var text: String { String(decoding: body, as: UTF8.self) }
        func json() throws -> [String: Any] {
            guard let o = try JSONSerialization.jsonObject(with: body) as? [String: Any] else { throw TestFailure("not a JSON object: \(text)") }
            return o
        }
    }

    /// One request; `token: nil` sends none.
    func request(_ method: String, _ path: String, body: Data? = nil, token: String?, timeout: Double = 60) throws -> Reply {
        var req = URLRequest(url: URL(string: base + path)!)
        req.httpMethod = method
        req.timeoutInterval = timeout
        if let token { req.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        req.httpBody = body
        let box = ReplyBox()
        let done = DispatchSemaphore(value: 0)
        URLSession.shared.dataTask(with: req) { d, r, e in
            box.reply = (r as? HTTPURLResponse).map { h in
                var headers: [String: String] = [:]
                for (k, v) in h.allHeaderFields { headers["\(k)".lowercased()] = "\(v)" }
                return Reply(status: h.statusCode, body: d ?? Data(), headers: headers)
            }
            box.error = e
            done.signal()
        }.resume()
        done.wait()
        guard let reply = box.reply else { throw TestFailure("\(method) \(path): \(box.error.map { "\($0)" } ?? "no reply")") }
        return reply
    }

    /// With the right token.
    func authed(_ method: String, _ path: String, body: Data? = nil) throws -> Reply {
        try request(method, path, body: body, token: token)
    }

    struct Health { var apiPid: Int32 }

    func health() throws -> Health {
        let r = try request("GET", "/health", token: nil, timeout: 2)
        guard r.status == 200, let pid = try r.json()["api_pid"] as? Int else { throw TestFailure("health: \(r.status)") }
        return Health(apiPid: Int32(pid))
    }

    func status() throws -> [String: Any] { try authed("GET", "/v1/status").json() }

    // MARK: the CLI

    struct CLIResult {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// Runs `soleus` against this daemon (SOLEUS_DEVICE and SOLEUS_TOKEN set).
    func cli(_ args: [String]) throws -> CLIResult { try Self.cli(args, device: base, token: token) }

    static func cli(_ args: [String], device: String, token: String, ca: String? = nil) throws -> CLIResult {
        try execute("soleus", args, environment: ["SOLEUS_DEVICE": device, "SOLEUS_TOKEN": token, "SOLEUS_CONFIG": "/nonexistent", "SOLEUS_CA": ca])
    }

    /// Runs one of the built binaries from the repository root with its output captured; the
    /// environment's entries replace (or, nil, remove) the test's own.
    static func execute(_ binary: String, _ args: [String], environment: [String: String?] = [:]) throws -> CLIResult {
        let p = Process()
        p.executableURL = binDir.appendingPathComponent(binary)
        p.arguments = args
        p.currentDirectoryURL = URL(fileURLWithPath: root)
        var env = ProcessInfo.processInfo.environment
        for (k, v) in environment { env[k] = v }
        p.environment = env
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return CLIResult(status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self), stderr: String(decoding: e, as: UTF8.self))
    }

    // MARK: helpers

    static func tempDir() -> String {
        let dir = "/tmp/soleusd-test-\(getpid())-\(UUID().uuidString.prefix(8))"
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    /// A port nobody listens on now.
    static func freePort() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        _ = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        return Int(UInt16(bigEndian: addr.sin_port))
    }
}

final class ReplyBox: @unchecked Sendable {
    var reply: Daemon.Reply?
    var error: (any Error)?
}

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}

/// Polls `condition` every 50 ms until it holds; throws naming `what` after `timeout` seconds.
func waitUntil(timeout: Double, _ what: String, _ condition: () throws -> Bool) throws {
    let end = Date().addingTimeInterval(timeout)
    while Date() < end {
        if try condition() { return }
        Thread.sleep(forTimeInterval: 0.05)
    }
    throw TestFailure("timed out after \(timeout) s waiting for \(what)")
}

/// A session row read straight from the daemon's store with sqlite3's C API is not available
/// here; the store is read through the API and the CLI, as a user reads it.
extension Daemon {
    func session(_ id: Int) throws -> [String: Any] { try authed("GET", "/v1/sessions/\(id)").json() }

    /// The session's samples, from the CSV export: (time, pressures).
    func samples(_ id: Int) throws -> [(t: Double, p: [Double])] {
        let csv = try authed("GET", "/v1/sessions/\(id)/samples?format=csv").text
        return csv.split(separator: "\n").dropFirst().compactMap { line in
            let cols = line.split(separator: ",").map(String.init)
            guard let t = Double(cols[0]) else { return nil }
            return (t, cols.dropFirst().prefix(3).compactMap(Double.init))
        }
    }

    /// Uploads a protocol file; its id.
    func upload(_ file: String) throws -> Int {
        let text = try String(contentsOfFile: Self.root + "/" + file, encoding: .utf8)
        let r = try authed("POST", "/v1/protocols?file=\((file as NSString).lastPathComponent)", body: Data(text.utf8))
        guard r.status == 201, let id = try r.json()["id"] as? Int else { throw TestFailure("upload \(file): \(r.status) \(r.text)") }
        return id
    }

    func start(_ protocolID: Int, cycles: Int? = nil) throws -> Reply {
        let extra = cycles.map { ",\"cycles\":\($0)" } ?? ""
        return try authed("POST", "/v1/sessions", body: Data("{\"protocol_id\":\(protocolID)\(extra)}".utf8))
    }
}
