import SoleusCore

/// How a real boot is wired, signal by signal: which GPIO line or which Modbus coil, register or
/// bit drives each pump, safety relay and valve, where each pressure transducer is read, and the
/// emergency-stop input. Read from a hardware profile (`docs/hardware.md`, "Wiring"); pure data.
public struct BootWiring: Sendable, Equatable {
    /// The GPIO chip (`/dev/gpiochip0`), when any signal is on GPIO.
    public var gpioChip: String?
    /// The consumer label the kernel shows for the lines this program holds (`gpioinfo`).
    public var consumer: String
    /// The Modbus link, when any signal is on Modbus.
    public var modbus: ModbusSettings?
    public var outputs: [OutputWiring]
    public var pressures: [PressureWiring]
    /// The E-stop input: always a GPIO line (never only through an I/O module's link), or none
    /// when the E-stop cuts the supply by wire alone.
    public var emergencyStop: EmergencyStopWiring?

    public init(
        gpioChip: String?, consumer: String = "soleus", modbus: ModbusSettings?, outputs: [OutputWiring],
        pressures: [PressureWiring], emergencyStop: EmergencyStopWiring?
    ) {
        self.gpioChip = gpioChip
        self.consumer = consumer
        self.modbus = modbus
        self.outputs = outputs
        self.pressures = pressures
        self.emergencyStop = emergencyStop
    }

    /// The outputs on GPIO, in profile order.
    public var gpioOutputs: [OutputWiring] { outputs.filter { if case .gpio = $0.place { true } else { false } } }
    /// The outputs on Modbus, in profile order.
    public var modbusOutputs: [OutputWiring] { outputs.filter { if case .modbus = $0.place { true } else { false } } }
}

/// What an output does for the boot.
public enum OutputSignal: Sendable, Hashable, CustomStringConvertible {
    /// A drive's pump (drive 0 on a one-pump boot).
    case pump(drive: Int)
    /// A drive's safety relay, which powers its pump and valves.
    case safetyRelay(drive: Int)
    case inlet(chamber: Int)
    case exhaust(chamber: Int)

    public var description: String {
        switch self {
        case .pump(let d): d == 0 ? "pump" : "pump \(d + 1)"
        case .safetyRelay(let d): d == 0 ? "safety relay" : "safety relay \(d + 1)"
        case .inlet(let c): "inlet of chamber \(c + 1)"
        case .exhaust(let c): "exhaust of chamber \(c + 1)"
        }
    }
}

/// Where an output is: a GPIO line, or a Modbus coil or one bit of a holding register.
public enum OutputPlace: Sendable, Hashable {
    case gpio(line: UInt32)
    case modbus(module: Int, ModbusOutput)
}

/// A Modbus output point.
public enum ModbusOutput: Sendable, Hashable {
    /// A coil (FC15 write), by its 0-based wire address.
    case coil(UInt16)
    /// Bit `bit` (0 = least significant) of a holding register (FC16 write). Soleus owns every
    /// register it writes: bits it does not drive are written 0.
    case registerBit(register: UInt16, bit: UInt8)
}

/// One output: the signal, where it is wired, and its polarity.
///
/// Polarity has two parts. The *valve* part: inlets are normally closed and exhausts normally
/// open, so de-energising everything vents the boot; energising an exhaust closes it. The
/// *electrical* part: ``activeLow`` outputs energise their relay with a 0 (many relay boards).
public struct OutputWiring: Sendable, Hashable {
    public var signal: OutputSignal
    public var place: OutputPlace
    /// The line or coil is written 0 to energise.
    public var activeLow: Bool
    /// The valve is open when de-energised (exhausts), or closed (inlets). Pumps and relays: false.
    public var normallyOpen: Bool
    /// The name the profile gives it, for errors ("pump", "calf.inlet").
    public var name: String

    public init(signal: OutputSignal, place: OutputPlace, activeLow: Bool = false, normallyOpen: Bool? = nil, name: String) {
        self.signal = signal
        self.place = place
        self.activeLow = activeLow
        if let normallyOpen { self.normallyOpen = normallyOpen } else if case .exhaust = signal { self.normallyOpen = true } else { self.normallyOpen = false }
        self.name = name
    }

    /// True when `outputs` wants this output's actuator energised.
    @inlinable public func energised(by outputs: BootOutputs) -> Bool {
        let active: Bool // pump running, relay closed, valve open
        switch signal {
        case .pump(let d): active = outputs.pumps.contains(drive: d)
        case .safetyRelay(let d): active = outputs.powered.contains(drive: d)
        case .inlet(let c): active = outputs.inlets.contains(index: c)
        case .exhaust(let c): active = outputs.exhausts.contains(index: c)
        }
        return normallyOpen ? !active : active
    }

    /// The level written to the line or coil for `outputs`.
    @inlinable public func level(for outputs: BootOutputs) -> Bool { energised(by: outputs) != activeLow }
}

/// A pressure transducer read through a Modbus analog-input module.
public struct PressureWiring: Sendable, Hashable {
    public enum Table: String, Sendable, Hashable {
        /// FC04 input registers.
        case input
        /// FC03 holding registers.
        case holding
    }

