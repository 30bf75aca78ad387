import Testing
import SoleusConfig
import SoleusCore
import SoleusHardware
import SoleusSimulation
@testable import SoleusRuntime

/// A backend whose reads start failing after `failAfter` ticks, as an unplugged module would.
final class FailingBoot: BootBackend {
    let inner: SimulatedBoot
    let failAfter: Int
    var reads = 0
    var vents = 0
    init(_ inner: SimulatedBoot, failAfter: Int) {
        self.inner = inner
        self.failAfter = failAfter
    }
    var chamberCount: Int { inner.chamberCount }
    var summary: String { "failing test boot" }
    func read(at time: Double) throws(HardwareError) -> BootInputs {
        reads += 1
        if reads > failAfter { throw HardwareError(device: "test module", message: "no reply") }
        return try inner.read(at: time)
    }
    func write(_ outputs: BootOutputs) throws(HardwareError) { try inner.write(outputs) }
    func vent() {
        vents += 1
        inner.vent()
    }
}

@Suite struct ExitPathTests {
    @Test func operatorStopMidCompressionVentsAndLogs() throws {
        let prepared = try prepare("protocols/dvt-3-chamber.toml", "hardware/sim-3-dvt.toml")
        let (result, boot, log) = try runWatched(prepared, shouldStop: { $0 >= 8 })
        #expect(result.end.reason == .stopped)
        #expect(log.events.contains { $0.kind == "operator-stop" && abs($0.time - 8) < 0.02 })
        let vented = try #require(result.ventedAfter)
        #expect(vented < 5)
        for c in 0..<3 { #expect(boot.sim.physics.pressure[c] < 5) }
        #expect(boot.lastOutputs.isVented(chamberCount: 3))
        // The interrupted cycle is still summarised: nothing logged is lost.
        #expect(result.summaries.filter { $0.cycle == 1 }.count == 3)
    }

    @Test func overPressureReadingTripsVentsAndNamesTheChamber() throws {
        let prepared = try prepare("protocols/foot-pump.toml", "hardware/sim-1-foot.toml")
        var faultAt: Double?
        let (result, boot, log) = try runWatched(prepared, configure: { boot in
            boot.onRead = { t, sim in
                // At 21.5 s, while the foot holds 130 mmHg, its sensor starts drifting up 200 mmHg/s.
                if t >= 21.5 && faultAt == nil {
                    faultAt = t
                    var f = SimulatedFaults()
                    f.sensor[0] = .drift(perSecond: 200, since: t)
                    sim.setFaults(f)
                }
            }
        })
        #expect(result.end.reason == .safetyTrip)
        #expect(result.end.detail.contains("over-pressure — foot read"))
        let alarm = try #require(log.events.first { $0.kind == "alarm" })
        #expect(alarm.chamber == "foot")
        #expect((alarm.pressure ?? 0) > 150)
        #expect(alarm.message.hasPrefix("high priority: over-pressure"))
        #expect(log.events.contains { $0.kind == "safe-state" })
        // The drifting sensor still reads high, so venting cannot be confirmed from it...
        #expect(result.ventedAfter == nil)
        #expect(log.events.contains { $0.kind == "vent-unconfirmed" })
        // ...but the exhaust is open and the real chamber is empty.
        #expect(boot.lastOutputs.isVented(chamberCount: 1))
        #expect(boot.sim.physics.pressure[0] < 5)
    }

    @Test func hardwareErrorEndsTheSessionVented() throws {
        let prepared = try prepare("protocols/dvt-3-chamber.toml", "hardware/sim-3-dvt.toml")
        let sim = try #require((try prepared.makeBackend()) as? SimulatedBoot)
        let boot = FailingBoot(sim, failAfter: 500)
        let log = MemorySessionLog()
        let result = try prepared.runner(backend: boot, sink: log, options: .init(speed: .max)).run()
        #expect(result.end.reason == .hardwareError)
        #expect(result.end.detail.contains("test module: no reply"))
        #expect(boot.vents >= 2) // at the start, and on the way out
        #expect(log.events.contains { $0.kind == "hardware-error" })
        #expect(log.ending?.reason == .hardwareError)
        // Stops before anything could be confirmed, and says so.
        #expect(log.events.contains { $0.kind == "vent-unconfirmed" })
    }

    @Test func sessionStartsByVenting() throws {
        let prepared = try prepare("protocols/dvt-3-chamber.toml", "hardware/sim-3-dvt.toml")
        let sim = try #require((try prepared.makeBackend()) as? SimulatedBoot)
        let boot = FailingBoot(sim, failAfter: 0)
        _ = try prepared.runner(backend: boot, sink: MemorySessionLog(), options: .init(speed: .max)).run()
        #expect(boot.vents >= 1)
    }
}

/// Venting is confirmed only from fresh readings of sensors the supervisor still trusts; the end
/// says which chambers are unconfirmed and why.
@Suite struct VentConfirmationTests {
    @Test func aChamberWhoseSensorFailedIsNeverReportedVented() throws {
        let prepared = try prepare("protocols/dvt-3-chamber.toml", "hardware/sim-3-dvt.toml")
        let (result, boot, log) = try runWatched(prepared, configure: { boot in
            boot.onRead = fault(at: 4) { $0.sensor[1] = .disconnected }
        })
        #expect(result.end.reason == .safetyTrip)
        #expect(result.ventedAfter == nil)
        let why = try #require(result.ventUnconfirmed)
        #expect(why.hasPrefix("calf unknown: its sensor was judged faulty; the others read below 5.0 mmHg"))
        #expect(!result.end.detail.contains("all chambers vented"))
        #expect(result.end.detail.contains("; venting not confirmed: calf unknown: its sensor was judged faulty"))
        #expect(log.events.last { $0.kind == "vent-unconfirmed" }?.message.contains("calf unknown") == true)
        // The exhausts are open all the same, and the bladder really is empty.
        #expect(boot.lastOutputs.isVented(chamberCount: 3))
        #expect(boot.sim.physics.pressure[1] < 5)
    }

    @Test func staleReadingsCannotConfirmVenting() throws {
        let prepared = try prepare("protocols/dvt-3-chamber.toml", "hardware/sim-3-dvt.toml")
        let (result, _, _) = try runWatched(prepared, configure: { boot in
            boot.onRead = fault(at: 4) { $0.communicationLost = true }
        })
        #expect(result.ventedAfter == nil)
        #expect(result.ventUnconfirmed?.hasPrefix("the readings were stale") == true)
    }

    @Test func aConfirmedVentAfterATripSaysSo() throws {
        let prepared = try prepare("protocols/dvt-3-chamber.toml", "hardware/sim-3-dvt.toml")
        let (result, _, _) = try runWatched(prepared, configure: { boot in
            boot.onRead = fault(at: 4) { $0.emergencyStop = true }
        })
        #expect(result.end.reason == .safetyTrip)
        #expect(result.ventedAfter != nil && result.ventUnconfirmed == nil)
        #expect(result.end.detail.hasSuffix("; all chambers vented"))
    }
}
