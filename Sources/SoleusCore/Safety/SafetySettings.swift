/// Thresholds of the safety supervisor. Every one a profile may change is a row of
/// ``SafetyThreshold/table`` (key, unit, default, hard allowed range, reason), mirrored in
/// `docs/safety.md`; the ceiling and the sustained-pressure limit come from `[limits]`, and the
/// rise- and fall-rate limits are derived from the profile's pump and garment
/// (``PressureRateRule``).
public struct SafetySettings: Sendable, Equatable {
    /// Over-pressure trip: any reading above it (from the profile's limits, ≤ 150 mmHg).
    public var ceiling: Double = 150
    /// Over target: above set point + this band...
    public var overTargetBand: Double = 10
    /// ...for longer than this (s). Tolerates limb movement.
    public var overTargetDebounce: Double = 1.0
    /// A compressing chamber must reach set point − ``reachBand`` within ``reachTimeout`` s of
    /// when the set point is due.
    public var reachTimeout: Double = 10
    public var reachBand: Double = 5
    /// A compression that ends unreached counts as "not reached" if it lasted at least this (s).
    public var minCompression: Double = 1
    /// Leak: while holding, the share of time the inlet is open topping up (averaged with time
    /// constant ``leakAveraging`` s) above this. A healthy garment needs a few percent at most.
    public var leakDuty: Double = 0.08
    /// Unexplained air: above this share the air going in is far more than any garment leak
    /// explains (a torn bladder, or a sensor reading low while the chamber fills): vent.
    public var unexplainedAirDuty: Double = 0.5
    public var leakAveraging: Double = 2
    /// Inlet stuck open: a sealed chamber (both valves closed) rising this far above its lowest
    /// 100 ms mean since it was sealed, for ``closedRiseDebounce`` s...
    public var closedRise: Double = 10
    public var closedRiseDebounce: Double = 0.3
    /// ...or this many exhaust trims while holding within ``trimWindow`` s.
    public var holdTrims: Int = 10
    public var trimWindow: Double = 3
    /// Occlusion: a 100 ms mean rising faster than this (mmHg/s)...
    public var maxRiseRate: Double = 300
    /// ...or falling faster than this (mmHg/s): the sensor sees a kinked hose, not the bladder.
    public var maxFallRate: Double = 600
    /// No pressure rise: pump on continuously this long (s) with no open-inlet chamber rising
    /// ``pumpMinRise`` mmHg.
    public var pumpNoRiseTime: Double = 2
    public var pumpMinRise: Double = 2
    /// Sensor range (mmHg); readings outside are a sensor fault.
    public var sensorMin: Double = -5
    public var sensorMax: Double = 300
    /// Frozen sensor: an unchanged reading over this much valve activity on its chamber (s).
    public var frozenActivity: Double = 0.2
    /// Frozen sensor, whatever the valves do: an unchanged reading for this long (s), for sensors
    /// whose declared noise makes an unchanged reading implausible. 0 = off (noise-free sensors).
    public var frozenQuiet: Double = 0
    /// Redundant channel: the two transducers of a chamber disagreeing by more than this (mmHg)...
    public var disagreementBand: Double = 6
    /// ...on every tick for this long (s).
    public var disagreementDebounce: Double = 0.2
    /// Stale readings: older than this (s).
    public var staleAfter: Double = 0.1
    /// Vent failure: still above ``ventedAbove`` mmHg after this long (s) with the exhaust open.
    public var ventTimeout: Double = 5
    public var ventedAbove: Double = 10
    /// Reverse gradient: proximal above distal by this much, for this long (s).
    public var gradientBand: Double = 5
    public var gradientDebounce: Double = 0.5
    /// A boost zone in the hold may be prescribed this much above its distal neighbour, and no
    /// more: the supervisor allows the prescribed excess up to this bound.
    public var boostAllowance: Double = 10
    /// Sustained pressure: above ``ventedAbove`` continuously for longer than this (s).
    public var maxCompression: Double = 120
    /// Loop overrun (medium alarm): a tick starting this late (s). At the highest fill rate the
    /// supervisor accepts (``maxRiseRate``, 300 mmHg/s) a tick 33 ms late overshoots by
    /// ``lateOvershoot``, the 10 mmHg between the highest target and the ceiling (docs/safety.md,
    /// "Loop lateness"). Profiles with a garment model derive it from their own rise limit.
    public var overrunAfter: Double = 0.033
    /// The overshoot a late tick may cause before it is worth a medium alarm (mmHg).
    public static let lateOvershoot = 10.0
    /// Loop late (low alarm): the share of ticks starting a whole period late or more, averaged
    /// over ``lateAveraging`` s, above which the controller's computer is overloaded.
    public var lateShare: Double = 0.01
    public var lateAveraging: Double = 10

    public init() {}
}
