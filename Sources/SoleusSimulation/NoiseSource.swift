#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A small, seeded, deterministic random source (SplitMix64) with Gaussian samples. The system
/// generator is not seedable, and the simulator must replay the same session for the same seed.
public struct NoiseSource: Sendable {
    var state: UInt64
    var spare: Double?

    public init(seed: UInt64) { state = seed }

    /// Next 64 random bits.
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in (0, 1].
    public mutating func uniform() -> Double { (Double(next() >> 11) + 1) / 9_007_199_254_740_992.0 }

    /// Standard normal sample (Box–Muller, both values used).
    public mutating func gaussian() -> Double {
        if let s = spare {
            spare = nil
            return s
        }
        let u1 = uniform(), u2 = uniform()
        let r = (-2 * _log(u1)).squareRoot()
        let theta = 2 * Double.pi * u2
        spare = r * _sin(theta)
        return r * _cos(theta)
    }
}

// libm, not Foundation, for the hot path.
@inline(__always) func _log(_ x: Double) -> Double { log(x) }
@inline(__always) func _sin(_ x: Double) -> Double { sin(x) }
@inline(__always) func _cos(_ x: Double) -> Double { cos(x) }
