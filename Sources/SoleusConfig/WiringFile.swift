import SoleusCore
import SoleusHardware

/// Reads the wiring of a real boot (`backend = "io"`): `[gpio]`, `[modbus]` with its
/// `[[modbus.module]]` tables, and `[wiring]` with one table per chamber. Format and examples in
/// `docs/hardware.md`, "Wiring".
struct WiringReader {
    let issues: IssueCollector
    let chambers: [String]
    let drives: Int
    let protection: Protection
    var modules: [ModbusModule] = []
    var hasGPIO = false
    /// Warnings for the operator (a fail-safe that depends on wiring choices).
    var warnings: [String] = []
    /// Every GPIO line, coil and register bit used, with the key that uses it (duplicates).
    var used: [String: String] = [:]

    init(issues: IssueCollector, chambers: [String], drives: Int, protection: Protection) {
        self.issues = issues
        self.chambers = chambers
        self.drives = drives
        self.protection = protection
    }

    mutating func read(_ doc: inout TableReader, safety: SafetySettings) -> BootWiring? {
        var chip: String?
        var consumer = "soleus"
        if var g = doc.table("gpio") {
            chip = g.string("chip", required: true)
            consumer = g.string("consumer") ?? consumer
            if consumer.isEmpty || consumer.utf8.count > 31 { issues.add(g.keyPath("consumer"), "must be 1 to 31 characters (the kernel's limit)") }
            g.rejectUnknownKeys()
            hasGPIO = true
        }
        var modbus: ModbusSettings?
        if var m = doc.table("modbus") { modbus = readModbus(&m) }
        modules = modbus?.modules ?? []
        guard var w = doc.table("wiring", required: true) else { return nil }
        let before = issues.issues.count
        var outputs: [OutputWiring] = []
        for d in 0..<drives {
            if let o = output(&w, "pump", drive: d, signal: .pump(drive: d), required: true) { outputs.append(o) }
        }
        if w.has("safety_relay") && !protection.safetyRelay {
            issues.add(w.keyPath("safety_relay"), "is wired but protection.safety_relay is not true: declare it, so the supervisor owns the relay")
        }
        if protection.safetyRelay {
            for d in 0..<drives {
                if let o = output(&w, "safety_relay", drive: d, signal: .safetyRelay(drive: d), required: true) { outputs.append(o) }
            }
        }
        let estop = emergencyStop(&w)
        var pressures: [PressureWiring] = []
        for (c, name) in chambers.enumerated() {
            guard var t = w.table(name, required: true) else { continue }
            if let o = output(&t, "inlet", drive: nil, signal: .inlet(chamber: c), required: true) { outputs.append(o) }
            if let o = output(&t, "exhaust", drive: nil, signal: .exhaust(chamber: c), required: true) { outputs.append(o) }
            if let p = pressure(&t, "pressure", chamber: c, redundant: false, required: true) { pressures.append(p) }
            if protection.redundantSensors {
                if let p = pressure(&t, "redundant_pressure", chamber: c, redundant: true, required: true) { pressures.append(p) }
            } else if t.node("redundant_pressure") != nil {
                issues.add(t.keyPath("redundant_pressure"), "is wired but protection.redundant_sensors is not true: declare it, so the supervisor cross-checks the two")
            }
            t.rejectUnknownKeys()
        }
        w.rejectUnknownKeys()
        guard issues.issues.count == before else { return nil }
        let wiring = BootWiring(gpioChip: chip, consumer: consumer, modbus: modbus, outputs: outputs, pressures: pressures, emergencyStop: estop)
        if let modbus {
            let map = ModbusMap(wiring: wiring)
            for (i, m) in map.modules.enumerated() where m.readsPerPoll == 0 && m.coilSpan == nil && m.registerSpan == nil {
                issues.add("modbus.module[\(i)]", "module \"\(m.module.name)\" carries no signal: remove it or wire something to it")
            }
            var oversized = false
            for (i, m) in map.modules.enumerated() {
                for problem in m.oversizedSpans {
                    issues.add("modbus.module[\(i)]", "module \"\(m.module.name)\": \(problem)")
                    oversized = true
                }
            }
            // A budget of requests that cannot be made would only repeat the error above.
            if oversized { return nil }
            for m in map.modules where (m.coilSpan != nil || m.registerSpan != nil) && m.module.watchdog.isEmpty {
                warnings.append("modbus module \"\(m.module.name)\" drives outputs but has no communication watchdog programmed (watchdog = [...]): if this controller stops, its outputs stay as last written until its power is cut")
            }
            for p in ModbusBudget(map: map, settings: modbus).problems(settings: modbus, staleAfter: safety.staleAfter) {
                issues.add("modbus", p)
            }
        }
        return wiring
    }

