import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A peer process (the simulator's Modbus server, socat, pymodbus) whose output is collected in
/// the background; ``waitFor(_:timeout:)`` waits for a line.
final class Peer: @unchecked Sendable {
    let process = Process()
    let input = Pipe()
    private let lock = NSLock()
    private var text = ""

    init(_ executable: String, _ args: [String]) throws {
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = args
        process.currentDirectoryURL = URL(fileURLWithPath: CLI.root)
        let out = Pipe()
        process.standardOutput = out
        process.standardError = out
        process.standardInput = input
        out.fileHandleForReading.readabilityHandler = { [weak self] h in
            let d = h.availableData
            guard let self, !d.isEmpty else { return }
            self.lock.lock()
            self.text += String(decoding: d, as: UTF8.self)
            self.lock.unlock()
        }
        try process.run()
    }

    /// The soleus binary as a peer.
    static func soleus(_ args: [String]) throws -> Peer { try Peer(CLI.binary.path, args) }

    var output: String {
        lock.lock()
        defer { lock.unlock() }
        return text
    }

    /// Waits until the output contains `marker`; false on timeout or exit.
    @discardableResult
    func waitFor(_ marker: String, timeout: Double = 10) -> Bool {
        let end = Date().addingTimeInterval(timeout)
        while Date() < end {
            if output.contains(marker) { return true }
            if !process.isRunning { return output.contains(marker) }
            usleep(20_000)
        }
        return false
    }

    func send(_ line: String) { input.fileHandleForWriting.write(Data((line + "\n").utf8)) }

    /// Stops the peer: `signal`, then SIGKILL if it has not exited within 5 s (a test must
    /// never hang on a peer). Returns true when it exited from `signal` alone.
    @discardableResult
    func kill(_ signal: Int32 = SIGTERM) -> Bool {
        guard process.isRunning else { return true }
        Glibc.kill(process.processIdentifier, signal)
        let end = Date().addingTimeInterval(5)
        while process.isRunning && Date() < end { usleep(10_000) }
        let clean = !process.isRunning
        if !clean { Glibc.kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        return clean
    }

    deinit { kill(SIGKILL) }
}

/// A free-looking TCP port on loopback for one test (ports from 20000 up, by test and process).
func loopbackPort() -> Int {
    let s = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(s) }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    addr.sin_port = 0
    var len = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(s, $0, len) } }
    _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(s, $0, &len) } }
    return Int(UInt16(bigEndian: addr.sin_port))
}

/// The DVT protocol cut to one 16 s cycle, so a real-time run over a real wire stays short.
func shortDVT() throws -> String {
    let text = try String(contentsOfFile: CLI.root + "/protocols/dvt-3-chamber.toml", encoding: .utf8)
        .replacingOccurrences(of: "\nminutes = 30", with: "\ncycles = 1")
        .replacingOccurrences(of: "\nperiod_s = 60", with: "\nperiod_s = 16")
    return CLI.write(text, name: "dvt-short.toml")
}

/// Peak − target per chamber from `soleus run`'s summary table.
func peakErrors(_ output: String) -> [String: Double] {
    var out: [String: Double] = [:]
    for line in output.split(separator: "\n") {
        let f = line.split(separator: " ")
        guard f.count >= 4, ["ankle", "calf", "thigh"].contains(String(f[0])), let v = Double(f[3]) else { continue }
        out[String(f[0])] = v
    }
    return out
}

func serveSimulator(port: Int, extra: [String] = []) throws -> Peer {
    let sim = try Peer.soleus(["sim", "serve", "--hardware", "hardware/modbus-rtu-dvt.toml", "--listen", "tcp://127.0.0.1:\(port)", "--status-every", "0.5"] + extra)
    #expect(sim.waitFor("ready tcp://127.0.0.1:\(port)"), "sim serve did not start: \(sim.output)")
    return sim
}

