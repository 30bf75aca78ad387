/// One safety threshold a hardware profile may set in its `[safety]` table: its key, unit, default,
/// the hard range a profile must stay inside, and why. Outside the range a check would be switched
/// off in effect (a 600 s stale limit, a 300 mmHg band), so such a profile is rejected.
///
/// ``table`` is the single list; `docs/safety.md` mirrors it and a test keeps the two in step.
public struct SafetyThreshold: Sendable {
    /// Key in the profile's `[safety]` table.
    public let key: String
    public let unit: String
    /// Lowest and highest value a profile may give.
    public let range: ClosedRange<Double>
    /// True for counts (whole numbers).
    public let integer: Bool
    /// Why the range is what it is.
    public let reason: String
    let read: @Sendable (SafetySettings) -> Double
    let write: @Sendable (inout SafetySettings, Double) -> Void

    /// The value in ``SafetySettings``'s defaults.
    public var defaultValue: Double { read(SafetySettings()) }
    /// This threshold's value in `settings`.
    public func value(in settings: SafetySettings) -> Double { read(settings) }
    /// Sets this threshold in `settings` (the caller has checked ``range``).
    public func apply(_ value: Double, to settings: inout SafetySettings) { write(&settings, value) }

    init(_ key: String, _ unit: String, _ range: ClosedRange<Double>, integer: Bool = false, _ reason: String,
         _ path: WritableKeyPath<SafetySettings, Double> & Sendable) {
        self.key = key
        self.unit = unit
        self.range = range
        self.integer = integer
        self.reason = reason
        read = { $0[keyPath: path] }
        write = { $0[keyPath: path] = $1 }
    }

    init(count key: String, _ range: ClosedRange<Double>, _ reason: String, _ path: WritableKeyPath<SafetySettings, Int> & Sendable) {
        self.key = key
        unit = "count"
        self.range = range
        integer = true
        self.reason = reason
        read = { Double($0[keyPath: path]) }
        write = { $0[keyPath: path] = Int($1) }
    }

