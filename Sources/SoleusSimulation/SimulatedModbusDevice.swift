import SoleusCore
import SoleusHardware

/// The simulated boot seen through a profile's Modbus register map: each module's coils and
/// registers as libmodbus register maps, kept in step with the physics. Pressures are encoded
/// with each channel's calibration (so a client decodes exactly what the simulator reports);
/// coils and register bits written by a client become the boot's outputs.
///
/// Single owner: the serving thread.
public final class SimulatedModbusDevice {
    public let wiring: BootWiring
    public let map: ModbusMap
    let boot: BootBackend
    /// One register map per module, by module index.
    let registers: [ModbusRegisterMap]
    /// Last time each module was addressed (its communication watchdog counts from there).
    var lastRequest: [Double]
    /// Each module's watchdog timeout (s), from the first watchdog write (in 100 ms units, the
    /// WAGO convention), or nil.
    let watchdogTimeout: [Double?]
    public private(set) var outputs: BootOutputs
    public private(set) var inputs = BootInputs()
    public private(set) var time = 0.0

    /// `boot` is the simulated boot (with its faults); outputs wired to GPIO cannot be served.
    public init(wiring: BootWiring, boot: BootBackend) throws(HardwareError) {
        if let g = wiring.gpioOutputs.first {
            throw HardwareError(device: "sim serve", message: "\(g.name) is wired to a GPIO line, which a Modbus server cannot serve: sim serve needs every output on Modbus (pressures are always on Modbus)")
        }
        guard let settings = wiring.modbus else { throw HardwareError(device: "sim serve", message: "the profile has no Modbus link to serve") }
        self.wiring = wiring
        self.boot = boot
        map = ModbusMap(wiring: wiring)
        var maps: [ModbusRegisterMap] = []
        for m in map.modules {
            let coils = Int(m.coilSpan?.upperBound ?? 0) + 1
            let holding = max(Int(m.holdingSpan?.upperBound ?? 0), Int(m.registerSpan?.upperBound ?? 0), Int(m.module.watchdog.map(\.register).max() ?? 0)) + 1
            let input = Int(m.inputSpan?.upperBound ?? 0) + 1
            do { maps.append(try ModbusRegisterMap(coils: coils, holdingRegisters: holding, inputRegisters: input)) } catch {
                throw HardwareError(device: "sim serve", message: "cannot allocate the register map of \(m.module.name): \(error)")
            }
        }
        registers = maps
        lastRequest = Array(repeating: 0, count: map.modules.count)
        watchdogTimeout = settings.modules.map { $0.watchdog.first.map { Double($0.value) / 10 } }
        outputs = .vented(chamberCount: boot.chamberCount)
    }

    /// The register map serving `unit`, if a module has it.
    public func module(unit: Int) -> Int? { map.modules.firstIndex { $0.module.unit == unit } }
    public func registerMap(_ module: Int) -> ModbusRegisterMap { registers[module] }

    /// Notes a request to `module` (for its watchdog).
    public func addressed(_ module: Int) { lastRequest[module] = time }

    /// Advances the physics to `time`, applies the outputs the registers hold and publishes the
    /// pressures.
    public func step(to t: Double) throws(HardwareError) {
        time = t
        expireWatchdogs()
        outputs = decodeOutputs()
        try boot.write(outputs)
        inputs = try boot.read(at: t)
        for p in wiring.pressures {
            let v = p.redundant ? inputs.redundant[p.chamber] : inputs.pressures[p.chamber]
            let raw = p.calibration.raw(mmHg: v)
            if p.table == .input { registers[p.module].setInput(p.register, raw) } else { registers[p.module].setHolding(p.register, raw) }
        }
    }

    /// A module whose watchdog expired de-energises its outputs, as the real one does.
    func expireWatchdogs() {
        for (i, m) in map.modules.enumerated() {
            guard let limit = watchdogTimeout[i], limit > 0, time - lastRequest[i] > limit else { continue }
            let r = registers[i]
            if let s = m.coilSpan { for a in s { r.setCoil(a, false) } }
            if let s = m.registerSpan { for a in s { r.setHolding(a, 0) } }
        }
    }

    /// The boot's outputs from the coils and register bits, through each output's polarity.
    func decodeOutputs() -> BootOutputs {
        var out = BootOutputs(pumps: [], inlets: [], exhausts: [], powered: [])
        var relayWired = false
        for o in wiring.outputs {
            guard case .modbus(let m, let point) = o.place else { continue }
            let level: Bool
            switch point {
            case .coil(let a): level = registers[m].coil(a)
            case .registerBit(let r, let bit): level = registers[m].holding(r) & (1 << UInt16(bit)) != 0
            }
            let energised = level != o.activeLow
            let active = o.normallyOpen ? !energised : energised
            switch o.signal {
            case .pump(let d): if active { out.pumps.formUnion(.drive(d)) }
            case .safetyRelay(let d): relayWired = true; if active { out.powered.formUnion(.drive(d)) }
            case .inlet(let c): out.inlets.set(c, active)
            case .exhaust(let c): out.exhausts.set(c, active)
            }
        }
        // A boot without a relay is always powered.
        if !relayWired { out.powered = DriveSet(rawValue: 0xFF) }
        return out
    }
}