/// The real Modbus backend against real peers on loopback: the simulator's libmodbus server over
/// TCP and over RTU on a socat pty pair, mbpoll as an independent client, pymodbus as an
/// independent server. Real time, so serialized.
@Suite(.serialized) struct ModbusPeerTests {
    /// One DVT cycle through the Modbus backend, and the same in-process: both complete and
    /// reach every target as closely.
    func runDVT(modbus: String) throws {
        let proto = try shortDVT()
        let data = CLI.tempDir()
        let wire = try CLI.run(["run", proto, "--hardware", "hardware/modbus-rtu-dvt.toml", "--modbus", modbus, "--data", data, "--quiet"])
        #expect(wire.status == 0, "\(wire.stdout)\(wire.stderr)")
        #expect(wire.stdout.contains("completed — protocol completed"))
        #expect(wire.stdout.contains("all chambers below 5 mmHg"))
        let local = try CLI.run(["run", proto, "--hardware", "hardware/sim-3-dvt.toml", "--speed", "max", "--data", data, "--quiet"])
        let a = peakErrors(wire.stdout), b = peakErrors(local.stdout)
        #expect(a.count == 3 && b.count == 3, "\(wire.stdout)")
        for (chamber, e) in a {
            #expect(abs(e) <= 1.5, "\(chamber) peak off target by \(e) mmHg over Modbus")
            #expect(abs(e - (b[chamber] ?? .nan)) <= 1.5, "\(chamber): \(e) over Modbus, \(b[chamber] ?? .nan) in-process")
        }
    }

    @Test func dvtRunsToCompletionOverModbusTCP() throws {
        let port = loopbackPort()
        let sim = try serveSimulator(port: port)
        try runDVT(modbus: "tcp://127.0.0.1:\(port)")
        #expect(sim.output.contains("outputs pump on, relay closed, inlets open [ankle]"), "the simulator saw the ankle fill")
        #expect(sim.kill(), "sim serve stops on SIGTERM")
    }

    @Test func dvtRunsToCompletionOverModbusRTUThroughAPtyPair() throws {
        let dir = CLI.tempDir()
        let socat = try Peer("/usr/bin/socat", ["-d", "-d", "pty,raw,echo=0,link=\(dir)/A", "pty,raw,echo=0,link=\(dir)/B"])
        #expect(socat.waitFor("starting data transfer loop"), "socat: \(socat.output)")
        let sim = try Peer.soleus(["sim", "serve", "--hardware", "hardware/modbus-rtu-dvt.toml", "--listen", "rtu:\(dir)/A,115200,8N1", "--status-every", "0"])
        #expect(sim.waitFor("ready rtu:"), "sim serve: \(sim.output)")
        try runDVT(modbus: "rtu:\(dir)/B,115200,8N1")
        sim.kill()
        socat.kill()
    }

    @Test func mbpollReadsTheSimulatorsRegistersAndDrivesItsCoils() throws {
        let port = loopbackPort()
        let sim = try serveSimulator(port: port)
        func mbpoll(_ args: [String]) throws -> String {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/bin/mbpoll")
            p.arguments = ["-m", "tcp", "-p", "\(port)", "-1"] + args
            let out = Pipe()
            p.standardOutput = out
            try p.run()
            let d = out.fileHandleForReading.readDataToEndOfFile()
            p.waitUntilExit()
            #expect(p.terminationStatus == 0, "mbpoll \(args)")
            return String(decoding: d, as: UTF8.self)
        }
        func registers(_ text: String) -> [Int] {
            text.split(separator: "\n").filter { $0.hasPrefix("[") }.compactMap { Int($0.split(separator: "\t").last?.trimmingCharacters(in: .whitespaces) ?? "") }
        }
        // At rest: six 4–20 mA channels (mbpoll's -r is 1-based) at 4 mA ± noise = 0 mmHg.
        let rest = registers(try mbpoll(["-a", "2", "-t", "3", "-r", "1", "-c", "6", "127.0.0.1"]))
        #expect(rest.count == 6)
        #expect(rest.allSatisfy { (3900...4100).contains($0) }, "\(rest)")
        // Pump, ankle inlet, ankle exhaust closed, safety relay: the ankle fills.
        _ = try mbpoll(["-a", "1", "-t", "0", "-r", "1", "127.0.0.1", "1", "1", "1", "0", "0", "0", "0", "1"])
        #expect(sim.waitFor("outputs pump on, relay closed, inlets open [ankle], exhausts closed [ankle]"), "\(sim.output)")
        usleep(800_000)
        let filled = registers(try mbpoll(["-a", "2", "-t", "3", "-r", "1", "-c", "1", "127.0.0.1"]))
        // Above 10 mmHg: 4000 µA + 10 × 16000 / 300.
        #expect((filled.first ?? 0) > 4533, "\(filled)")
        let coils = try mbpoll(["-a", "1", "-t", "0", "-r", "1", "-c", "8", "127.0.0.1"])
        #expect(coils.contains("[1]: \t1") && coils.contains("[4]: \t0"), "\(coils)")
        _ = try mbpoll(["-a", "1", "-t", "0", "-r", "1", "127.0.0.1", "0", "0", "0", "0", "0", "0", "0", "0"])
        #expect(sim.waitFor("outputs pump off, relay open, inlets open [], exhausts closed []"))
        sim.kill()
    }
}