    mutating func readModbus(_ m: inout TableReader) -> ModbusSettings? {
        let before = issues.issues.count
        var endpoint: ModbusEndpoint?
        if let text = m.string("endpoint", required: true) {
            do { endpoint = try ModbusEndpoint(parsing: text) } catch { issues.add(m.keyPath("endpoint"), error.description) }
        }
        let timeout = m.number("response_timeout_ms", in: 1...5000, "ms") ?? 50
        let retries = m.integer("retries").map { v -> Int in
            if !(0...5).contains(v) { issues.add(m.keyPath("retries"), "must be between 0 and 5") }
            return v
        } ?? 1
        let poll = m.number("poll_hz", in: 1...1000, "Hz") ?? 50
        let refresh = m.number("refresh_s", in: 0.05...60, "s") ?? 1
        let lease = m.number("lease_s", in: 0.02...2, "s") ?? 0.25
        let turnaround = m.number("turnaround_ms", in: 0...200, "ms") ?? 2
        var modules: [ModbusModule] = []
        for var t in m.tables("module", maxCount: 16) {
            let name = t.string("name", required: true)
            let unit = t.integer("unit", required: true)
            if let unit, !(1...247).contains(unit) { issues.add(t.keyPath("unit"), "must be a unit id from 1 to 247") }
            var watchdog: [ModbusModule.RegisterWrite] = []
            for var wd in t.tables("watchdog", maxCount: 4) {
                let r = wd.integer("register", required: true)
                let v = wd.integer("value", required: true)
                if let r, !(0...65535).contains(r) { issues.add(wd.keyPath("register"), "must be a register address from 0 to 65535") }
                if let v, !(0...65535).contains(v) { issues.add(wd.keyPath("value"), "must be from 0 to 65535") }
                wd.rejectUnknownKeys()
                if let r, let v { watchdog.append(.init(register: UInt16(clamping: r), value: UInt16(clamping: v))) }
            }
            t.rejectUnknownKeys()
            guard let name, let unit else { continue }
            if modules.contains(where: { $0.name == name }) { issues.add(t.keyPath("name"), "\"\(name)\" names two modules") }
            if modules.contains(where: { $0.unit == unit }) { issues.add(t.keyPath("unit"), "unit \(unit) is used by two modules on one link") }
            modules.append(ModbusModule(name: name, unit: unit, watchdog: watchdog))
        }
        if modules.isEmpty { issues.add(m.keyPath("module"), "lists no module ([[modbus.module]] with name and unit)") }
        if lease <= 1 / poll { issues.add(m.keyPath("lease_s"), "must be longer than one poll period (\(formatFixed(1000 / poll, decimals: 1)) ms), or every command would expire before it is written") }
        m.rejectUnknownKeys()
        guard let endpoint, issues.issues.count == before else { return nil }
        return ModbusSettings(
            endpoint: endpoint, modules: modules, responseTimeout: timeout / 1000, retries: retries, pollRate: poll,
            refreshSeconds: refresh, leaseSeconds: lease, turnaroundSeconds: turnaround / 1000)
    }

