import SoleusConfig
import SoleusCore
import SoleusHardware

/// `soleus hw check`: opens every line and module of a real boot once, reads every sensor,
/// and says what answered and what did not. Writes only the vented state.
public enum HardwareCheck {
    public struct Line: Sendable {
        public var ok: Bool
        public var text: String
    }

    public static func run(profile: HardwareProfile, gpioLibrary: GPIOLibrary = LibGPIOD()) -> [Line] {
        guard let wiring = profile.wiring else {
            return [Line(ok: true, text: "simulated backend: nothing to open (\(profile.boot.chambers.count) chambers)")]
        }
        var out = checkGPIO(wiring, library: gpioLibrary)
        if let settings = wiring.modbus { out += checkModbus(wiring, settings, chambers: profile.boot.chambers) }
        return out
    }

    static func checkGPIO(_ w: BootWiring, library: GPIOLibrary) -> [Line] {
        guard let chip = w.gpioChip else { return [] }
        let bankOutputs = w.gpioBankOutputs
        let input = w.gpioBankInput
        var lines: [Line] = []
        do {
            let bank = try GPIOBank(wiring: w, chip: chip, library: library)
            defer { bank.close() }
            for o in bankOutputs { lines.append(Line(ok: true, text: "gpio \(chip) line \(o.line) (\(o.name)): requested, vented level set")) }
            if let input {
                do {
                    let pressed = try bank.inputActive()
                    lines.append(Line(ok: !pressed, text: "gpio \(chip) line \(input.line) (emergency stop): \(pressed ? "PRESSED (or its wire is open): release it" : "released")"))
                } catch { lines.append(Line(ok: false, text: error.description)) }
            }
        } catch {
            lines.append(Line(ok: false, text: error.description))
        }
        return lines
    }

    static func checkModbus(_ w: BootWiring, _ s: ModbusSettings, chambers: [String]) -> [Line] {
        let map = ModbusMap(wiring: w)
        let context: ModbusContext
        do {
            context = try ModbusContext(s.endpoint)
            context.setTimeout(s.responseTimeout)
            try context.connect()
        } catch {
            return [Line(ok: false, text: "modbus \(s.endpoint): cannot connect: \(error.text)")]
        }
        defer { context.close() }
        var lines: [Line] = []
        var buffer = [UInt16](repeating: 0, count: 125)
        for m in map.modules {
            let who = "modbus \(s.endpoint) module \(m.module.name) (unit \(m.module.unit))"
            do {
                try context.setUnit(m.module.unit)
                for (span, input, pressures) in [(m.inputSpan, true, m.inputPressures), (m.holdingSpan, false, m.holdingPressures)] {
                    guard let span else { continue }
                    let n = Int(span.upperBound - span.lowerBound) + 1
                    try buffer.withUnsafeMutableBufferPointer { (b) throws(ModbusError) in
                        try context.readRegisters(input: input, start: span.lowerBound, into: UnsafeMutableBufferPointer(rebasing: b[0..<n]))
                    }
                    for p in pressures {
                        let raw = buffer[Int(p.register - span.lowerBound)]
                        let name = chambers[p.chamber] + (p.redundant ? " (redundant)" : "")
                        if let f = p.calibration.fault(raw: raw) {
                            lines.append(Line(ok: false, text: "\(who) \(input ? "input" : "holding") register \(p.register) (\(name)): \(f)"))
                        } else {
                            lines.append(Line(ok: true, text: "\(who) \(input ? "input" : "holding") register \(p.register) (\(name)): raw \(raw) = \(formatMMHg(p.calibration.mmHg(raw: raw))) mmHg"))
                        }
                    }
                }
                try writeVented(m, context: context)
                if m.coilSpan != nil || m.registerSpan != nil {
                    lines.append(Line(ok: true, text: "\(who): \(m.coilOutputs.count + m.registerOutputs.count) outputs written to their vented state"))
                }
                for wd in m.module.watchdog {
                    try context.writeRegister(wd.register, wd.value)
                    lines.append(Line(ok: true, text: "\(who): watchdog register \(wd.register) = \(wd.value)"))
                }
            } catch {
                lines.append(Line(ok: false, text: "\(who): \(error.text)"))
            }
        }
        return lines
    }

    static func writeVented(_ m: ModbusMap.Module, context: ModbusContext) throws(ModbusError) {
        let vented = BootOutputs.vented(chamberCount: maxChambers)
        var (coils, registers) = m.emptyImages
        m.coilImage(for: vented, into: &coils)
        m.registerImage(for: vented, into: &registers)
        if let s = m.coilSpan { try coils.withUnsafeBufferPointer { (b) throws(ModbusError) in try context.writeCoils(start: s.lowerBound, b) } }
        if let s = m.registerSpan { try registers.withUnsafeBufferPointer { (b) throws(ModbusError) in try context.writeRegisters(start: s.lowerBound, b) } }
    }
}
