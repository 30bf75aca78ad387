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

/// Formats `value` with a fixed number of decimals (0 to 9), rounding half away from zero.
/// Any `Double` is accepted: nan and infinities print as such, and magnitudes too large for fixed
/// notation (beyond 1e15) in Swift's exponent form, so a value read from a file or a sensor can
/// never trap the formatting of a message about it.
public func formatFixed(_ value: Double, decimals: Int) -> String {
    guard value.isFinite else { return "\(value)" }
    let decimals = max(0, min(decimals, 9))
    var scale = 1.0
    for _ in 0..<decimals { scale *= 10 }
    let scaled = (abs(value) * scale).rounded()
    // Past 2^53 a Double has no fractional digits left, and Int would trap past 2^63.
    guard scaled < 9.0e15 else { return "\(value)" }
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
