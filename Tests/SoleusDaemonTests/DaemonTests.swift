import Foundation
import Testing

#if canImport(FoundationXML)
import FoundationXML
#endif

#if canImport(Glibc)
import Glibc
#endif

/// The daemon as a user meets it: started as a process, driven through the CLI binary and HTTP.
/// Serialized: each test runs a daemon with a real-time control loop, and the machine has two cores.
@Suite(.serialized) struct DaemonTests {
    /// The whole job through the CLI: upload, start, watch, acknowledge an alarm, stop, export, plot.
    /// The garment has a torn ankle bladder, so a medium leak alarm comes up in each hold.
    @Test func endToEndThroughTheCLI() throws {
        let d = try Daemon(hardware: "Tests/Fixtures/sim-3-dvt-leaky-ankle.toml")
        defer { d.stop() }
        let up = try d.cli(["upload", "protocols/dvt-3-chamber.toml"])
        #expect(up.status == 0 && up.stdout.contains("as protocol 1"), "\(up.stderr)")
        let list = try d.cli(["protocols"])
        #expect(list.stdout.contains("DVT prophylaxis, 3-chamber sequential"))

        let start = try d.cli(["start", "DVT prophylaxis, 3-chamber sequential", "--cycles", "2"])
        #expect(start.status == 0 && start.stdout.contains("Session 1 started"), "\(start.stderr)")
        let status = try d.cli(["status"])
        #expect(status.stdout.contains("RUNNING") && status.stdout.contains("ankle"), "\(status.stdout)")

        // The leak alarm shows in the status, then the operator acknowledges it.
        try waitUntil(timeout: 20, "the leak alarm") {
            let alarms = try d.status()["alarms"] as? [[String: Any]] ?? []
            return alarms.contains { $0["condition"] as? String == "leak" }
        }
        let alarmed = try d.cli(["status"])
        #expect(alarmed.stdout.contains("ALARM MEDIUM leak") && alarmed.stdout.contains("loop:"), "\(alarmed.stdout)")
        let ack = try d.cli(["ack"])
        #expect(ack.status == 0 && ack.stdout.contains("Acknowledged: leak"), "\(ack.stdout) \(ack.stderr)")
        let watched = try d.cli(["status", "--watch", "--seconds", "1.5"])
        #expect(watched.status == 0 && watched.stdout.contains("RUNNING"), "\(watched.stderr)")
        // Off a terminal the watch also lists the session's notable events (the last ones first).
        #expect(watched.stdout.contains("alarm-acknowledged"), "\(watched.stdout)")
        // The watcher went away mid-session: nothing changed for the session.
        #expect(try d.status()["state"] as? String == "running")

        let stop = try d.cli(["stop"])
        #expect(stop.status == 0 && stop.stdout.contains("vented"), "\(stop.stderr)")
        let sessions = try d.cli(["sessions"])
        #expect(sessions.stdout.contains("stopped"))
        let show = try d.cli(["show", "1"])
        #expect(show.stdout.contains("alarm-acknowledged") && show.stdout.contains("acknowledged: leak"))

        let csvPath = d.data + "/s1.csv", svgPath = d.data + "/s1.svg"
        let export = try d.cli(["export", "1", "-o", csvPath])
        #expect(export.status == 0, "\(export.stderr)")
        let csv = try String(contentsOfFile: csvPath, encoding: .utf8).split(separator: "\n")
        #expect(csv.first?.hasPrefix("t_s,ankle_mmHg,calf_mmHg,thigh_mmHg,pump") == true)
        #expect(csv.count > 50)
        let plot = try d.cli(["plot", "1", "-o", svgPath])
        #expect(plot.status == 0, "\(plot.stderr)")
        let svg = try PlotDocument(path: svgPath)
        #expect(Set(svg.elements(class: "pressure").compactMap { $0["data-chamber"] }) == ["ankle", "calf", "thigh"])
        #expect(svg.elements(class: "alarm").contains { $0["data-condition"] == "leak" })
    }

    /// The API process killed outright mid-session: the session runs to its end, vented and
    /// logged without a gap, and the API comes back (a new process) and shows it.
    @Test func killingTheAPIProcessDoesNotTouchTheSession() throws {
        let d = try Daemon(speed: "10")
        defer { d.stop() }
        let p = try d.upload("protocols/dvt-3-chamber.toml")
        #expect(try d.start(p, cycles: 2).status == 201)
        Thread.sleep(forTimeInterval: 2)
        let before = try d.health().apiPid
        #expect(kill(before, SIGKILL) == 0)
        try waitUntil(timeout: 30, "a new API process") { (try? d.health().apiPid).map { $0 != before } ?? false }
        try waitUntil(timeout: 60, "the session's end") { (try d.session(1)["end_reason"] as? String) != nil }
        let s = try d.session(1)
        #expect(s["end_reason"] as? String == "completed", "\(s)")
        #expect(s["cycles_completed"] as? Int == 2)
        let samples = try d.samples(1)
        let gaps = zip(samples, samples.dropFirst()).map { $1.t - $0.t }
        #expect((gaps.max() ?? 1) < 0.06, "largest gap in the log \(gaps.max() ?? 0) s")
        #expect((samples.last?.t ?? 0) >= 120)
        let events = try d.authed("GET", "/v1/sessions/1/events").text
        #expect(!events.contains("log-overflow") && !events.contains("storage-error"))
        #expect(events.contains("\"kind\":\"vented\""), "the end's vent is confirmed in the log")
    }