/// A dead, erring or slow module mid-session: the readings go stale, the supervisor vents, the
/// session ends in the safe state with its log intact, and nothing hangs.
@Suite(.serialized) struct ModbusFaultTests {
    /// Starts a DVT session against a fresh simulator, lets it fill for 2.5 s, applies `fault`
    /// to the simulator, and returns the run's output, its exit status, the session's `show` and
    /// the seconds from the fault to the run's end.
    func session(fault: (Peer) -> Void) throws -> (status: Int32, output: String, show: String, seconds: Double) {
        let port = loopbackPort()
        let sim = try serveSimulator(port: port)
        defer { sim.kill(SIGKILL) }
        let data = CLI.tempDir()
        let run = try Peer.soleus(["run", try shortDVT(), "--hardware", "hardware/modbus-rtu-dvt.toml", "--modbus", "tcp://127.0.0.1:\(port)", "--data", data, "--quiet"])
        #expect(run.waitFor("Ctrl-C stops"), "\(run.output)")
        usleep(2_500_000)
        let faultAt = Date()
        fault(sim)
        let end = Date().addingTimeInterval(15)
        while run.process.isRunning && Date() < end { usleep(10_000) }
        let seconds = Date().timeIntervalSince(faultAt)
        let ended = !run.process.isRunning
        #expect(ended, "the session must end, not hang: \(run.output)")
        if !ended { run.kill(SIGKILL) }
        let show = try CLI.run(["show", "1", "--data", data])
        return (run.process.terminationStatus, run.output, show.stdout, seconds)
    }

    func expectStaleAndSafe(_ r: (status: Int32, output: String, show: String, seconds: Double), hardware: String...) {
        #expect(r.status == 1, "\(r.output)")
        #expect(r.output.contains("safety-trip — stale-readings"), "\(r.output)")
        #expect(r.output.contains("high stale-readings"), "\(r.output)")
        // The log is whole: the session, its end, and the hardware's own words for the cause.
        #expect(r.show.contains("end        safety-trip"), "\(r.show)")
        #expect(r.show.contains("safe-state"), "\(r.show)")
        #expect(r.show.contains("[hardware: modbus tcp://127.0.0.1:"), "\(r.show)")
        #expect(hardware.contains { r.show.contains($0) }, "\(r.show)")
    }

    @Test func killingTheSimulatorMidSessionVentsOnStaleReadings() throws {
        let r = try session { $0.kill(SIGKILL) }
        expectStaleAndSafe(r, hardware: "Connection refused")
        // Killed 2.5 s into the session: the alarm (and the vented outputs with it) follows within
        // stale_after_s (0.1 s) plus a poll period, whatever the scheduling noise of the test.
        let alarm = r.show.split(separator: "\n").first { $0.contains("high priority: stale-readings") }
        let at = alarm.flatMap { Double($0.split(separator: " ").first ?? "") } ?? -1
        #expect(at >= 2.5 && at <= 2.9, "stale-readings raised at \(at) s: \(r.show)")
        // Then the vent tail waits out its 10 s for readings that never come, and says so.
        #expect(r.show.contains("venting is not confirmed: the readings were stale"), "\(r.show)")
        #expect(r.seconds < 13, "\(r.seconds) s from the kill to the end")
    }

    @Test func aModuleAnsweringWithExceptionsVents() throws {
        let r = try session { $0.send("link exceptions") }
        expectStaleAndSafe(r, hardware: "Slave device or server failure")
    }

    @Test func aModuleAnsweringGarbageVents() throws {
        // Every unit answers garbage: whichever transaction was in flight names its module.
        let r = try session { $0.send("link garbage") }
        expectStaleAndSafe(r, hardware: "module analog (unit 2)", "module relays (unit 1)")
    }

    @Test func aModuleTooSlowToAnswerVents() throws {
        let r = try session { $0.send("link slow 0.5") }
        expectStaleAndSafe(r, hardware: "Connection timed out")
    }
}

