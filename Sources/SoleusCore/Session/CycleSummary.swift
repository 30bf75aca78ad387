/// What one chamber received in one cycle: the numbers a clinician checks.
public struct CycleSummary: Sendable, Equatable {
    public var cycle: Int
    public var part: CyclePart
    /// Boot chamber index.
    public var chamber: Int
    /// Prescribed target (mmHg).
    public var target: Double
    /// Seconds from the cycle's start to this chamber's inflate.
    public var inflateOffset: Double
    /// Seconds from inflate to first reaching the target; NaN if it never did.
    public var timeToTarget: Double
    /// Highest 100 ms mean pressure during the cycle (mmHg). Averaging over 100 ms keeps sensor
    /// noise out of the peak while still catching any real overshoot.
    public var peak: Double
    /// Seconds the 100 ms mean stayed within ±``CycleSummarizer/atTargetBand`` of the target.
    public var timeAtTarget: Double

    public init(cycle: Int, part: CyclePart, chamber: Int, target: Double, inflateOffset: Double, timeToTarget: Double, peak: Double, timeAtTarget: Double) {
        self.cycle = cycle
        self.part = part
        self.chamber = chamber
        self.target = target
        self.inflateOffset = inflateOffset
        self.timeToTarget = timeToTarget
        self.peak = peak
        self.timeAtTarget = timeAtTarget
    }
}

/// Builds ``CycleSummary`` records from the readings and the controller's events.
public struct CycleSummarizer: Sendable {
    /// "At target" means within this many mmHg of it.
    public static let atTargetBand = 2.0

    let chamberCount: Int
    let tick: Double
    let window: Int
    var ring: [Double]
    var sums: ChamberValues = ChamberValues()
    var next = 0
    var filled = 0
    var current: [CycleSummary?]
    var cycleStart = 0.0
    /// Summaries of the cycles that ended since the last ``clearCompleted()``.
    public private(set) var completed: [CycleSummary] = []

    public init(chamberCount: Int, tickSeconds: Double) {
        self.chamberCount = chamberCount
        self.tick = tickSeconds
        window = max(1, Int((0.1 / tickSeconds).rounded()))
        ring = Array(repeating: 0, count: window * maxChambers)
        current = Array(repeating: nil, count: maxChambers)
        completed.reserveCapacity(maxChambers * 4)
    }

    public mutating func clearCompleted() { completed.removeAll(keepingCapacity: true) }

    /// Feeds this tick's events (apply before ``add(readings:)`` of the same tick).
    public mutating func handle(_ event: ControlEvent) {
        switch event.kind {
        case .cycleStarted:
            cycleStart = event.time
        case .inflate:
            // A chamber that inflates twice in a cycle gets a summary per inflation.
            if let earlier = current[event.chamber] { completed.append(earlier) }
            current[event.chamber] = CycleSummary(
                cycle: event.cycle, part: event.part, chamber: event.chamber, target: event.pressure,
                inflateOffset: event.time - cycleStart, timeToTarget: .nan, peak: 0, timeAtTarget: 0)
        case .reached:
            if let s = current[event.chamber], s.timeToTarget.isNaN {
                current[event.chamber]?.timeToTarget = event.time - cycleStart - s.inflateOffset
            }
        case .boost:
            // The boosted pressure is what the hold is judged against from here on.
            current[event.chamber]?.target = event.pressure
        case .cycleEnded, .finished:
            closeCycle()
        case .hold, .release, .overrun, .setRest, .riseLate, .paused, .resumed, .refillSensing, .refillMeasured, .refillFallback:
            break
        }
    }

    /// Closes any open cycle (used at the end of a session, also a stopped one).
    public mutating func closeCycle() {
        for c in 0..<chamberCount {
            if let s = current[c] { completed.append(s) }
            current[c] = nil
        }
    }

    /// Feeds one tick's readings.
    public mutating func add(readings: ChamberValues) {
        for c in 0..<chamberCount {
            let slot = c * window + next
            sums[c] += readings[c] - ring[slot]
            ring[slot] = readings[c]
        }
        next = (next + 1) % window
        if filled < window { filled += 1 }
        for c in 0..<chamberCount {
            guard let s = current[c] else { continue }
            let mean = sums[c] / Double(filled)
            if mean > s.peak { current[c]?.peak = mean }
            if abs(mean - s.target) <= Self.atTargetBand { current[c]?.timeAtTarget += tick }
        }
    }
}
