/// The test inflation before therapy that finds out which garment is connected, if any (the
/// Kendall SCD raises "garment not detected" from the same kind of check): one outlet at a time,
/// a short pulse of the pump into it, then sealed, and the pressure it reaches says what is there.
/// Nothing (a hose off, no garment) lets the air out: no rise. A bladder rises by an amount set by
/// its size and give; a closed connector with no bladder behind it shoots up at once.
///
/// Pure and deterministic: one ``step(time:inputs:)`` per tick; nothing is prescribed (the
/// supervisor watches the outlets as venting and sealed chambers).
public struct GarmentProbe: Sendable {
    /// The pump's pulse into each outlet (s), the settling after it (s), and the mean taken over
    /// the last part of the settling (s).
    public static let pulseSeconds = 0.15
    public static let settleSeconds = 0.6
    public static let meanSeconds = 0.2
    /// The most any outlet is pressurised to (mmHg): the pulse stops there.
    public static let ceiling = 30.0
    /// Vented below this (mmHg) before the next outlet, or after ``maxVentSeconds``.
    public static let ventedBelow = 1.5
    public static let maxVentSeconds = 3.0

    enum Stage: Sendable { case venting, pulsing, settling, done }

    /// The outlets to probe (boot chamber indices), in order.
    public let outlets: [Int]
    var index = 0
    var stage = Stage.venting
    var stageStart = Double.nan
    var sum = 0.0
    var samples = 0
    /// The rise each outlet reached (mmHg), and how long its pulse lasted (s: shorter when it
    /// reached the ceiling), in ``outlets`` order.
    public private(set) var rises: [Double]
    public private(set) var pulses: [Double]

    public init(outlets: [Int]) {
        self.outlets = outlets
        rises = Array(repeating: .nan, count: outlets.count)
        pulses = Array(repeating: .nan, count: outlets.count)
        if outlets.isEmpty { stage = .done }
    }

    public var isDone: Bool { stage == .done }

    /// What the probe does on this tick: the outlet it fills (pump on, inlet open) or holds
    /// sealed; every other chamber vents.
    public enum Action: Sendable, Equatable {
        case vent
        case fill(Int)
        case seal(Int)
    }

    /// The action for this tick at session `time` with these readings.
    public mutating func step(time: Double, inputs: BootInputs) -> Action {
        guard stage != .done else { return .vent }
        if stageStart.isNaN { stageStart = time }
        let c = outlets[index]
        let p = inputs.pressures[c]
        let elapsed = time - stageStart
        switch stage {
        case .venting:
            var low = true
            for k in outlets where !(inputs.pressures[k] < Self.ventedBelow) { low = false }
            guard low || elapsed >= Self.maxVentSeconds else { return .vent }
            next(.pulsing, time)
            return .fill(c)
        case .pulsing:
            guard elapsed >= Self.pulseSeconds || p >= Self.ceiling else { return .fill(c) }
            pulses[index] = elapsed
            next(.settling, time)
            return .seal(c)
        case .settling:
            if elapsed >= Self.settleSeconds - Self.meanSeconds, p.isFinite {
                sum += p
                samples += 1
            }
            guard elapsed + 1e-9 >= Self.settleSeconds else { return .seal(c) }
            rises[index] = samples > 0 ? sum / Double(samples) : .nan
            sum = 0
            samples = 0
            index += 1
            next(index < outlets.count ? .venting : .done, time)
            return .vent
        case .done:
            return .vent
        }
    }

    mutating func next(_ s: Stage, _ time: Double) {
        stage = s
        stageStart = time
    }
}

/// What was found on one outlet.
public enum OutletFinding: Sendable, Equatable {
    /// No rise: nothing holds air there (a hose off, no garment).
    case nothing
    /// A bladder, its rise to the probe's pulse (mmHg).
    case bladder(rise: Double)
    /// The pulse hit the probe's ceiling: a closed connector or a kinked hose, no bladder behind.
    case blocked
}

/// The garment check's verdict: what each outlet holds against what the profile says is there.
public struct GarmentJudgement: Sendable, Equatable {
    /// A rise below this (mmHg) is no garment.
    public static let noBladderBelow = 1.0
    /// Rises within this share of the expected one are the expected bladder.
    public static let tolerance = 0.3

    public var names: [String]
    public var expected: [Double]
    public var found: [OutletFinding]
    /// The pulse each outlet took, expected and found (s): equal unless one reached the ceiling.
    public var expectedPulses: [Double]
    public var pulses: [Double]
    /// The check stopped early: the supervisor's alarm (the outlet then probed responded as no
    /// garment of the profile would).
    public var stoppedBy: String?
    /// Known garments whose response matches what was found (named in a refusal).
    public var lookedLike: [String] = []

    /// `names`, `expected` (the predicted rise of each outlet's bladder) and `rises` (measured) in
    /// the same order.
    public init(names: [String], expected: [Double], rises: [Double], expectedPulses: [Double] = [], pulses: [Double] = [], stoppedBy: String? = nil) {
        self.names = names
        self.expected = expected
        self.expectedPulses = expectedPulses
        self.pulses = pulses
        self.stoppedBy = stoppedBy
        found = rises.map { r in
            if !r.isFinite || r < Self.noBladderBelow { return .nothing }
            if r >= GarmentProbe.ceiling * 2 { return .blocked }
            return .bladder(rise: r)
        }
    }

    /// The outlets whose finding is not the expected bladder.
    public var mismatches: [Int] {
        names.indices.filter { i in
            guard case .bladder(let r) = found[i] else { return true }
            if i < pulses.count, i < expectedPulses.count, abs(pulses[i] - expectedPulses[i]) > Self.tolerance * expectedPulses[i] { return true }
            return abs(r - expected[i]) > Self.tolerance * expected[i]
        }
    }

    public var accepted: Bool { stoppedBy == nil && mismatches.isEmpty }

    /// One line: what was found, and where it differs from what was expected.
    public var text: String {
        let found = names.indices.map { "\(names[$0]) \(describe($0))" }.joined(separator: ", ")
        if accepted { return "garment detected as expected: " + found }
        if let stoppedBy { return "garment does not match the profile: the check was stopped by the supervisor (\(stoppedBy)): the garment responds faster than the profile's would (a smaller garment, a kinked hose or a closed connector)" }
        let wrong = mismatches.map { i in "\(names[i]): expected a bladder rising \(formatMMHg(expected[i])) mmHg\(pulseText(expectedPulses, i)), found \(describe(i))" }
        let none = self.found.allSatisfy { $0 == .nothing }
        let like = lookedLike.isEmpty ? "" : "; what is connected responds like: " + lookedLike.joined(separator: " or ")
        return (none ? "garment not detected (no outlet holds air: is the garment connected?): " : "garment does not match the profile: ")
            + wrong.joined(separator: "; ") + like
    }

    func describe(_ i: Int) -> String {
        switch found[i] {
        case .nothing: "nothing (no rise)"
        case .blocked: "a blocked outlet (rose to the probe's ceiling at once: a closed connector or a kinked hose)"
        case .bladder(let r): "a bladder rising \(formatMMHg(r)) mmHg" + pulseText(pulses, i)
        }
    }

    /// " in 0.08 s of pump" when a pulse was cut short at the ceiling.
    func pulseText(_ p: [Double], _ i: Int) -> String {
        guard i < p.count, p[i].isFinite, p[i] < GarmentProbe.pulseSeconds - 0.005 else { return "" }
        return " in \(formatFixed(p[i], decimals: 2)) s of pump"
    }
}
