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
///
/// A boot has one *drive* (a pump and the safety relay that powers it and its limbs' valves) or,
/// when its two limbs each have their own pump, two. The controller and the supervisor work on one
/// limb, so on one drive: ``pump`` and ``power`` are drive 0's. The runtime composes the limbs'
/// outputs into the boot's, drive by drive (``pumps``, ``powered``).
public struct BootOutputs: Sendable, Hashable, CustomStringConvertible {
    /// The drives whose pump runs.
    public var pumps: DriveSet
    public var inlets: ChamberSet
    public var exhausts: ChamberSet
    /// The drives whose safety relay is closed: their pump and valves have power. An open relay
    /// de-energises every one of them whatever its own output says (pump off, inlets shut,
    /// exhausts open), so even a welded pump relay stops. Boots without a relay ignore it.
    public var powered: DriveSet

    public init(pump: Bool, inlets: ChamberSet, exhausts: ChamberSet, power: Bool = true) {
        pumps = pump ? .first : []
        self.inlets = inlets
        self.exhausts = exhausts
        powered = power ? .first : []
    }

    public init(pumps: DriveSet, inlets: ChamberSet, exhausts: ChamberSet, powered: DriveSet) {
        self.pumps = pumps
        self.inlets = inlets
        self.exhausts = exhausts
        self.powered = powered
    }

    /// One drive's pump (a limb's view; on a boot's outputs, true if any pump runs).
    @inlinable public var pump: Bool {
        get { !pumps.isEmpty }
        set { pumps = newValue ? .first : [] }
    }

    /// One drive's safety relay (a limb's view; on a boot's outputs, true if any relay is closed).
    @inlinable public var power: Bool {
        get { !powered.isEmpty }
        set { powered = newValue ? .first : [] }
    }

    /// The safe state for a boot of `chamberCount` chambers: pumps off, inlets closed, exhausts
    /// open, and the safety relays open.
    @inlinable public static func vented(chamberCount: Int) -> BootOutputs {
        BootOutputs(pumps: [], inlets: [], exhausts: .all(chamberCount), powered: [])
    }

    /// True when this is the safe state for `chamberCount` chambers.
    @inlinable public func isVented(chamberCount: Int) -> Bool {
        pumps.isEmpty && inlets.isEmpty && exhausts == .all(chamberCount)
    }

    public var description: String {
        "relay \(power ? "closed" : "open"), pump \(pump ? "on" : "off"), inlets 0b\(String(inlets.rawValue, radix: 2)), exhausts 0b\(String(exhausts.rawValue, radix: 2))"
    }
}

/// A set of drives (pump + safety relay), by index: at most 8.
public struct DriveSet: Sendable, Hashable, OptionSet {
    public var rawValue: UInt8
    @inlinable public init(rawValue: UInt8) { self.rawValue = rawValue }
    /// Drive 0, the only one of a one-pump boot.
    public static let first = DriveSet(rawValue: 1)
    /// The set holding drive `index`.
    @inlinable public static func drive(_ index: Int) -> DriveSet { DriveSet(rawValue: 1 << UInt8(index & 7)) }
    @inlinable public func contains(drive index: Int) -> Bool { rawValue & (1 << UInt8(index & 7)) != 0 }
}

/// The boot as the protocol validator and controller see it: chamber names, limbs and the limits
/// from the hardware profile. Independent of the backend (gpio, modbus, simulated).
public struct BootDescription: Sendable, Equatable {
    /// Every chamber of the boot, limb after limb, each limb distal → proximal (e.g. `["ankle",
    /// "calf", "thigh"]`, or `["left.ankle", …, "right.thigh"]` on a two-limb boot). Index 0 is the
    /// first limb's most distal chamber.
    public var chambers: [String]
    /// The limbs: one for a single garment, two for a pair of legs on one controller.
    public var limbs: [LimbDescription]
    public var limits: BootLimits
    /// What happens to the other limb when one limb faults.
    public var onLimbFault: LimbFaultPolicy

    /// A one-limb boot.
    public init(chambers: [String], limits: BootLimits) {
        self.chambers = chambers
        limbs = [LimbDescription(name: "", chambers: chambers, firstChamber: 0, drive: 0)]
        self.limits = limits
        onLimbFault = .ventAll
    }

    /// A boot of several limbs; chamber names are qualified with the limb's (`left.calf`).
    public init(limbs: [LimbDescription], limits: BootLimits, onLimbFault: LimbFaultPolicy) {
        self.limbs = limbs
        chambers = limbs.flatMap { l in l.chambers.map { l.qualified($0) } }
        self.limits = limits
        self.onLimbFault = onLimbFault
    }

    /// The boot as one limb sees it: its chambers by their own names, the same limits.
    public func view(of limb: LimbDescription) -> BootDescription {
        BootDescription(chambers: limb.chambers, limits: limits)
    }
}

/// One limb's garment on the boot: its chambers, where they sit among the boot's, and the drive
/// (pump and safety relay) that feeds it.
public struct LimbDescription: Sendable, Equatable {
    /// "left", "right"; empty on a one-limb boot.
    public var name: String
    /// Its chambers' own names, distal → proximal.
    public var chambers: [String]
    /// The boot index of its most distal chamber.
    public var firstChamber: Int
    /// Which drive feeds it: limbs that share a pump share its drive (and its safety relay);
    /// a limb with its own pump has its own drive.
    public var drive: Int

    public init(name: String, chambers: [String], firstChamber: Int, drive: Int) {
        self.name = name
        self.chambers = chambers
        self.firstChamber = firstChamber
        self.drive = drive
    }

    /// The boot's name of one of this limb's chambers.
    public func qualified(_ chamber: String) -> String { name.isEmpty ? chamber : "\(name).\(chamber)" }
    /// Its chambers' boot indices.
    public var range: Range<Int> { firstChamber..<(firstChamber + chambers.count) }
}

/// When one limb of a several-limb boot faults: does the other limb carry on?
public enum LimbFaultPolicy: String, Sendable, Equatable {
    /// Any venting fault vents every limb and ends the session.
    case ventAll = "vent-all"
    /// A fault confined to one limb vents that limb, raises its alarm, and the other limbs carry
    /// on (as two-leg DVT pumps do), when the alarm policy says the fault can be confined
    /// (``AlarmCondition/Policy/confinement``).
    case carryOn = "carry-on"
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
    /// The most a boost may add to a zone in the hold, above its distal neighbour (the safety
    /// supervisor's `boost_allowance_mmHg`).
    public var maxBoost: Pressure = Pressure(mmHg: 10)

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