/// The Modbus backend against an independent server: pymodbus (pinned in a venv the test makes)
/// with a register map of its own: relays on coils 100–107 of unit 7, raw pressures on holding
/// registers 200–203 of unit 9 in S7-style counts (0–27648 over the range).
@Suite(.serialized) struct PymodbusPeerTests {
    static let profile = """
        [profile]
        name = "two chambers on an independent peer"
        backend = "io"
        chambers = ["ankle", "calf"]

        [modbus]
        endpoint = "tcp://127.0.0.1:1"
        poll_hz = 20
        response_timeout_ms = 200

        [safety]
        stale_after_s = 0.25

        [[modbus.module]]
        name = "relays"
        unit = 7

        [[modbus.module]]
        name = "analog"
        unit = 9

        [wiring]
        pump = { module = "relays", coil = 104, active_low = true }

        [wiring.ankle]
        inlet = { module = "relays", coil = 100 }
        exhaust = { module = "relays", coil = 101 }
        pressure = { module = "analog", holding_register = 200, raw = [0, 27648], mmHg = [0, 300], fault_above = 32511 }

        [wiring.calf]
        inlet = { module = "relays", coil = 102 }
        exhaust = { module = "relays", coil = 103 }
        pressure = { module = "analog", holding_register = 201, raw = [0, 27648], mmHg = [0, 300], fault_above = 32511 }
        """

    struct State: Decodable {
        var coils: [Bool]
        var writes: Int
    }

    func startPeer(state: String) throws -> Peer {
        let venv = Process()
        venv.executableURL = URL(fileURLWithPath: CLI.root + "/scripts/peer-venv")
        let out = Pipe()
        venv.standardOutput = out
        try venv.run()
        let python = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).split(separator: "\n").last.map(String.init) ?? ""
        venv.waitUntilExit()
        #expect(venv.terminationStatus == 0, "scripts/peer-venv failed")
        let peer = try Peer(python, ["Tests/Peers/pymodbus_peer.py", "--port", "0", "--state", state, "--pressure-raw", "0,921,32767,0"])
        #expect(peer.waitFor("READY "), "pymodbus peer: \(peer.output)")
        return peer
    }

    func port(_ peer: Peer) -> String {
        peer.output.split(separator: "\n").first { $0.hasPrefix("READY ") }.map { String($0.dropFirst(6)) } ?? "0"
    }

    func state(_ path: String) throws -> State {
        try JSONDecoder().decode(State.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
    }

    @Test func hwCheckReadsAndWritesThePeersOwnMap() throws {
        let dir = CLI.tempDir()
        let peer = try startPeer(state: dir + "/state.json")
        let profile = CLI.write(Self.profile, name: "peer.toml")
        let endpoint = "tcp://127.0.0.1:\(port(peer))"
        let r = try CLI.run(["hw", "check", "--hardware", profile, "--modbus", endpoint])
        #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
        #expect(r.stdout.contains("module analog (unit 9) holding register 200 (ankle): raw 0 = 0.0 mmHg"), "\(r.stdout)")
        #expect(r.stdout.contains("holding register 201 (calf): raw 921 = 10.0 mmHg"), "\(r.stdout)")
        // The vented state through the polarities: the active-low pump's coil is ON, valves off.
        let s = try state(dir + "/state.json")
        #expect(s.coils == [false, false, false, false, true, false, false, false])
        #expect(s.writes >= 1)

        // A module answering every request with an exception: named, with libmodbus's words.
        peer.send("exceptions on")
        #expect(peer.waitFor("OK exceptions on"))
        let bad = try CLI.run(["hw", "check", "--hardware", profile, "--modbus", endpoint])
        #expect(bad.status == 1)
        #expect(bad.stdout.contains("FAIL modbus \(endpoint) module analog (unit 9): Slave device or server failure"), "\(bad.stdout)")
        peer.kill()
    }

    @Test func manualBenchActionsRunThroughTheBackendWithTheSupervisorWatching() throws {
        let dir = CLI.tempDir()
        let peer = try startPeer(state: dir + "/state.json")
        let profile = CLI.write(Self.profile, name: "peer.toml")
        let endpoint = "tcp://127.0.0.1:\(port(peer))"
        // Close the ankle's exhaust for a second through the real backend (I/O thread,
        // mailboxes), then vent: vented at the start, the exhaust coil on, vented at the end.
        let r = try CLI.run(["hw", "manual", "--hardware", profile, "--modbus", endpoint, "--close-exhaust", "ankle", "--seconds", "1"])
        #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
        #expect(r.stdout.contains("ankle 0.0 mmHg, calf 10.0 mmHg"), "\(r.stdout)")
        var s = try state(dir + "/state.json")
        #expect(s.writes >= 3, "\(s.writes) writes")
        #expect(s.coils == [false, false, false, false, true, false, false, false])
        // An open inlet whose pressure never moves (the peer's registers are fixed): the
        // supervisor calls the sensor frozen and stops the action; the boot is vented.
        let writes = s.writes
        let frozen = try CLI.run(["hw", "manual", "--hardware", profile, "--modbus", endpoint, "--open-inlet", "ankle", "--seconds", "2"])
        #expect(frozen.status == 1)
        #expect(frozen.stdout.contains("stopped by the safety supervisor: sensor-fault"), "\(frozen.stdout)")
        s = try state(dir + "/state.json")
        #expect(s.writes > writes)
        #expect(s.coils == [false, false, false, false, true, false, false, false])
        peer.kill()
    }
}