    /// One output point; `drive` picks the entry of a per-drive array (two pumps).
    mutating func output(_ parent: inout TableReader, _ key: String, drive: Int?, signal: OutputSignal, required: Bool) -> OutputWiring? {
        var path = parent.keyPath(key)
        var table: TableReader?
        if let d = drive, case .array(let items)? = parent.values[key] {
            _ = parent.node(key)
            guard items.count == drives else {
                if d == 0 { issues.add(path, "lists \(items.count) entries; the boot has \(drives) drive\(drives == 1 ? "" : "s") (one per pump)") }
                return nil
            }
            path = "\(path)[\(d)]"
            guard case .table(let t) = items[d] else { issues.add(path, "must be a table such as { gpio = 17 }"); return nil }
            table = TableReader(t, path: path, issues: issues)
        } else {
            if drive ?? 0 > 0 {
                if drive == 1 && parent.has(key) { issues.add(path, "must list one entry per drive ([{...}, {...}]): the boot has \(drives) pumps") }
                return nil
            }
            table = parent.table(key, required: required)
        }
        guard var t = table else { return nil }
        let activeLow = t.bool("active_low") ?? false
        var normallyOpen: Bool?
        if let v = t.string("valve") {
            switch (v, signal) {
            case ("normally-open", .inlet), ("normally-open", .exhaust): normallyOpen = true
            case ("normally-closed", .inlet), ("normally-closed", .exhaust): normallyOpen = false
            case (_, .inlet), (_, .exhaust): issues.add(t.keyPath("valve"), "is \"\(v)\"; use \"normally-open\" or \"normally-closed\"")
            default: issues.add(t.keyPath("valve"), "applies to valves only")
            }
        }
        guard let place = place(&t) else { t.rejectUnknownKeys(); return nil }
        t.rejectUnknownKeys()
        let o = OutputWiring(signal: signal, place: place, activeLow: activeLow, normallyOpen: normallyOpen, name: path.replacingPrefix("wiring.", with: ""))
        if case .exhaust = signal, !o.normallyOpen {
            warnings.append("\(path) is a normally-closed exhaust: with power lost it does not open, so the chamber stays pressurised until the mechanical relief valve acts")
        }
        if case .inlet = signal, o.normallyOpen {
            warnings.append("\(path) is a normally-open inlet: with power lost it opens the chamber to the pump line")
        }
        return o
    }

    mutating func place(_ t: inout TableReader) -> OutputPlace? {
        let line = t.integer("gpio")
        let moduleName = t.string("module")
        let coil = t.integer("coil")
        let register = t.integer("register")
        let bit = t.integer("bit")
        if let line {
            if moduleName != nil || coil != nil || register != nil { issues.add(t.path, "give either gpio = LINE or module with coil (or register and bit), not both") ; return nil }
            guard hasGPIO else { issues.add(t.keyPath("gpio"), "needs a [gpio] table naming the chip"); return nil }
            guard (0...1023).contains(line) else { issues.add(t.keyPath("gpio"), "must be a line offset from 0 to 1023"); return nil }
            return claim("gpio line \(line)", t.path) ? .gpio(line: UInt32(line)) : nil
        }
        guard let moduleName else { issues.add(t.path, "must say where the output is: { gpio = LINE } or { module = \"NAME\", coil = ADDRESS } or { module = \"NAME\", register = ADDRESS, bit = 0-15 }"); return nil }
        guard let m = modules.firstIndex(where: { $0.name == moduleName }) else {
            issues.add(t.keyPath("module"), "\"\(moduleName)\" is not a [[modbus.module]]" + (modules.isEmpty ? " (there is no [modbus] table)" : " (modules: \(modules.map(\.name).joined(separator: ", ")))"))
            return nil
        }
        if let coil {
            guard (0...65535).contains(coil), register == nil, bit == nil else { issues.add(t.keyPath("coil"), "must be a coil address from 0 to 65535, without register or bit"); return nil }
            return claim("module \(moduleName) coil \(coil)", t.path) ? .modbus(module: m, .coil(UInt16(coil))) : nil
        }
        guard let register, let bit, (0...65535).contains(register), (0...15).contains(bit) else {
            issues.add(t.path, "a Modbus output needs coil = ADDRESS, or register = ADDRESS (0–65535) with bit = 0–15")
            return nil
        }
        return claim("module \(moduleName) register \(register)", t.path, bit: bit) ? .modbus(module: m, .registerBit(register: UInt16(register), bit: UInt8(bit))) : nil
    }

    /// Records a use of a line, coil or register bit; false (reported) when already used.
    mutating func claim(_ what: String, _ path: String, bit: Int? = nil) -> Bool {
        let key = bit.map { "\(what) bit \($0)" } ?? what
        if let other = used[key] {
            issues.add(path, "\(key) is already used by \(other)")
            return false
        }
        used[key] = path
        if bit != nil { used[what + " (outputs)"] = path }
        return true
    }