    /// kill -9 of the whole daemon mid-session, then a restart: the boot is vented before
    /// anything else, the session shows as interrupted with its samples up to the last flush
    /// (at most 1 s lost), and a new session can start.
    @Test func killNineThenRestart() throws {
        let d = try Daemon(speed: "5")
        let p = try d.upload("protocols/dvt-3-chamber.toml")
        #expect(try d.start(p).status == 201)
        try waitUntil(timeout: 20, "8 s of session time") { (try d.status()["time_s"] as? Double ?? 0) >= 8 }
        let seen = try d.status()["time_s"] as? Double ?? 0
        let api = try d.health().apiPid
        kill(d.process.processIdentifier, SIGKILL)
        kill(api, SIGKILL)
        d.process.waitUntilExit()
        try d.restart()
        defer { d.stop() }
        // The restarted daemon vented before it touched the store.
        let vented = d.log.range(of: "boot vented", options: .backwards), marked = d.log.range(of: "marked interrupted")
        #expect(vented != nil && marked != nil && vented!.lowerBound < marked!.lowerBound, "\(d.log)")
        let s = try d.session(1)
        #expect(s["end_reason"] as? String == "interrupted", "\(s)")
        let last = try d.samples(1).last?.t ?? 0
        #expect(last >= seen - 1.05, "last stored sample at \(last) s, the status had shown \(seen) s")
        let again = try d.start(p, cycles: 1)
        #expect(again.status == 201, "\(again.text)")
        #expect(try d.status()["state"] as? String == "running")
    }

    /// An API process that hangs (stopped outright here) stops pinging the therapy process, which
    /// kills it and starts another; the session is not touched.
    @Test func aHungAPIProcessIsReplaced() throws {
        let d = try Daemon(speed: "2")
        defer { d.stop() }
        let p = try d.upload("protocols/dvt-3-chamber.toml")
        #expect(try d.start(p).status == 201)
        let hung = try d.health().apiPid
        #expect(kill(hung, SIGSTOP) == 0)
        try waitUntil(timeout: 40, "a new API process") { (try? d.health().apiPid).map { $0 != hung } ?? false }
        #expect(d.log.contains("silent") && d.log.contains("killing it"))
        #expect(try d.status()["state"] as? String == "running")
        #expect(try d.cli(["stop"]).status == 0)
        #expect(try d.session(1)["end_reason"] as? String == "stopped")
    }

    /// A second daemon on the same data directory is refused and leaves the boot alone: it does
    /// not vent the first one's session.
    @Test func aSecondDaemonLeavesTheBootAlone() throws {
        let d = try Daemon(speed: "5")
        defer { d.stop() }
        let p = try d.upload("protocols/dvt-3-chamber.toml")
        #expect(try d.start(p).status == 201)
        let second = Process()
        second.executableURL = Daemon.binDir.appendingPathComponent("soleusd")
        second.arguments = ["--data", d.data, "--listen", "127.0.0.1:\(Daemon.freePort())", "--speed", "5"]
        second.currentDirectoryURL = URL(fileURLWithPath: Daemon.root)
        let err = Pipe()
        second.standardError = err
        second.standardOutput = FileHandle.nullDevice
        try second.run()
        let text = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        second.waitUntilExit()
        #expect(second.terminationStatus != 0 && text.contains("in use by another") && text.contains("leaves the boot alone"), "\(text)")
        #expect(!text.contains("boot vented"))
        #expect(try d.status()["state"] as? String == "running")
    }

