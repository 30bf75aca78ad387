import Foundation
import Testing

/// `soleus bench`: each measurement runs and prints the keys scripts/bench reads. The numbers
/// themselves are machine-dependent and belong in docs/performance.md, not in assertions.
@Suite struct BenchCLITests {
    func values(_ out: String) -> [String: String] {
        var d: [String: String] = [:]
        for line in out.split(separator: "\n") where !line.hasPrefix("#") {
            let parts = line.split(separator: " ", maxSplits: 1)
            if parts.count == 2 { d[String(parts[0])] = String(parts[1]) }
        }
        return d
    }

    @Test func simulatorReportsTheSessionAndTheSimulatorAlone() throws {
        let r = try CLI.run(["bench", "simulator", "--protocol-file", "protocols/foot-pump.toml", "--hardware", "hardware/sim-1-foot.toml"])
        #expect(r.status == 0, "\(r.stderr)")
        let v = values(r.stdout)
        #expect(v["chambers"] == "1" && v["physics_hz"] == "1000")
        #expect((Int(v["realtime_factor"] ?? "") ?? 0) > 1)
        #expect((Int(v["simulator_factor"] ?? "") ?? 0) > (Int(v["realtime_factor"] ?? "") ?? 0))
    }

    @Test func storeWritesASessionThatExportsInFull() throws {
        let dir = CLI.tempDir()
        let r = try CLI.run(["bench", "store", "--data", dir, "--minutes", "1", "--chambers", "3"])
        #expect(r.status == 0, "\(r.stderr)")
        let v = values(r.stdout)
        #expect(v["samples"] == "1200")
        let csv = try CLI.run(["export", v["session"] ?? "?", "--data", dir])
        #expect(csv.status == 0)
        #expect(csv.stdout.split(separator: "\n").count == 1201)
    }

    @Test func loopReportsItsLatenessInRealTime() throws {
        let r = try CLI.run(["bench", "loop", "--seconds", "1", "--priority", "0"])
        #expect(r.status == 0, "\(r.stderr)")
        let v = values(r.stdout)
        #expect((Int(v["ticks"] ?? "") ?? 0) >= 90)
        for k in ["p50_us", "p99_us", "p999_us", "max_us", "overruns", "alarms"] { #expect(v[k] != nil, "\(k)") }
        #expect(r.stdout.contains("# real-time scheduling not requested (a simulated speed, or --rt-priority 0)"))
    }

    @Test(arguments: [
        (["bench", "loop", "--rate-hz", "5000"], "--rate-hz must be between 10 and 1000, not 5000"),
        (["bench", "loop", "--seconds", "nan"], "--seconds must be above 0"),
        (["bench", "store", "--data", "/tmp/x", "--chambers", "40"], "--chambers must be between 1 and 32, not 40"),
        (["bench", "modbus", "--modbus", "tcp://127.0.0.1:1", "--transactions", "0"], "--transactions must be between 1 and 1000000, not 0"),
    ])
    func badArgumentsAreNamedNotCrashes(args: [String], message: String) throws {
        let r = try CLI.run(args)
        #expect(r.status != 0)
        #expect(r.stderr.contains(message), "\(r.stderr)")
    }

    @Test func anUnreachableModbusDeviceIsNamedWithItsEndpointAndModule() throws {
        let r = try CLI.run(["bench", "modbus", "--modbus", "tcp://127.0.0.1:1"])
        #expect(r.status != 0)
        #expect(r.stderr.contains("modbus tcp://127.0.0.1:1 module coupler (unit 1): Connection refused after 0 of 2000 reads"), "\(r.stderr)")
    }
}
