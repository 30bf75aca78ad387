/// Estimates a chamber's current pressure and its rate of change from noisy sensor readings, by a
/// least-squares line over the last few ticks. Unlike a low-pass filter it does not lag a ramp,
/// which matters when the inlet must close before the target is reached.
public struct PressureEstimator: Sendable {
    /// Ticks in the fitting window (fixed, so the fit's constants are precomputed).
    public static let window = 8
    var ring = InlineArray<8, Double>(repeating: 0)
    var next = 0
    var filled = 0
    let dt: Double

    /// Estimated pressure now, mmHg.
    public private(set) var level: Double = 0
    /// Estimated rate of change, mmHg/s.
    public private(set) var slope: Double = 0

    /// An estimator for readings `tickSeconds` apart.
    public init(tickSeconds: Double) { dt = tickSeconds }

    /// Adds one reading and refits.
    public mutating func add(_ reading: Double) {
        ring[next] = reading
        next = (next + 1) % Self.window
        if filled < Self.window { filled += 1 }
        // x = 0 for the newest sample, −1 for the one before, ...: the fit's intercept is "now".
        let n = Double(filled)
        var sumY = 0.0, sumXY = 0.0, sumX = 0.0, sumXX = 0.0
        for k in 0..<filled {
            let idx = (next - 1 - k + Self.window) % Self.window
            let x = -Double(k)
            let y = ring[idx]
            sumY += y; sumXY += x * y; sumX += x; sumXX += x * x
        }
        let denom = n * sumXX - sumX * sumX
        let b = denom > 0 ? (n * sumXY - sumX * sumY) / denom : 0
        let a = (sumY - b * sumX) / n
        level = a
        slope = b / dt
    }
}
