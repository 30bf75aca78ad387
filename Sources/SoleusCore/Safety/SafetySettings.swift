/// Thresholds of the safety supervisor. Defaults are documented in `docs/safety.md`; a hardware
/// profile's `[safety]` table can change them, and a protocol can shorten `maxCompression`.
public struct SafetySettings: Sendable, Equatable {
    /// Over-pressure trip: any reading above it (from the profile's limits, ≤ 150 mmHg).
    public var ceiling: Double = 150
    /// Over target: above set point + this band...
    public var overTargetBand: Double = 10
    /// ...for longer than this (s). Tolerates limb movement.
    public var overTargetDebounce: Double = 1.0
    /// A compressing chamber must reach set point − ``reachBand`` within ``reachTimeout`` s.
    public var reachTimeout: Double = 10
    public var reachBand: Double = 5
    /// A compression that ends unreached counts as "not reached" if it lasted at least this (s).
    public var minCompression: Double = 1
    /// Leak: while holding, the share of time the inlet is open topping up (averaged with time
    /// constant ``leakAveraging`` s) above this. A healthy garment needs a few percent at most.
    public var leakDuty: Double = 0.08
    public var leakAveraging: Double = 2
    /// Inlet stuck open: a sealed chamber (both valves closed) rising this far above its lowest
    /// 100 ms mean since it was sealed, for ``closedRiseDebounce`` s...
    public var closedRise: Double = 10
    public var closedRiseDebounce: Double = 0.3
    /// ...or this many exhaust trims while holding within ``trimWindow`` s.
    public var holdTrims: Int = 10
    public var trimWindow: Double = 3
    /// Occlusion: a 100 ms mean rising faster than this (mmHg/s).
    public var maxRiseRate: Double = 300
    /// No pressure rise: pump on continuously this long (s) with no open-inlet chamber rising
    /// ``pumpMinRise`` mmHg.
    public var pumpNoRiseTime: Double = 2
    public var pumpMinRise: Double = 2
    /// Sensor range (mmHg); readings outside are a sensor fault.
    public var sensorMin: Double = -5
    public var sensorMax: Double = 300
    /// Frozen sensor: an unchanged reading over this much valve activity on its chamber (s).
    public var frozenActivity: Double = 0.2
    /// Stale readings: older than this (s).
    public var staleAfter: Double = 0.1
    /// Vent failure: still above ``ventedAbove`` mmHg after this long (s) with the exhaust open.
    public var ventTimeout: Double = 5
    public var ventedAbove: Double = 10
    /// Reverse gradient: proximal above distal by this much, for this long (s).
    public var gradientBand: Double = 5
    public var gradientDebounce: Double = 0.5
    /// Sustained pressure: above ``ventedAbove`` continuously for longer than this (s).
    public var maxCompression: Double = 120
    /// Loop overrun: a tick starting this late (s).
    public var overrunAfter: Double = 0.005

    public init() {}
}
