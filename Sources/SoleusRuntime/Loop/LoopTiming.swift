import SoleusCore

/// How late the loop's ticks started, as a display and the session log show it.
public struct LoopTiming: Sendable, Equatable, CustomStringConvertible {
    /// The tick period (s).
    public var period: Double
    /// Ticks measured.
    public var ticks: Int
    /// Lateness quantiles and the largest (s): how long after its deadline a tick started.
    public var p50: Double
    public var p99: Double
    public var p999: Double
    public var max: Double
    /// Ticks that started a whole period late or more (a missed period).
    public var overruns: Int
    /// False when the loop ran unpaced (simulator at `--speed max`): nothing to be late for.
    public var paced: Bool

    public init(period: Double, ticks: Int = 0, p50: Double = 0, p99: Double = 0, p999: Double = 0, max: Double = 0, overruns: Int = 0, paced: Bool = true) {
        self.period = period
        self.ticks = ticks
        self.p50 = p50
        self.p99 = p99
        self.p999 = p999
        self.max = max
        self.overruns = overruns
        self.paced = paced
    }

    public var description: String {
        guard paced else { return "loop unpaced (\(ticks) ticks)" }
        return "late p50 \(Self.format(p50)) p99 \(Self.format(p99)) p99.9 \(Self.format(p999)) max \(Self.format(max)), \(overruns) overrun\(overruns == 1 ? "" : "s") in \(ticks) ticks"
    }

    /// A lateness in µs below a millisecond, in ms above.
    public static func format(_ seconds: Double) -> String {
        seconds < 0.001 ? "\(Int((seconds * 1e6).rounded())) µs" : "\(formatFixed(seconds * 1000, decimals: 1)) ms"
    }
}

/// Tick lateness in a fixed histogram, filled by the loop thread without allocating: 1 µs buckets
/// up to 1 ms, 10 µs to 10 ms, 100 µs to 100 ms, 1 ms to 1 s, then one bucket for the rest.
/// Quantiles are the upper edge of their bucket, so never optimistic.
final class LatencyHistogram {
    /// Bucket widths (ns) and where each band ends (ns).
    static let bands: [(width: Int64, end: Int64)] = [(1_000, 1_000_000), (10_000, 10_000_000), (100_000, 100_000_000), (1_000_000, 1_000_000_000)]
    static let bucketCount = 1000 + 900 * 3 + 1

    let counts: UnsafeMutablePointer<UInt64>
    let period: Double
    private(set) var ticks = 0
    private(set) var maxNs: Int64 = 0
    private(set) var overruns = 0
    let periodNs: Int64

    init(period: Double) {
        self.period = period
        periodNs = Int64((period * 1e9).rounded())
        counts = .allocate(capacity: Self.bucketCount)
        counts.initialize(repeating: 0, count: Self.bucketCount)
    }

    deinit { counts.deallocate() }

    /// Records one tick's lateness (s). Allocation-free.
    func add(_ lateness: Double) {
        let ns = Int64(Swift.max(0, Swift.min(lateness, 1e6)) * 1e9)
        counts[Self.bucket(ns)] += 1
        ticks += 1
        if ns > maxNs { maxNs = ns }
        if ns >= periodNs { overruns += 1 }
    }

    static func bucket(_ ns: Int64) -> Int {
        var base = 0, start: Int64 = 0
        for band in bands {
            if ns < band.end { return base + Int((ns - start) / band.width) }
            base += Int((band.end - start) / band.width)
            start = band.end
        }
        return bucketCount - 1
    }

    /// The upper edge of bucket `i` (s).
    static func upperEdge(_ i: Int) -> Double {
        var base = 0, start: Int64 = 0
        for band in bands {
            let n = Int((band.end - start) / band.width)
            if i < base + n { return Double(start + Int64(i - base + 1) * band.width) / 1e9 }
            base += n
            start = band.end
        }
        return .infinity
    }

    /// The smallest lateness at or above which a share `1 − q` of ticks lie.
    func quantile(_ q: Double) -> Double {
        guard ticks > 0 else { return 0 }
        let rank = UInt64((q * Double(ticks)).rounded(.up))
        var seen: UInt64 = 0
        for i in 0..<Self.bucketCount {
            seen += counts[i]
            if seen >= rank { return Swift.min(Self.upperEdge(i), Double(maxNs) / 1e9) }
        }
        return Double(maxNs) / 1e9
    }

    func summary(paced: Bool) -> LoopTiming {
        LoopTiming(period: period, ticks: ticks, p50: quantile(0.5), p99: quantile(0.99), p999: quantile(0.999),
                   max: Double(maxNs) / 1e9, overruns: overruns, paced: paced)
    }
}