    /// Under systemd: READY once up, then watchdog pings while healthy.
    @Test func itTellsSystemdItIsReadyAndAlive() throws {
        let dir = Daemon.tempDir()
        let path = dir + "/notify.sock"
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in for (i, b) in path.utf8.enumerated() { raw[i] = b } }
        #expect(withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) } } == 0)
        var tv = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        let d = try Daemon(speed: "10", environment: ["NOTIFY_SOCKET": path, "WATCHDOG_USEC": "400000"])
        defer { d.stop() }
        var messages: [String] = []
        var buf = [UInt8](repeating: 0, count: 512)
        while messages.filter({ $0.contains("WATCHDOG=1") }).count < 3 {
            let n = buf.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            guard n > 0 else { break }
            messages.append(String(decoding: buf[0..<n], as: UTF8.self))
        }
        #expect(messages.first?.hasPrefix("READY=1") == true, "\(messages)")
        #expect(messages.filter { $0.contains("WATCHDOG=1") }.count >= 3, "\(messages)")
    }

    /// Of two starts at once, exactly one wins; the other is told a session is running.
    @Test func concurrentStartsCannotBothWin() throws {
        let d = try Daemon(speed: "10")
        defer { d.stop() }
        let p = try d.upload("protocols/dvt-3-chamber.toml")
        let codes = Mutexed<[Int]>([])
        DispatchQueue.concurrentPerform(iterations: 4) { _ in
            let r = try? d.start(p, cycles: 1)
            codes.update { $0.append(r?.status ?? -1) }
        }
        #expect(codes.value.sorted() == [201, 409, 409, 409], "\(codes.value)")
        #expect(try d.cli(["stop"]).status == 0)
    }

    /// Malformed requests get clear 4xx answers; an invalid protocol gets the messages `soleus
    /// validate` prints; nothing crashes the daemon.
    @Test func malformedRequestsAreClearErrors() throws {
        let d = try Daemon(speed: "10")
        defer { d.stop() }
        let bad = "[protocol]\nname = \"x\"\nchambers = [\"ankle\", \"knee\"]\n"
        let r = try d.authed("POST", "/v1/protocols?file=bad.toml", body: Data(bad.utf8))
        #expect(r.status == 422)
        let problems = try r.json()["problems"] as? [String] ?? []
        let path = d.data + "/bad.toml"
        try bad.write(toFile: path, atomically: true, encoding: .utf8)
        let local = try d.cli(["validate", path, "--hardware", "hardware/sim-3-dvt.toml"])
        let expected = local.stderr.split(separator: "\n").filter { $0.hasPrefix(path) }.map { "bad.toml" + $0.dropFirst(path.count) }
        #expect(!problems.isEmpty && problems == expected, "\(problems) vs \(expected)")

        #expect(try d.authed("POST", "/v1/sessions", body: Data("{not json".utf8)).status == 400)
        #expect(try d.authed("POST", "/v1/sessions", body: Data("{\"protocol_id\":\"one\"}".utf8)).status == 400)
        #expect(try d.authed("POST", "/v1/sessions", body: Data("{\"protocol_id\":99}".utf8)).status == 404)
        #expect(try d.authed("GET", "/v1/sessions/abc").status == 400)
        #expect(try d.authed("GET", "/v1/sessions/99999999999999999999").status == 400)
        #expect(try d.authed("GET", "/v1/sessions/7").status == 404)
        #expect(try d.authed("POST", "/v1/session/stop").status == 409)
        #expect(try d.authed("POST", "/v1/protocols", body: Data(repeating: 0x41, count: 300 * 1024)).status == 413)
        #expect(try d.authed("POST", "/v1/protocols", body: Data([0xff, 0xfe, 0x00])).status == 422)
        let p = try d.upload("protocols/dvt-3-chamber.toml")
        #expect(try d.authed("POST", "/v1/sessions", body: Data("{\"protocol_id\":\(p),\"minutes\":100000}".utf8)).status == 422)
        // A length override is held to the profile's session limit like the file's own length.
        let long = try d.authed("POST", "/v1/sessions", body: Data("{\"protocol_id\":\(p),\"cycles\":100000}".utf8))
        #expect(long.status == 422 && long.text.contains("session.cycles") && long.text.contains("max_session_min"), "\(long.text)")
        let missing = try d.authed("POST", "/v1/sessions", body: Data("{\"level\":1}".utf8))
        #expect(missing.status == 400 && missing.text.contains("protocol_id is missing"), "\(missing.text)")
        #expect(try d.authed("POST", "/v1/sessions", body: Data("{\"protocol_id\":\(p),\"level\":7}".utf8)).status == 422)
        #expect(try d.authed("POST", "/v1/protocols?file=again.toml", body: Data(try String(contentsOfFile: Daemon.root + "/protocols/dvt-3-chamber.toml", encoding: .utf8).utf8)).status == 409)
        // Bytes that are not HTTP at all, and a header far past any sane size.
        for junk in ["GARBAGE\r\n\r\n", "\u{0}\u{1}\u{2}\u{ff}\r\n\r\n", "GET / HTTP/1.1\r\nX: " + String(repeating: "a", count: 200_000) + "\r\n\r\n"] {
            let answer = try rawExchange(port: d.port, Data(junk.utf8))
            #expect(answer.isEmpty || answer.hasPrefix("HTTP/1.1 4"), "\(answer.prefix(80))")
        }
        #expect((try? d.health()) != nil)
    }

    /// Sends raw bytes on a new connection and returns what comes back before it closes (5 s at most).
    func rawExchange(port: Int, _ bytes: Data) throws -> String {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        let rc = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard rc == 0 else { throw TestFailure("connect: \(errno)") }
        var tv = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        _ = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        var out = Data()
        var buf = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = buf.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { break }
            out.append(contentsOf: buf[0..<n])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Every route the OpenAPI document protects answers 401, with nothing more, to a missing or
    /// wrong token, and something else with the right one; the health check needs none.
    @Test func everyProtectedRouteNeedsTheToken() throws {
        // Five requests per route: the rate limit is lifted for this walk (it has a test of its own).
        let d = try Daemon(speed: "10", extra: ["--requests-per-second", "1000"])
        defer { d.stop() }
        let doc = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: Daemon.root + "/docs/openapi.json"))) as? [String: Any] ?? [:]
        let paths = doc["paths"] as? [String: [String: Any]] ?? [:]
        #expect(paths.count >= 12)
        var checked = 0
        for (path, operations) in paths.sorted(by: { $0.key < $1.key }) {
            for (method, op) in operations where ["get", "post", "put", "delete", "patch"].contains(method) {
                let concrete = path.replacingOccurrences(of: "{id}", with: "1")
                let open = ((op as? [String: Any])?["security"] as? [Any])?.isEmpty == true
                if open {
                    #expect(try d.request(method.uppercased(), concrete, token: nil, timeout: 5).status == 200)
                    continue
                }
                for token: String? in [nil, "wrong", d.token + "x", String(d.token.dropLast())] {
                    let r = try d.request(method.uppercased(), concrete, token: token, timeout: 5)
                    #expect(r.status == 401 && r.text == #"{"error":"unauthorized"}"#, "\(method) \(path) with \(token ?? "no token"): \(r.status) \(r.text)")
                }
                if concrete != "/v1/stream" {
                    #expect(try d.authed(method.uppercased(), concrete).status != 401, "\(method) \(path)")
                }
                checked += 1
            }
        }
        #expect(checked >= 16)
    }
}

