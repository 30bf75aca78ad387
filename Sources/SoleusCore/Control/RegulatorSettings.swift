/// Tuning of the on/off pressure regulation, from the hardware profile's `[controller]` table.
public struct RegulatorSettings: Sendable, Equatable {
    /// Control tick period in seconds (100 Hz default).
    public var tickSeconds: Double
    /// Re-open the inlet when the pressure falls this far below the set point.
    public var lowBand: Double
    /// Open the exhaust when the pressure rises this far above the set point.
    public var highBand: Double
    /// How far ahead (s) the inlet cut-off predicts: sensor latency + valve response + one tick.
    /// Closing the inlet when the *predicted* pressure reaches the target keeps the peak on target
    /// instead of overshooting by rate × latency.
    public var anticipationSeconds: Double
    /// A chamber counts as having reached its target within this many mmHg below it.
    public var reachTolerance: Double
    /// How far (mmHg) a chamber may be regulated above its pressurised distal neighbour's current
    /// pressure. Zero would stall a chamber whose target equals its neighbour's (the neighbour
    /// hovers inside its own bands); it stays well below the supervisor's gradient band (5 mmHg).
    public var gradientAllowance: Double = 2.5

    public init(
        tickSeconds: Double = 0.01, lowBand: Double = 1.5, highBand: Double = 1.5,
        anticipationSeconds: Double = 0.04, reachTolerance: Double = 1.0
    ) {
        self.tickSeconds = tickSeconds
        self.lowBand = lowBand
        self.highBand = highBand
        self.anticipationSeconds = anticipationSeconds
        self.reachTolerance = reachTolerance
    }
}