    /// Every threshold a profile may set.
    public static let table: [SafetyThreshold] = [
        .init("over_target_band_mmHg", "mmHg", 3...20, "above regulation ripple and overshoot; at most 20 so that target + band stays a bound on the therapy", \.overTargetBand),
        .init("over_target_debounce_s", "s", 0.2...2, "long enough for limb movement, short enough that a filling chamber is stopped within the band", \.overTargetDebounce),
        .init("reach_timeout_s", "s", 2...60, "a garment that has not filled in a minute is leaking or disconnected", \.reachTimeout),
        .init("reach_band_mmHg", "mmHg", 1...20, "a compression more than 20 mmHg short is not the prescribed therapy", \.reachBand),
        .init("leak_duty", "share", 0.02...0.5, "below 2 % healthy top-ups alarm; above half the time topping up is no longer a small leak", \.leakDuty),
        .init("unexplained_air_duty", "share", 0.1...0.8, "air going in this much of the hold without a rise is a torn bladder or a sensor reading low: vent", \.unexplainedAirDuty),
        .init("leak_averaging_s", "s", 0.5...10, "averages top-up pulses; longer hides a fast-growing leak", \.leakAveraging),
        .init("closed_rise_mmHg", "mmHg", 3...20, "above noise and limb movement; at most the over-target band's range", \.closedRise),
        .init("closed_rise_debounce_s", "s", 0.05...1, "a rise lasting longer is not noise; longer lets a stuck inlet fill the chamber", \.closedRiseDebounce),
        .init(count: "hold_trims", 3...16, "exhaust trims a healthy hold needs in the window are a few; the event ring holds 16", \.holdTrims),
        .init("trim_window_s", "s", 1...10, "the window the trims are counted in", \.trimWindow),
        .init("pump_no_rise_s", "s", 0.5...10, "a pump that raises nothing for longer is dead or its inlets are stuck shut", \.pumpNoRiseTime),
        .init("pump_min_rise_mmHg", "mmHg", 0.5...20, "above sensor noise", \.pumpMinRise),
        .init("sensor_min_mmHg", "mmHg", -20...(-1), "a gauge sensor cannot read far below atmosphere; a drift or offset shows here", \.sensorMin),
        .init("sensor_max_mmHg", "mmHg", 150...400, "above the ceiling, and inside any sensor's range; beyond, out-of-range faults would never show", \.sensorMax),
        .init("frozen_activity_s", "s", 0.05...1, "no healthy reading stays identical while air moves for longer", \.frozenActivity),
        .init("frozen_quiet_s", "s", 0.1...5, "with declared sensor noise, an identical reading for this long is a stuck sensor", \.frozenQuiet),
        .init("disagreement_band_mmHg", "mmHg", 3...15, "two healthy transducers agree within noise and calibration; beyond 15 a drift passes the over-target bound", \.disagreementBand),
        .init("disagreement_debounce_s", "s", 0.05...1, "filters one-tick glitches; longer lets a drifting channel hide a filling chamber", \.disagreementDebounce),
        .init("stale_after_s", "s", 0.02...0.25, "readings older than this leave the chamber unwatched; at the fastest healthy rise that is about the over-target band", \.staleAfter),
        .init("vent_timeout_s", "s", 1...15, "every garment empties well within it when its exhaust works", \.ventTimeout),
        .init("vented_above_mmHg", "mmHg", 2...20, "above sensor noise and offset; below any therapeutic pressure", \.ventedAbove),
        .init("gradient_band_mmHg", "mmHg", 3...15, "above the controller's gradient allowance (2.5 mmHg); at most 15 so the gradient still means something", \.gradientBand),
        .init("gradient_debounce_s", "s", 0.1...2, "tolerates valve timing between neighbours", \.gradientDebounce),
        .init("boost_allowance_mmHg", "mmHg", 0...10, "the most a boost zone may exceed its distal neighbour in the hold; 10 mmHg is the recovery devices' boost, and no more is ever allowed", \.boostAllowance),
        .init("overrun_after_s", "s", 0.001...0.225, "a tick this late raises the medium loop-overrun alarm; derived as 10 mmHg ÷ the rise limit (33 ms at 300 mmHg/s), at most 0.9 × the stale-readings limit, and always below it", \.overrunAfter),
        .init("late_share", "share", 0.001...0.2, "ticks a whole period late, as a share over the averaging time, that mean an overloaded computer (low loop-late alarm); each one alone is harmless", \.lateShare),
        .init("late_averaging_s", "s", 1...60, "the time over which late ticks are counted; shorter alarms on one burst of load", \.lateAveraging),
        .init("max_rise_rate_mmHg_s", "mmHg/s", 50...20000, "overrides the rise limit derived from the pump and garment (docs/safety.md, section Rate limits)", \.maxRiseRate),
        .init("max_fall_rate_mmHg_s", "mmHg/s", 50...50000, "overrides the fall limit derived from the exhaust and garment", \.maxFallRate),
    ]

    /// The row for `key`, if it is one.
    public static func named(_ key: String) -> SafetyThreshold? { table.first { $0.key == key } }
}

/// A hardware parameter the supervisor's reasoning depends on, bounded like the thresholds: a
/// profile outside the range is rejected, naming the key.
public struct HardwareBound: Sendable {
    public let key: String
    public let unit: String
    public let range: ClosedRange<Double>
    public let reason: String

    /// Simulation and sensor parameters the ceiling bound depends on.
    public static let table: [HardwareBound] = [
        HardwareBound(key: "actuator_delay_s", unit: "s", range: 0...0.05,
                      reason: "a valve or pump acting later than this keeps filling after the supervisor vents: at 300 mmHg/s, 0.05 s is 15 mmHg"),
        HardwareBound(key: "sensor_latency_s", unit: "s", range: 0...0.05,
                      reason: "a reading this old is half the stale-readings limit; older, the supervisor acts on the past"),
        HardwareBound(key: "sensor_full_scale_mmHg", unit: "mmHg", range: 170...400,
                      reason: "at least the ceiling (150 at most) + 20, so an over-pressure reads as one and never saturates below it"),
    ]

    public static func named(_ key: String) -> HardwareBound? { table.first { $0.key == key } }
}
