import Foundation
import SoleusCore
import SoleusHardware
import Testing

/// Set inside the VM that `scripts/gpio-sim-vm` boots: the kernel's gpio-sim chip.
let simChip = ProcessInfo.processInfo.environment["SOLEUS_GPIO_SIM_CHIP"]
let simSysfs = ProcessInfo.processInfo.environment["SOLEUS_GPIO_SIM_SYSFS"] ?? ""

/// The GPIO backend on real kernel lines: gpio-sim under Debian's kernel in QEMU. These run only
/// inside that VM; ``GPIOSimVMTests`` starts the VM and runs them there.
@Suite(.serialized, .enabled(if: simChip != nil, "runs inside the gpio-sim VM (scripts/gpio-sim-vm)"))
struct GPIOSimKernelTests {
    /// The level a consumer drives on line `n`, as gpio-sim reports it.
    func level(_ n: Int) throws -> String {
        try String(contentsOfFile: "\(simSysfs)/sim_gpio\(n)/value", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func pull(_ n: Int, _ direction: String) throws {
        try direction.write(toFile: "\(simSysfs)/sim_gpio\(n)/pull", atomically: false, encoding: .utf8)
        usleep(20_000)
    }

    /// One chamber on GPIO: pump (active-low) on 0, safety relay on 1, inlet on 2, exhaust
    /// (active-low relay board) on 3, the E-stop on 5.
    func wiring() -> BootWiring {
        BootWiring(
            gpioChip: simChip, consumer: "soleus-test", modbus: nil,
            outputs: [
                OutputWiring(signal: .pump(drive: 0), place: .gpio(line: 0), activeLow: true, name: "pump"),
                OutputWiring(signal: .safetyRelay(drive: 0), place: .gpio(line: 1), name: "safety_relay"),
                OutputWiring(signal: .inlet(chamber: 0), place: .gpio(line: 2), name: "calf.inlet"),
                OutputWiring(signal: .exhaust(chamber: 0), place: .gpio(line: 3), activeLow: true, name: "calf.exhaust"),
            ],
            pressures: [], emergencyStop: EmergencyStopWiring(line: 5, activeLow: false, bias: .asIs))
    }

    @Test func outputsStartVentedAndFollowTheirPolarity() throws {
        try pull(5, "pull-down")
        let boot = try HardwareBoot(wiring: wiring(), chamberCount: 1)
        // Vented from the first instant: pump off (active-low: high), relay open, inlet closed,
        // exhaust de-energised = open (active-low: high).
        #expect(try [0, 1, 2, 3].map(level) == ["1", "0", "0", "1"])
        try boot.write(BootOutputs(pump: true, inlets: .chamber(0), exhausts: [], power: true))
        #expect(try [0, 1, 2, 3].map(level) == ["0", "1", "1", "0"])
        boot.vent()
        #expect(try [0, 1, 2, 3].map(level) == ["1", "0", "0", "1"])
        boot.close()
    }

    @Test func emergencyStopEdgesAreSeenAndAShortPressIsNotLost() throws {
        try pull(5, "pull-down")
        let boot = try HardwareBoot(wiring: wiring(), chamberCount: 1)
        defer { boot.close() }
        #expect(try boot.read(at: 0).emergencyStop == false)
        try pull(5, "pull-up")
        #expect(try boot.read(at: 0.01).emergencyStop == true)
        try pull(5, "pull-down")
        _ = try boot.read(at: 0.02) // the release edge
        // Pressed and released between two reads: the rising edge is still reported once.
        try pull(5, "pull-up")
        try pull(5, "pull-down")
        #expect(try boot.read(at: 0.03).emergencyStop == true)
        #expect(try boot.read(at: 0.04).emergencyStop == false)
    }

    @Test func aLineHeldByAnotherConsumerIsEBUSYAndNamed() throws {
        let first = try HardwareBoot(wiring: wiring(), chamberCount: 1)
        let e = #expect(throws: HardwareError.self) { try HardwareBoot(wiring: wiring(), chamberCount: 1) }
        #expect(e?.message.contains("EBUSY") == true, "\(String(describing: e))")
        #expect(e?.device.contains("line 0 (pump)") == true, "\(String(describing: e))")
        first.close()
        // Released on close: the same lines can be requested again.
        let again = try HardwareBoot(wiring: wiring(), chamberCount: 1)
        again.close()
    }

    @Test func anInvalidOffsetAndAMissingChipAreNamed() throws {
        var w = wiring()
        w.outputs[2].place = .gpio(line: 40)
        let e = #expect(throws: HardwareError.self) { try HardwareBoot(wiring: w, chamberCount: 1) }
        #expect(e?.device.contains("line 40 (calf.inlet)") == true)
        #expect(e?.message.contains("the chip has \(ProcessInfo.processInfo.environment["SOLEUS_GPIO_SIM_LINES"] ?? "?") lines") == true, "\(String(describing: e))")
        var missing = wiring()
        missing.gpioChip = "/dev/gpiochip9"
        let m = #expect(throws: HardwareError.self) { try HardwareBoot(wiring: missing, chamberCount: 1) }
        #expect(m?.message.contains("no such GPIO chip") == true, "\(String(describing: m))")
    }
}

/// Boots the VM and runs ``GPIOSimKernelTests`` inside it, on real kernel lines. Skips (with the
/// script's reason) only where QEMU cannot run at all, and never in CI.
@Suite(.enabled(if: simChip == nil, "the VM's own run"))
struct GPIOSimVMTests {
    @Test func theGPIOBackendPassesOnGpioSimUnderQEMU() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let p = Process()
        p.executableURL = root.appendingPathComponent("scripts/gpio-sim-vm")
        p.arguments = ["--lines", "16", "--", CommandLine.arguments[0], "--testing-library", "swift-testing", "--filter", "GPIOSimKernelTests"]
        p.currentDirectoryURL = root
        let out = Pipe()
        p.standardOutput = out
        p.standardError = out
        try p.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        if p.terminationStatus == 77 && ProcessInfo.processInfo.environment["CI"] == nil {
            print("GPIO kernel test skipped: \(text)")
            return
        }
        #expect(p.terminationStatus == 0, "\(text)")
        // All four kernel tests ran and passed, none skipped.
        #expect(text.contains("Suite GPIOSimKernelTests passed"), "\(text)")
        for name in ["outputsStartVentedAndFollowTheirPolarity", "emergencyStopEdgesAreSeenAndAShortPressIsNotLost", "aLineHeldByAnotherConsumerIsEBUSYAndNamed", "anInvalidOffsetAndAMissingChipAreNamed"] {
            #expect(text.contains("Test \(name)() passed"), "\(name) did not pass in the VM: \(text)")
        }
    }
}
