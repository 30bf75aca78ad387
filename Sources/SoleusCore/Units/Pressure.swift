/// A gauge pressure in millimetres of mercury (mmHg), the unit compression therapy is prescribed in.
///
/// A thin wrapper over `Double` so pressures cannot be mixed up with times or flows; it costs
/// nothing at run time.
public struct Pressure: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// The value in mmHg above atmospheric pressure.
    public var mmHg: Double

    /// Creates a pressure of `mmHg` millimetres of mercury (gauge).
    @inlinable public init(mmHg: Double) { self.mmHg = mmHg }

    /// Atmospheric (zero gauge) pressure.
    public static let zero = Pressure(mmHg: 0)

    @inlinable public static func < (lhs: Pressure, rhs: Pressure) -> Bool { lhs.mmHg < rhs.mmHg }
    @inlinable public static func + (lhs: Pressure, rhs: Pressure) -> Pressure { Pressure(mmHg: lhs.mmHg + rhs.mmHg) }
    @inlinable public static func - (lhs: Pressure, rhs: Pressure) -> Pressure { Pressure(mmHg: lhs.mmHg - rhs.mmHg) }

    public var description: String { formatMMHg(mmHg) + " mmHg" }
}

/// Formats a pressure value with one decimal, without Foundation (used in messages, not in the loop).
public func formatMMHg(_ value: Double) -> String { formatFixed(value, decimals: 1) }

/// Formats `value` with a fixed number of decimals, rounding half away from zero.
public func formatFixed(_ value: Double, decimals: Int) -> String {
    guard value.isFinite else { return "\(value)" }
    var scale = 1.0
    for _ in 0..<decimals { scale *= 10 }
    let scaled = (abs(value) * scale).rounded()
    let negative = value < 0 && scaled != 0
    let whole = Int(scaled / scale)
    let frac = Int(scaled - Double(whole) * scale)
    var text = "\(whole)"
    if decimals > 0 {
        var fracText = "\(frac)"
        while fracText.count < decimals { fracText = "0" + fracText }
        text += "." + fracText
    }
    return negative ? "-" + text : text
}