/// `sim serve --scenario`: a scenario's fault timeline applied to the served boot, seen through
/// the wire as a real module would report it.
@Suite struct SimServeScenarioTests {
    @Test func aDisconnectedSensorIsServedInTheFaultBandAndHwCheckNamesIt() throws {
        let scenario = CLI.write("""
            [scenario]
            name = "calf sensor wire breaks at 2 s"
            protocol = "\(CLI.root)/protocols/dvt-3-chamber.toml"
            hardware = "\(CLI.root)/hardware/sim-3-dvt.toml"

            [[event]]
            at_s = 2
            fault = "sensor-disconnected"
            chamber = "calf"

            [expect]
            alarm = "sensor-fault"
            """, name: "wire-break.toml")
        let port = loopbackPort()
        let sim = try serveSimulator(port: port, extra: ["--scenario", scenario])
        let endpoint = "tcp://127.0.0.1:\(port)"
        let before = try CLI.run(["hw", "check", "--hardware", "hardware/modbus-rtu-dvt.toml", "--modbus", endpoint])
        #expect(before.status == 0, "\(before.stdout)")
        usleep(2_500_000)
        let after = try CLI.run(["hw", "check", "--hardware", "hardware/modbus-rtu-dvt.toml", "--modbus", endpoint])
        #expect(after.status == 1)
        // A broken wire reads below 3.6 mA on a 4–20 mA input: NAMUR NE43's fault band.
        #expect(after.stdout.contains("FAIL modbus \(endpoint) module analog (unit 2) input register 1 (calf): raw 3599 below the fault limit 3600"), "\(after.stdout)")
        #expect(after.stdout.contains("ok   modbus \(endpoint) module analog (unit 2) input register 0 (ankle)"))
        sim.kill()
    }
}

/// A crash of the whole controller process: a module with a communication watchdog vents by
/// itself; one without holds its outputs (which is why the profile warns about it).
@Suite(.serialized) struct ModuleWatchdogTests {
    /// Kills `soleus run` 2.5 s into a DVT session on `profile` served by the simulator, waits
    /// 1.5 s, and returns the simulator's output after the kill.
    func killController(profile: String) throws -> String {
        let port = loopbackPort()
        let sim = try Peer.soleus(["sim", "serve", "--hardware", profile, "--listen", "tcp://127.0.0.1:\(port)", "--status-every", "0"])
        #expect(sim.waitFor("ready tcp://"), "\(sim.output)")
        let run = try Peer.soleus(["run", try shortDVT(), "--hardware", profile, "--modbus", "tcp://127.0.0.1:\(port)", "--data", CLI.tempDir(), "--quiet"])
        #expect(run.waitFor("Ctrl-C stops"), "\(run.output)")
        // About 1 s into the session the ankle is still filling and nothing is due to change
        // until it reaches its target (about 1.5 s); at 2.5 s the calf's inflate would race the kill.
        usleep(1_000_000)
        let before = sim.output
        run.kill(SIGKILL)
        usleep(1_500_000)
        let after = String(sim.output.dropFirst(before.count))
        sim.kill()
        #expect(before.contains("pump on"), "the session was filling when killed: \(before)")
        return after
    }

    @Test func aCouplerWithAWatchdogVentsWhenTheControllerDies() throws {
        let after = try killController(profile: "hardware/modbus-tcp-wago.toml")
        // Programmed at connect: 5 × 100 ms without a request → every output off.
        #expect(after.contains("outputs pump off, relay open, inlets open [], exhausts closed []"), "\(after)")
    }

    @Test func aRelayModuleWithoutAWatchdogHoldsItsOutputs() throws {
        let after = try killController(profile: "hardware/modbus-rtu-dvt.toml")
        #expect(!after.contains("outputs"), "no output changed after the kill: \(after)")
    }
}
