#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What a refill measurement found, and the rest it sets.
public struct RefillResult: Sendable, Equatable {
    /// Why the measurement was or was not used.
    public enum Outcome: UInt8, Sendable, Equatable {
        /// The sleeve pressure rose and levelled off like a refilling limb: its refill time sets
        /// the rest (within the protocol's bounds).
        case measured
        /// The pressure barely rose: no venous refill to see (a dummy limb, a loose sleeve).
        case noRise
        /// The pressure trace does not follow a refill curve closely enough (sensor noise,
        /// movement).
        case noisy
        /// The pressure was still rising at the longest rest: no plateau (a slow temperature
        /// drift, or a refill longer than the protocol allows).
        case noPlateau
        /// The sealed sleeve lost pressure (a leak).
        case pressureFell
        /// The pressure rose more than a refill can raise it (the limb moved, or the inlet leaks).
        case riseTooLarge
        /// The sleeve never settled at the sensing pressure, so no trace was taken.
        case noTrace
    }

    public var outcome: Outcome
    /// The measured refill time (90 %, from the end of the compression) (s); NaN if none.
    public var refillSeconds: Double
    /// The share of the pressure trace's variance the refill curve explains (0–1).
    public var fit: Double
    /// The refill's rise of the sleeve pressure (mmHg) and the scatter around the curve (mmHg).
    public var riseMmHg: Double
    public var scatterMmHg: Double
    /// The rest the next cycles get (s): the refill time within bounds, or the fixed rest.
    public var restSeconds: Double

    public init(outcome: Outcome, refillSeconds: Double = .nan, fit: Double = .nan, riseMmHg: Double = .nan, scatterMmHg: Double = .nan, restSeconds: Double = .nan) {
        self.outcome = outcome
        self.refillSeconds = refillSeconds
        self.fit = fit
        self.riseMmHg = riseMmHg
        self.scatterMmHg = scatterMmHg
        self.restSeconds = restSeconds
    }
}

/// Measures a limb's venous refill time from the pressure of a sealed, lightly inflated sleeve
/// after a compression, as the Kendall SCD's Vascular Refill Detection does: the refilling limb
/// takes room from the sleeve, so its pressure rises and levels off. The trace (0.25 s means) is
/// fitted with p(t) = a − b·e^(−t/τ) (t from the end of the compression); the refill time is the
/// time to 90 % of the rise, τ·ln 10.
///
/// The measurement is hard (Kakkos 2005: r = 0.39 against duplex supine; Morris 2002: a device
/// fooled by cuff temperature), so it is accepted only when the curve explains the trace, the
/// rise stands well above the scatter, and the plateau has been seen. `docs/limb-model.md`,
/// "Refill-adaptive cycles", gives the thresholds' reasons. Allocates only in `init`.
public struct RefillMeter: Sendable {
    /// Seconds per averaged point.
    public static let interval = 0.25
    /// The least rise a refill must give (mmHg): a foam leg's tissue and the air warming give
    /// about 1 mmHg.
    public static let minRise = 2.0
    /// The curve must explain this share of the trace's variance...
    public static let minFit = 0.95
    /// ...and the rise must be this many times the scatter.
    public static let minRiseOverScatter = 10.0
    /// The plateau counts as seen once the trace runs this factor past the refill time (+ 2 s):
    /// then the refill curve and a steady drift (the garment's leak) are told apart.
    public static let plateauFactor = 2.0
    /// At the longest rest, the trace must have run this factor past the refill time.
    public static let lastPlateauFactor = 1.2
    /// A sealed sleeve losing this much (mmHg) leaks; one gaining this much more than at the seal
    /// is more than a refill (and stays below the supervisor's sealed-rise limit).
    public static let maxFall = 1.5
    public static let maxRise = 8.0

    let maxPoints: Int
    var times: [Double]
    var values: [Double]
    var count = 0
    var sum = 0.0
    var n = 0
    /// The averaging grid: point k covers [gridStart + k·interval, gridStart + (k+1)·interval).
    var gridStart = Double.nan
    var bucket = 0
    var judged = 0
    /// The end of the compression (s), and when the sleeve was sealed.
    public private(set) var releasedAt = 0.0
    var sealedAt = Double.nan
    /// The trace's first 1 s mean, and its highest and lowest 1 s means since.
    var sealPressure = Double.nan
    var highest = -Double.infinity
    var lowest = Double.infinity