/// schemathesis (an independent OpenAPI fuzzer, pinned in scripts/api-requirements.txt) against
/// docs/openapi.json: no 5xx, no status, content type or body the document does not describe.
@Suite(.serialized) struct APIConformanceTests {
    @Test func schemathesisFindsNoServerErrorAndNoSchemaBreak() throws {
        let d = try Daemon(speed: "20", extra: ["--requests-per-second", "1000"])
        defer { d.stop() }
        // Something to find: two protocols and a finished session with samples, events, cycles.
        let p = try d.upload("protocols/dvt-3-chamber.toml")
        _ = try d.upload("protocols/calf-pump-rhythm.toml")
        #expect(try d.start(p, cycles: 1).status == 201)
        try waitUntil(timeout: 60, "the seed session's end") { (try d.session(1)["end_reason"] as? String) != nil }
        let fuzz = Process()
        fuzz.executableURL = URL(fileURLWithPath: Daemon.root + "/scripts/api-fuzz")
        fuzz.arguments = [d.base, d.token, "60"]
        let out = Pipe()
        fuzz.standardOutput = out
        fuzz.standardError = out
        try fuzz.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        fuzz.waitUntilExit()
        #expect(fuzz.terminationStatus == 0, "\(text.suffix(4000))")
        #expect(text.contains("passed") && !text.contains("failed"))
        #expect(d.process.isRunning && (try? d.health()) != nil)
    }
}

/// A value shared by the threads of a test.
final class Mutexed<T>: @unchecked Sendable {
    private var v: T
    private let lock = NSLock()
    init(_ v: T) { self.v = v }
    func update(_ body: (inout T) -> Void) { lock.withLock { body(&v) } }
    var value: T { lock.withLock { v } }
}

/// An SVG read back as elements and attributes.
struct PlotDocument {
    var all: [[String: String]] = []

    init(path: String) throws {
        let parser = XMLParser(data: try Data(contentsOf: URL(fileURLWithPath: path)))
        let collector = Collector()
        parser.delegate = collector
        guard parser.parse() else { throw TestFailure("\(path) is not well-formed XML: \(parser.parserError.map { "\($0)" } ?? "")") }
        all = collector.elements
    }

    func elements(class c: String) -> [[String: String]] { all.filter { $0["class"] == c } }

    final class Collector: NSObject, XMLParserDelegate {
        var elements: [[String: String]] = []
        func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?, attributes: [String: String] = [:]) {
            var a = attributes
            a["element"] = name
            elements.append(a)
        }
    }
}
