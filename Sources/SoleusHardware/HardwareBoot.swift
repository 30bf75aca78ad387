import SoleusCore

/// A real boot: outputs on GPIO lines and/or Modbus coils, pressures from Modbus analog-input
/// modules, the E-stop on a GPIO line, each signal where the profile's wiring puts it.
///
/// GPIO outputs are set on the loop's thread (one ioctl); Modbus traffic runs on the
/// ``ModbusLink``'s I/O thread, met through its mailboxes. Opening requests every line with the
/// vented state as its initial level and waits for the first reading of every module, so a
/// session never starts on a dead link. ``close()`` vents, confirms, then releases.
///
/// Single owner: the session loop that opened it.
public final class HardwareBoot: BootBackend {
    public let wiring: BootWiring
    public let chamberCount: Int
    public let summary: String
    let gpio: GPIOBank?
    /// Index into the GPIO bank of each GPIO output, in `wiring.gpioOutputs` order.
    let gpioOutputs: [OutputWiring]
    public let modbus: ModbusLink?
    /// The boot has a second transducer per chamber (decided once, not every tick).
    let hasRedundant: Bool
    var closed = false
    /// The hardware error of the moment (a Modbus module's since its last good poll, a GPIO
    /// call's), for the session log; nil while every module answers.
    public private(set) var lastFault: String?

    /// Opens every line and module. `firstReadingTimeout`: how long to wait for every module to
    /// answer once before giving up with its error.
    public init(wiring: BootWiring, chamberCount: Int, gpioLibrary: GPIOLibrary = LibGPIOD(), firstReadingTimeout: Double = 3) throws(HardwareError) {
        self.wiring = wiring
        self.chamberCount = chamberCount
        gpioOutputs = wiring.gpioOutputs
        hasRedundant = wiring.pressures.contains(where: \.redundant)
        var parts: [String] = []
        if let chip = wiring.gpioChip, !gpioOutputs.isEmpty || wiring.emergencyStop != nil {
            gpio = try GPIOBank(wiring: wiring, chip: chip, library: gpioLibrary)
            parts.append("gpio \(chip)")
        } else {
            gpio = nil
        }
        if let settings = wiring.modbus {
            let link = ModbusLink(settings: settings, wiring: wiring, chamberCount: chamberCount)
            do {
                try link.start()
            } catch {
                gpio?.close()
                throw error
            }
            if !link.waitForFirstReadings(timeout: firstReadingTimeout) {
                link.ventAndWait(timeout: 0.5)
                link.stop()
                gpio?.close()
                throw HardwareError(device: "modbus \(settings.endpoint)", message: "no reading from every module within \(formatFixed(firstReadingTimeout, decimals: 1)) s: \(link.latest().error ?? "no reply")")
            }
            modbus = link
            parts.append("modbus \(settings.endpoint) (\(settings.modules.count) module\(settings.modules.count == 1 ? "" : "s"))")
        } else {
            modbus = nil
        }
        summary = parts.joined(separator: ", ")
    }

    deinit { close() }

    public func read(at time: Double) throws(HardwareError) -> BootInputs {
        var inputs = BootInputs()
        if let modbus {
            let l = modbus.latest()
            inputs.pressures = l.pressures
            if hasRedundant {
                inputs.redundant = l.redundant
                inputs.hasRedundant = true
            }
            inputs.age = l.age
            lastFault = l.error
        }
        if let gpio { inputs.emergencyStop = try gpio.inputActive() }
        return inputs
    }

    public func write(_ outputs: BootOutputs) throws(HardwareError) {
        if let gpio {
            for (i, o) in gpioOutputs.enumerated() { gpio.set(i, o.level(for: outputs)) }
            try gpio.flush()
        }
        modbus?.command(outputs)
    }

    /// Vents without waiting: GPIO outputs at once, Modbus outputs posted to the I/O thread
    /// (which writes them on its next pass). The session loop calls this on every tick of its
    /// venting tail, so it must never block; ``close()`` waits for the modules to confirm.
    public func vent() {
        let vented = BootOutputs.vented(chamberCount: chamberCount)
        if let gpio {
            for (i, o) in gpioOutputs.enumerated() { gpio.set(i, o.level(for: vented)) }
            do { try gpio.flush() } catch { lastFault = error.description }
        }
        modbus?.command(vented)
    }

    /// Vents, then releases every line and stops the I/O thread (idempotent).
    public func close() {
        guard !closed else { return }
        closed = true
        vent()
        if let modbus, !modbus.ventAndWait(timeout: 1) {
            lastFault = "modbus: the vented state was not confirmed by every module within 1 s: \(modbus.latest().error ?? "no reply")"
        }
        modbus?.stop()
        gpio?.close()
    }
}
