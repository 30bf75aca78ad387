import SoleusCore

/// The rule that turns a profile's pump and garment into the supervisor's occlusion limits
/// (`docs/safety.md`, "Rate limits"). A kinked hose leaves the sensor on a few millilitres of
/// stiff tubing instead of the bladder, so it rises and falls about a hundred times faster than any
/// bladder can; a limit at twice the fastest healthy change sits far from both.
///
/// - Fastest healthy rise: the whole pump's free flow into the stiffest empty chamber.
/// - Fastest healthy fall: the exhaust's flow at the ceiling out of the stiffest chamber there.
///
/// "Stiffest" is the smallest dn/dp, the air (normal litres) a chamber takes per mmHg:
/// (V0 + C·p)/Patm + C·(Patm + p)/Patm, from the isothermal model of ``BootPhysics``.
public struct PressureRateRule: Sendable {
    /// The margin over the fastest healthy change.
    public static let margin = 2.0
    /// The quiet frozen-sensor limit for noisy sensors (s): with noise of at least one resolution
    /// step, a value repeats on a tick with a probability of at most about 0.3, so 50 ticks of one
    /// value at 100 Hz happen by chance less than once in 10²⁵.
    public static let frozenQuietSeconds = 0.5

    public let maxRiseRate: Double
    public let maxFallRate: Double

    public init(parameters p: BootParameters, ceiling: Double) {
        let atm = BootPhysics.atmosphere
        func airPerMmHg(_ c: BootParameters.Chamber, at pressure: Double) -> Double {
            (c.volumeL + c.complianceLPerMmHg * pressure) / atm + c.complianceLPerMmHg * (atm + pressure) / atm
        }
        var rise = 0.0, fall = 0.0
        for c in p.chambers {
            rise = max(rise, p.pumpMaxFlow / airPerMmHg(c, at: 0))
            let exhaust = p.exhaustOrifice * ceiling.squareRoot() + c.leak * ceiling.squareRoot()
            fall = max(fall, exhaust / airPerMmHg(c, at: ceiling))
        }
        maxRiseRate = Self.margin * rise
        maxFallRate = Self.margin * fall
    }
}
