/// What the controller reads from the boot on one tick: a pressure per chamber and the
/// emergency-stop input.
public struct BootInputs: Sendable, Equatable {
    /// Gauge pressure per chamber in mmHg (index 0 = most distal), as the sensors report it.
    public var pressures: ChamberValues
    /// True while the emergency-stop button is pressed.
    public var emergencyStop: Bool
    /// How old the readings are, in seconds: sensor latency, or the time since a Modbus I/O thread
    /// last got a reply. The supervisor treats old readings as stale.
    public var age: Double

    public init(pressures: ChamberValues = ChamberValues(), emergencyStop: Bool = false, age: Double = 0) {
        self.pressures = pressures
        self.emergencyStop = emergencyStop
        self.age = age
    }
}

/// What the controller asks for on one tick: the outputs, and per chamber the pressure it is
/// regulating to (its set point; 0 = not pressurised, venting). The set points are the
/// prescription, not controller internals: the safety supervisor checks readings against them.
public struct TherapyCommand: Sendable, Equatable {
    public var outputs: BootOutputs
    public var setPoints: ChamberValues

    public init(outputs: BootOutputs, setPoints: ChamberValues = ChamberValues()) {
        self.outputs = outputs
        self.setPoints = setPoints
    }

    /// Everything vented, nothing prescribed.
    public static func vented(chamberCount: Int) -> TherapyCommand {
        TherapyCommand(outputs: .vented(chamberCount: chamberCount))
    }
}

/// What the controller commands on one tick: the pump and the two valves of every chamber.
///
/// Valves are on/off. An *inlet* admits pump air into its chamber; an *exhaust* vents the chamber
/// to atmosphere. Exhausts are wired normally-open, so a de-energised boot vents by itself.
public struct BootOutputs: Sendable, Hashable, CustomStringConvertible {
    public var pump: Bool
    public var inlets: ChamberSet
    public var exhausts: ChamberSet

    public init(pump: Bool, inlets: ChamberSet, exhausts: ChamberSet) {
        self.pump = pump
        self.inlets = inlets
        self.exhausts = exhausts
    }

    /// The safe state for a boot of `chamberCount` chambers: pump off, inlets closed, exhausts open.
    @inlinable public static func vented(chamberCount: Int) -> BootOutputs {
        BootOutputs(pump: false, inlets: [], exhausts: .all(chamberCount))
    }

    /// True when this is the safe state for `chamberCount` chambers.
    @inlinable public func isVented(chamberCount: Int) -> Bool {
        !pump && inlets.isEmpty && exhausts == .all(chamberCount)
    }

    public var description: String {
        "pump \(pump ? "on" : "off"), inlets 0b\(String(inlets.rawValue, radix: 2)), exhausts 0b\(String(exhausts.rawValue, radix: 2))"
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
