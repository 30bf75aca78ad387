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
    @Test func debug() {
        for rf in [15.0, 25, 45] {
            let r = measure(trace(refill: rf, drift: -0.05))
            print("rf \(rf): \(String(describing: r))")
        }
        #expect(Bool(true))
    }
}
