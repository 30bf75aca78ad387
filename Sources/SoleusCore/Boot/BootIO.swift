/// What the controller reads from the boot on one tick: a pressure per chamber, the redundant
/// pressure channel where the boot has one, and the emergency-stop input.
public struct BootInputs: Sendable, Equatable {
    /// Gauge pressure per chamber in mmHg (index 0 = most distal), as the sensors report it.
    public var pressures: ChamberValues
    /// The second, independent transducer per chamber (mmHg), when ``hasRedundant``. Only the
    /// safety supervisor reads it: it cross-checks the first channel every tick.
    public var redundant: ChamberValues
    /// True when the boot has a redundant pressure channel (the profile declares it).
    public var hasRedundant: Bool
    /// True while the emergency-stop button is pressed.
    public var emergencyStop: Bool
    /// How old the readings are, in seconds: sensor latency, or the time since a Modbus I/O thread
    /// last got a reply. The supervisor treats old readings as stale.
    public var age: Double

    public init(
        pressures: ChamberValues = ChamberValues(), redundant: ChamberValues? = nil,
        emergencyStop: Bool = false, age: Double = 0
    ) {
        self.pressures = pressures
        self.redundant = redundant ?? ChamberValues()
        hasRedundant = redundant != nil
        self.emergencyStop = emergencyStop
        self.age = age
    }
}

/// What the controller asks for on one tick: the outputs, and per chamber the pressure prescribed
/// now (0 = not pressurised, venting) and when it is due. The set points are the prescription's
/// final values, never a ramp's intermediate value, so the safety supervisor judges "reached",
/// "over target" and top-ups against what the protocol asks for.
public struct TherapyCommand: Sendable, Equatable {
    public var outputs: BootOutputs
    public var setPoints: ChamberValues
    /// Session time (s) by which each set point is due: when it was prescribed, or the end of its
    /// ramp (`ramp_s`). The reach timeout counts from here.
    public var dueAt: ChamberValues

    public init(outputs: BootOutputs, setPoints: ChamberValues = ChamberValues(), dueAt: ChamberValues = ChamberValues()) {
        self.outputs = outputs
        self.setPoints = setPoints
        self.dueAt = dueAt
    }

    /// Everything vented, nothing prescribed.
    public static func vented(chamberCount: Int) -> TherapyCommand {
        TherapyCommand(outputs: .vented(chamberCount: chamberCount))
    }
}

/// What the controller commands on one tick: the pump and the two valves of every chamber, and
/// (owned by the safety supervisor) the safety relay that powers them.
///
/// Valves are on/off. An *inlet* admits pump air into its chamber; an *exhaust* vents the chamber
/// to atmosphere. Exhausts are wired normally-open, so a de-energised boot vents by itself.
public struct BootOutputs: Sendable, Hashable, CustomStringConvertible {
    public var pump: Bool
    public var inlets: ChamberSet
    public var exhausts: ChamberSet
    /// The safety relay closed: the pump and valves have power. Open, every one of them is
    /// de-energised whatever its own output says (pump off, inlets shut, exhausts open), so even a
    /// welded pump relay stops. Boots without a relay ignore it.
    public var power: Bool

    public init(pump: Bool, inlets: ChamberSet, exhausts: ChamberSet, power: Bool = true) {
        self.pump = pump
        self.inlets = inlets
        self.exhausts = exhausts
        self.power = power
    }

    /// The safe state for a boot of `chamberCount` chambers: pump off, inlets closed, exhausts
    /// open, and the safety relay open.
    @inlinable public static func vented(chamberCount: Int) -> BootOutputs {
        BootOutputs(pump: false, inlets: [], exhausts: .all(chamberCount), power: false)
    }

    /// True when this is the safe state for `chamberCount` chambers.
    @inlinable public func isVented(chamberCount: Int) -> Bool {
        !pump && inlets.isEmpty && exhausts == .all(chamberCount)
    }

    public var description: String {
        "relay \(power ? "closed" : "open"), pump \(pump ? "on" : "off"), inlets 0b\(String(inlets.rawValue, radix: 2)), exhausts 0b\(String(exhausts.rawValue, radix: 2))"
    }
}

/// The boot as the protocol validator and controller see it: chamber names and the limits from the
/// hardware profile. Independent of the backend (gpio, modbus, simulated).
public struct BootDescription: Sendable, Equatable {
    /// Chamber names, distal → proximal (e.g. `["ankle", "calf", "thigh"]`).
    public var chambers: [String]
    public var limits: BootLimits

    public init(chambers: [String], limits: BootLimits) {
        self.chambers = chambers
        self.limits = limits
    }
}

/// Hard limits from the hardware profile. The controller and the validator must stay inside
/// them; the safety supervisor enforces them whatever the controller does.
public struct BootLimits: Sendable, Equatable {
    /// The never-exceed ceiling, the over-pressure trip point. The brief sets 150 mmHg as both the
    /// default and the highest a profile may declare.
    public static let absoluteCeiling = Pressure(mmHg: 150)

    /// Over-pressure trip: above this any chamber vents everything and ends the session.
    public var ceiling: Pressure
    /// The highest target a protocol may prescribe on this garment (default: ceiling − 10 mmHg,
    /// headroom for regulation overshoot and limb movement below the trip point).
    public var maxTarget: Pressure
    /// The longest session a protocol may ask for, in minutes.
    public var maxSessionMinutes: Double
    /// Below this every chamber counts as vented (end-of-session check, the brief's 5 mmHg).
    public var ventedBelow: Pressure
    /// The longest a chamber may stay pressurised in one go (s); a protocol may ask for less.
    public var maxCompressionSeconds: Double

    public init(
        ceiling: Pressure = BootLimits.absoluteCeiling,
        maxTarget: Pressure? = nil,
        maxSessionMinutes: Double = 120,
        ventedBelow: Pressure = Pressure(mmHg: 5),
        maxCompressionSeconds: Double = 120
    ) {
        self.maxCompressionSeconds = maxCompressionSeconds
        self.ceiling = ceiling
        self.maxTarget = maxTarget ?? Pressure(mmHg: ceiling.mmHg - 10)
        self.maxSessionMinutes = maxSessionMinutes
        self.ventedBelow = ventedBelow
    }
}