    /// A meter for traces up to `maxSeconds` long.
    public init(maxSeconds: Double) {
        maxPoints = max(8, Int((maxSeconds / Self.interval).rounded(.up)) + 8)
        times = Array(repeating: 0, count: maxPoints)
        values = Array(repeating: 0, count: maxPoints)
    }

    /// Starts a measurement for a compression that ended at `time`.
    public mutating func begin(releasedAt time: Double) {
        releasedAt = time
        sealedAt = .nan
        sealPressure = .nan
        count = 0
        sum = 0
        n = 0
        gridStart = .nan
        bucket = 0
        judged = 0
        highest = -.infinity
        lowest = .infinity
    }

    /// The sleeve is sealed from `time`; readings from then on are the trace.
    public mutating func sealed(at time: Double) {
        sealedAt = time
        gridStart = time + 0.5
    }

    /// Adds a reading taken at `time` (sealed readings only; the first 0.5 s after sealing, while
    /// the valves and the air settle, are left out).
    public mutating func add(time: Double, pressure: Double) {
        guard !gridStart.isNaN, time >= gridStart, pressure.isFinite, count < maxPoints else { return }
        let b = Int((time - gridStart) / Self.interval)
        if b > bucket {
            if n > 0 { close() }
            bucket = b
        }
        sum += pressure
        n += 1
    }

    /// Ends the current point: the mean of its readings, at its interval's middle.
    mutating func close() {
        let mean = sum / Double(n)
        times[count] = gridStart + (Double(bucket) + 0.5) * Self.interval - releasedAt
        values[count] = mean
        count += 1
        sum = 0
        n = 0
        // Rises and falls are judged on 1 s means, so that noise alone does not look like them.
        if count >= 4 {
            let smooth = (values[count - 1] + values[count - 2] + values[count - 3] + values[count - 4]) / 4
            if sealPressure.isNaN { sealPressure = smooth }
            highest = max(highest, smooth)
            lowest = min(lowest, smooth)
        }
    }

    /// Seconds since the compression ended, as of the last point.
    public var elapsed: Double { count > 0 ? times[count - 1] : 0 }

    /// Judges the trace so far (it runs to ``elapsed`` after the compression), with `minRest` the
    /// shortest rest and `deadline` the longest: a result once the answer is known, nil to keep
    /// measuring.
    public mutating func judge(minRest: Double, deadline: Double) -> RefillResult? {
        // Only a new point can change the answer.
        guard count >= 4, !sealPressure.isNaN, count > judged else { return nil }
        judged = count
        let t = elapsed
        if lowest < sealPressure - Self.maxFall { return RefillResult(outcome: .pressureFell, riseMmHg: highest - sealPressure) }
        if highest > sealPressure + Self.maxRise { return RefillResult(outcome: .riseTooLarge, riseMmHg: highest - sealPressure) }
        let last = t + Self.interval >= deadline
        guard count >= 12, last || t >= min(minRest, deadline) else { return nil }
        let f = fit()
        let refill = f.tau * log(10.0)
        var r = RefillResult(outcome: .measured, refillSeconds: refill, fit: f.r2, riseMmHg: f.rise, scatterMmHg: f.scatter)
        if f.rise < Self.minRise && (last || highest - sealPressure < Self.minRise / 2) {
            // Neither the curve nor the trace shows a refill's rise: no need to wait longer.
            r.outcome = .noRise
            r.refillSeconds = .nan
            return r
        }
        let inGrid = f.tau < Self.tauGrid[Self.tauGrid.count - 1]
        // Seen well past the refill time, the curve and the drift are told apart; at the longest
        // rest, a refill time with some of its plateau seen is the best there will be.
        let plateauSeen = inGrid && (t >= refill * Self.plateauFactor + 2 || (last && t >= refill * Self.lastPlateauFactor))
        let trusted = f.r2 >= Self.minFit && f.rise >= Self.minRiseOverScatter * f.scatter
        if plateauSeen && trusted { return r }
        guard last else { return nil }
        r.outcome = !trusted ? .noisy : .noPlateau
        r.refillSeconds = .nan
        return r
    }

    /// Time constants tried first (s), log-spaced; the best is then refined between its neighbours.
    static let tauGrid: [Double] = (0..<48).map { 0.4 * pow(300.0 / 0.4, Double($0) / 47) }