    mutating func pressure(_ parent: inout TableReader, _ key: String, chamber: Int, redundant: Bool, required: Bool) -> PressureWiring? {
        guard var t = parent.table(key, required: required) else { return nil }
        defer { t.rejectUnknownKeys() }
        guard let moduleName = t.string("module", required: true) else { return nil }
        guard let m = modules.firstIndex(where: { $0.name == moduleName }) else {
            issues.add(t.keyPath("module"), "\"\(moduleName)\" is not a [[modbus.module]]" + (modules.isEmpty ? " (pressures are read through a Modbus analog-input module: add a [modbus] table)" : ""))
            return nil
        }
        let input = t.integer("input_register")
        let holding = t.integer("holding_register")
        guard (input == nil) != (holding == nil), let address = input ?? holding, (0...65535).contains(address) else {
            issues.add(t.path, "give one of input_register (FC04) or holding_register (FC03), an address from 0 to 65535")
            return nil
        }
        let table: PressureWiring.Table = input != nil ? .input : .holding
        if table == .holding, let other = used["module \(moduleName) register \(address) (outputs)"] {
            issues.add(t.keyPath("holding_register"), "register \(address) of module \(moduleName) also carries outputs (\(other))")
            return nil
        }
        guard claim("module \(moduleName) \(table.rawValue) register \(address)", t.path) else { return nil }
        let raw = t.numbers("raw", required: true, maxCount: 2, upTo: 65535, "counts")
        let mmHg = t.numbers("mmHg", required: true, maxCount: 2, upTo: 1000, "mmHg")
        let below = t.number("fault_below", upTo: 65535, "counts")
        let above = t.number("fault_above", upTo: 65535, "counts")
        let codes = t.array("fault_codes", of: "integer", required: false, maxCount: 8) { $0.intValue }
        let signed = t.bool("signed") ?? false
        guard let raw, let mmHg else { return nil }
        guard raw.count == 2, mmHg.count == 2, raw[0] != raw[1], mmHg[0] != mmHg[1], (raw + mmHg).allSatisfy(\.isFinite) else {
            issues.add(t.path, "raw and mmHg must each give two different points, e.g. raw = [4000, 20000] and mmHg = [0, 300] (µA of a 4–20 mA transducer over 0–300 mmHg)")
            return nil
        }
        if let below, let above, below >= above { issues.add(t.keyPath("fault_below"), "must be below fault_above") }
        for (key, v) in [("fault_below", below), ("fault_above", above)] where v.map({ !$0.isFinite }) == true {
            issues.add(t.keyPath(key), "must be a finite number of raw counts")
        }
        if below == nil && above == nil && (codes ?? []).isEmpty {
            warnings.append("\(t.path) has no fault band (fault_below / fault_above, e.g. 3600 and 21000 µA after NAMUR NE43): a broken wire reads as a pressure")
        }
        let cal = Calibration(
            rawLow: raw[0], rawHigh: raw[1], mmHgLow: mmHg[0], mmHgHigh: mmHg[1], faultBelow: below, faultAbove: above,
            faultCodes: (codes ?? []).map { UInt16(clamping: $0) }, signed: signed)
        return PressureWiring(chamber: chamber, redundant: redundant, module: m, table: table, register: UInt16(address), calibration: cal, name: t.path.replacingPrefix("wiring.", with: ""))
    }

    mutating func emergencyStop(_ w: inout TableReader) -> EmergencyStopWiring? {
        guard var t = w.table("emergency_stop") else {
            if protection.directEmergencyStop {
                issues.add(w.keyPath("emergency_stop"), "is required with protection.emergency_stop = \"direct\": the GPIO line the E-stop is read on")
            }
            warnings.append("no E-stop input (wiring.emergency_stop): the E-stop must cut the pump's and valves' supply by wire, and the controller learns of it only from the pressures")
            return nil
        }
        if t.has("module") {
            // One error for the whole entry, not one per Modbus key it carries.
            issues.add(t.keyPath("module"), "the E-stop must be on its own GPIO line, never only through a Modbus module: a lost link would lose the press")
            return nil
        }
        defer { t.rejectUnknownKeys() }
        guard let line = t.integer("gpio", required: true) else { return nil }
        guard hasGPIO else { issues.add(t.keyPath("gpio"), "needs a [gpio] table naming the chip"); return nil }
        guard (0...1023).contains(line), claim("gpio line \(line)", t.path) else {
            if !(0...1023).contains(line) { issues.add(t.keyPath("gpio"), "must be a line offset from 0 to 1023") }
            return nil
        }
        let activeLow = t.bool("active_low") ?? false
        var bias = EmergencyStopWiring.Bias.asIs
        if let b = t.string("bias") {
            if let v = EmergencyStopWiring.Bias(rawValue: b) { bias = v } else { issues.add(t.keyPath("bias"), "is \"\(b)\"; use \"pull-up\", \"pull-down\" or \"as-is\"") }
        }
        return EmergencyStopWiring(line: UInt32(line), activeLow: activeLow, bias: bias)
    }
}

extension String {
    func replacingPrefix(_ prefix: String, with new: String) -> String {
        hasPrefix(prefix) ? new + dropFirst(prefix.count) : self
    }
}
