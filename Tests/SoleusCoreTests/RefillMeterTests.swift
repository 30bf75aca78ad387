import Foundation
import Testing
@testable import SoleusCore

/// A sealed sleeve's pressure after a compression that ended at t = 0: `rise` mmHg of refill with
/// refill time `refill` (90 %), plus a steady drift and Gaussian noise (seeded).
func trace(refill: Double, rise: Double = 4, drift: Double = 0, noise: Double = 0.25, seed: UInt64 = 7, until end: Double = 60) -> [(Double, Double)] {
    var rng = seed
    func gauss() -> Double {
        rng = rng &* 6364136223846793005 &+ 1442695040888963407
        let u1 = max(Double(rng >> 11) / Double(1 << 53), 1e-12)
        rng = rng &* 6364136223846793005 &+ 1442695040888963407
        let u2 = Double(rng >> 11) / Double(1 << 53)
        return (-2 * log(u1)).squareRoot() * cos(2 * .pi * u2)
    }
    let tau = refill / log(10)
    return stride(from: 1.5, through: end, by: 0.01).map { t in (t, 5 + rise * (1 - exp(-t / tau)) + drift * t + noise * gauss()) }
}

func measure(_ points: [(Double, Double)], minRest: Double = 20, maxRest: Double = 60) -> RefillResult? {
    var m = RefillMeter(maxSeconds: maxRest + 5)
    m.begin(releasedAt: 0)
    m.sealed(at: 1.5)
    for (t, p) in points {
        m.add(time: t, pressure: p)
        if let r = m.judge(minRest: minRest, deadline: maxRest) { return r }
    }
    return nil
}

@Suite struct RefillMeterTests {
    @Test(arguments: [15.0, 25, 45])
    func aRefillCurveGivesItsRefillTime(refill: Double) throws {
        let r = try #require(measure(trace(refill: refill)))
        #expect(r.outcome == .measured)
        #expect(abs(r.refillSeconds - refill) <= 0.1 * refill, "measured \(r.refillSeconds) s")
        #expect(r.fit > 0.95)
    }

    @Test func aSteadyLeakDoesNotBendTheRefillTime() throws {
        // The garment losing 0.05 mmHg/s while sealed: the drift term takes it up.
        let r = try #require(measure(trace(refill: 25, drift: -0.05)))
        #expect(r.outcome == .measured)
        #expect(abs(r.refillSeconds - 25) <= 2.5)
    }

    @Test func noRiseIsNoRefill() throws {
        // A dummy limb: a little tissue give and warming, well under the least rise.
        let r = try #require(measure(trace(refill: 20, rise: 0.8)))
        #expect(r.outcome == .noRise)
        #expect(r.refillSeconds.isNaN)
    }

    @Test func heavyNoiseIsNotTrusted() throws {
        let r = try #require(measure(trace(refill: 25, noise: 4)))
        #expect(r.outcome == .noisy)
        #expect(r.refillSeconds.isNaN)
    }

    @Test func aSteadyDriftWithNoPlateauIsNotARefill() throws {
        // The air warming for a minute: a slow rise that never levels off within the longest rest.
        let points = stride(from: 1.5, through: 60, by: 0.01).map { t in (t, 5 + 4 * (1 - exp(-t / 200))) }
        let r = try #require(measure(points))
        #expect(r.outcome == .noPlateau || r.outcome == .noRise)
        #expect(r.refillSeconds.isNaN)
    }

    @Test func aLeakAndAJumpAreCaughtAtOnce() throws {
        let falling = stride(from: 1.5, through: 60, by: 0.01).map { t in (t, 5 - 0.2 * t) }
        let fell = try #require(measure(falling))
        #expect(fell.outcome == .pressureFell)
        #expect(fell.refillSeconds.isNaN)
        let jump: [(Double, Double)] = stride(from: 1.5, through: 60, by: 0.01).map { t in (t, t < 8 ? 5.0 : 15.0) }
        let moved = try #require(measure(jump))
        #expect(moved.outcome == .riseTooLarge)
    }

    @Test func aRefillLongerThanTheLongestRestIsNotMeasured() throws {
        // A 90 s refill cannot show its plateau within a 60 s rest.
        let r = try #require(measure(trace(refill: 90)))
        #expect(r.outcome != .measured)
    }

    @Test func theRestStaysWithinTheProtocolsBounds() {
        let plan = RefillPlan(chamber: 1, sensing: Pressure(mmHg: 5), minRestSeconds: 20, maxRestSeconds: 60, everyCycles: 10, fixedRestSeconds: 49)
        #expect(plan.rest(forRefill: 12) == 20)
        #expect(plan.rest(forRefill: 33) == 33)
        #expect(plan.rest(forRefill: 95) == 60)
    }
}