    /// The best curve p(t) = a − b·e^(−(t−t₀)/τ) + c·(t−t₀), t₀ the first point: its time
    /// constant, the rise it gives from the first point on (b), the share of variance it explains
    /// and the scatter about it. The linear term takes up what drifts steadily while the sleeve is sealed
    /// (the garment's own small leak, the air warming), which would otherwise bend the curve.
    func fit() -> (tau: Double, rise: Double, r2: Double, scatter: Double) {
        let sums = Sums(self)
        var bestIndex = 0
        var best = (sse: Double.infinity, b: 0.0)
        for (i, tau) in Self.tauGrid.enumerated() {
            let f = sums.solve(self, tau: tau)
            if f.sse < best.sse { best = f; bestIndex = i }
        }
        guard best.sse.isFinite else { return (Self.tauGrid[0], 0, 0, .infinity) }
        // Golden-section search between the best grid point's neighbours.
        var lo = Self.tauGrid[max(bestIndex - 1, 0)], hi = Self.tauGrid[min(bestIndex + 1, Self.tauGrid.count - 1)]
        var tau = Self.tauGrid[bestIndex]
        let g = (5.0.squareRoot() - 1) / 2
        for _ in 0..<24 {
            let a = hi - g * (hi - lo), b = lo + g * (hi - lo)
            if sums.solve(self, tau: a).sse < sums.solve(self, tau: b).sse { hi = b } else { lo = a }
        }
        let refined = sums.solve(self, tau: (lo + hi) / 2)
        if refined.sse < best.sse { best = refined; tau = (lo + hi) / 2 }
        // The fit runs from the first point (x = 1 there): a rising trace has β < 0.
        let m = Double(count)
        let r2 = sums.sst > 0 ? 1 - best.sse / sums.sst : 0
        return (tau, -best.b, r2, (best.sse / max(m - 4, 1)).squareRoot())
    }

    /// The trace's sums that do not depend on τ.
    struct Sums {
        var m = 0.0, sy = 0.0, syy = 0.0, st = 0.0, stt = 0.0, sty = 0.0
        var sst: Double { syy - sy * sy / m }

        init(_ meter: RefillMeter) {
            m = Double(meter.count)
            let t0 = meter.times[0]
            for k in 0..<meter.count {
                let t = meter.times[k] - t0, y = meter.values[k]
                sy += y; syy += y * y; st += t; stt += t * t; sty += t * y
            }
        }

        /// Least squares of the trace on (1, e^(−t/τ), t) for this τ: its residual sum of squares
        /// and the exponential's coefficient.
        func solve(_ meter: RefillMeter, tau: Double) -> (sse: Double, b: Double) {
            let t0 = meter.times[0]
            let q = exp(-RefillMeter.interval / tau)
            var x = 1.0, sx = 0.0, sxx = 0.0, sxy = 0.0, sxt = 0.0
            for k in 0..<meter.count {
                let t = meter.times[k] - t0
                // Points are one interval apart unless a bucket got no reading (a lost tick).
                if k > 0 && abs(t - (meter.times[k - 1] - t0) - RefillMeter.interval) > 1e-6 { x = exp(-t / tau) }
                sx += x; sxx += x * x; sxy += x * meter.values[k]; sxt += x * t
                x *= q
            }
            // Normal equations for (a, β, c), solved by Cramer's rule.
            let a11 = m, a12 = sx, a13 = st, a22 = sxx, a23 = sxt, a33 = stt
            let det = a11 * (a22 * a33 - a23 * a23) - a12 * (a12 * a33 - a23 * a13) + a13 * (a12 * a23 - a22 * a13)
            guard abs(det) > 1e-9 * max(1, abs(a11 * a22 * a33)) else { return (.infinity, 0) }
            let a = (sy * (a22 * a33 - a23 * a23) - a12 * (sxy * a33 - a23 * sty) + a13 * (sxy * a23 - a22 * sty)) / det
            let beta = (a11 * (sxy * a33 - a23 * sty) - sy * (a12 * a33 - a23 * a13) + a13 * (a12 * sty - sxy * a13)) / det
            let c = (a11 * (a22 * sty - sxy * a23) - a12 * (a12 * sty - sxy * a13) + sy * (a12 * a23 - a22 * a13)) / det
            return (max(syy - (a * sy + beta * sxy + c * sty), 0), beta)
        }
    }
}
