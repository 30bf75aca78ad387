/// Bounds on the work any input (a protocol, a hardware profile, a scenario, a command-line value,
/// later an API request) may ask of Soleus. Every value is checked against these before it is
/// converted or used, so no input can trap a conversion, exhaust memory or keep a command busy
/// for long. The table with the reason for each is in docs/input-limits.md.
public enum InputLimits {
    /// Largest file read (bytes). Soleus's largest file is a few kilobytes.
    public static let maxFileBytes = 1 << 20
    /// Longest any single time in a protocol may be (s): a period, rest, delay, trigger time or
    /// ramp. One hour is far beyond any compression program; `max_session_min` bounds the total.
    public static let maxStepSeconds = 3600.0
    /// Most cycles a protocol may ask for (`cycles`), before the session-length check.
    public static let maxCycles = 100_000
    /// Most sets, and most cycles in a set.
    public static let maxSets = 1000
    /// Steps in one cycle (a chamber may inflate several times in a cycle), and phases in a
    /// program.
    public static let maxStepsPerCycle = 128
    public static let maxPhases = 32
    public static let maxCyclesPerSet = 1000
    /// Most intensity levels (devices offer up to about 10).
    public static let maxIntensityLevels = 20
    /// Longest session any profile may allow (`limits.max_session_min`): a day. Compression
    /// sessions last 15 to 60 minutes; overnight DVT prophylaxis runs in sessions the clinician
    /// restarts.
    public static let maxSessionMinutes = 24.0 * 60
    /// Pressures a file may write: anything of larger magnitude is a typing error, and refusing it
    /// early keeps every later computation on ordinary numbers.
    public static let maxPressureMagnitude = 1000.0
    /// Most events in a fault scenario's timeline.
    public static let maxScenarioEvents = 1000
    /// Latest time (s) a scenario event may name, and its longest duration: a day.
    public static let maxScenarioSeconds = 86_400.0
    /// Most main cycles a scenario may run.
    public static let maxScenarioCycles = 1000
    /// Slowest and fastest `--speed` factor for the simulator. Below 0.01 a session would take
    /// 100× its length; above 10 000 the pacer's deadlines are shorter than the tick itself.
    public static let speedFactors: ClosedRange<Double> = 0.01...10_000
}

extension Int {
    /// `value` rounded toward zero and clamped to `Int`'s range; nan gives 0. For every
    /// conversion of a number that came from outside (a file, a sensor), where `Int(_:)` would
    /// trap on nan, infinity or anything past ±9.2e18.
    @inlinable public init(saturating value: Double) {
        if value.isNaN { self = 0 }
        else if value >= 9.223_372_036_854_775e18 { self = .max }
        else if value <= -9.223_372_036_854_775e18 { self = .min }
        else { self = Int(value) }
    }
}