    public var chamber: Int
    /// The second, independent transducer of the chamber (boots with redundant sensors).
    public var redundant: Bool
    public var module: Int
    public var table: Table
    public var register: UInt16
    public var calibration: Calibration
    public var name: String

    public init(chamber: Int, redundant: Bool = false, module: Int, table: Table, register: UInt16, calibration: Calibration, name: String) {
        self.chamber = chamber
        self.redundant = redundant
        self.module = module
        self.table = table
        self.register = register
        self.calibration = calibration
        self.name = name
    }
}

/// Raw register counts → mmHg: a straight line through two points, and the raw values that mean
/// a sensor or wiring fault (NAMUR NE43 for 4–20 mA: below 3.6 mA or above 21 mA).
public struct Calibration: Sendable, Hashable {
    public var rawLow: Double
    public var rawHigh: Double
    public var mmHgLow: Double
    public var mmHgHigh: Double
    /// Raw values below this are a fault (nil: none).
    public var faultBelow: Double?
    /// Raw values above this are a fault (nil: none).
    public var faultAbove: Double?
    /// Raw codes a module uses to report a fault (e.g. WAGO's 0x0003 wire break, 0x7FFF over-range).
    public var faultCodes: [UInt16]
    /// The register holds a two's-complement signed value.
    public var signed: Bool

    public init(rawLow: Double, rawHigh: Double, mmHgLow: Double, mmHgHigh: Double, faultBelow: Double? = nil, faultAbove: Double? = nil, faultCodes: [UInt16] = [], signed: Bool = false) {
        self.rawLow = rawLow
        self.rawHigh = rawHigh
        self.mmHgLow = mmHgLow
        self.mmHgHigh = mmHgHigh
        self.faultBelow = faultBelow
        self.faultAbove = faultAbove
        self.faultCodes = faultCodes
        self.signed = signed
    }

    /// 4–20 mA in µA over `fullScale` mmHg, with the NE43 fault band (3.6 mA, 21 mA).
    public static func milliamps4to20(microampsFullScale fullScale: Double) -> Calibration {
        Calibration(rawLow: 4000, rawHigh: 20000, mmHgLow: 0, mmHgHigh: fullScale, faultBelow: 3600, faultAbove: 21000)
    }

    /// The raw register value as a number.
    @inlinable public func value(of raw: UInt16) -> Double { signed ? Double(Int16(bitPattern: raw)) : Double(raw) }

    /// mmHg for a raw register value; NaN for a value in the fault band or a fault code (the
    /// supervisor's sensor-fault check then vents).
    @inlinable public func mmHg(raw: UInt16) -> Double {
        if faultCodes.contains(raw) { return .nan }
        let r = value(of: raw)
        if let b = faultBelow, r < b { return .nan }
        if let a = faultAbove, r > a { return .nan }
        return mmHgLow + (r - rawLow) * (mmHgHigh - mmHgLow) / (rawHigh - rawLow)
    }

    /// Why a raw value is a fault, or nil when it is a reading.
    public func fault(raw: UInt16) -> String? {
        if faultCodes.contains(raw) { return "fault code \(raw)" }
        let r = value(of: raw)
        if let b = faultBelow, r < b { return "raw \(formatFixed(r, decimals: 0)) below the fault limit \(formatFixed(b, decimals: 0)) (wire break or under-range)" }
        if let a = faultAbove, r > a { return "raw \(formatFixed(r, decimals: 0)) above the fault limit \(formatFixed(a, decimals: 0)) (short circuit or over-range)" }
        return nil
    }

    /// The raw register value that reads as `mmHg` (for the simulator serving this map), rounded
    /// and clamped to the register.
    public func raw(mmHg p: Double) -> UInt16 {
        guard p.isFinite else { return faultCodes.first ?? UInt16(clamping: Int((faultBelow ?? 1) - 1)) }
        let r = (rawLow + (p - mmHgLow) * (rawHigh - rawLow) / (mmHgHigh - mmHgLow)).rounded()
        if signed { return UInt16(bitPattern: Int16(clamping: Int(max(-32768, min(32767, r))))) }
        return UInt16(clamping: Int(max(0, min(65535, r))))
    }
}

/// The E-stop input: a GPIO line with edge events.
public struct EmergencyStopWiring: Sendable, Hashable {
    public var line: UInt32
    /// Pressed reads 0. The fail-safe wiring is the opposite: a normally-closed button to ground
    /// with a pull-up reads 1 when pressed *and* when a wire breaks, so it is active-high.
    public var activeLow: Bool
    /// Ask the chip for its pull-up (or pull-down) resistor.
    public var bias: Bias

    public enum Bias: String, Sendable, Hashable { case asIs = "as-is", pullUp = "pull-up", pullDown = "pull-down" }

    public init(line: UInt32, activeLow: Bool, bias: Bias) {
        self.line = line
        self.activeLow = activeLow
        self.bias = bias
    }
}
