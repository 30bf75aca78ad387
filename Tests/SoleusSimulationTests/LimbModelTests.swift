import Testing
import SoleusCore
@testable import SoleusSimulation

/// A calf sleeve (the DVT garment's calf chamber) on an adult calf segment, supine.
func calfOnLeg(refill: Double = 25, venous: Bool = true, posture: LimbParameters.Posture = .supine) -> BootParameters {
    var p = BootParameters(chambers: [BootParameters.Chamber(volumeL: 0.3, complianceLPerMmHg: 0.012)], sensorNoise: 0, sensorResolution: 0, sensorLatency: 0)
    var limb = LimbParameters(segments: [LimbParameters.Segment(venousML: 100, ejectable: 0.7, seatedDepthCM: 75, tissueMLPerMmHg: 0.3)])
    limb.refillSeconds = refill
    limb.venous = venous
    limb.posture = posture
    p.limb = limb
    return p
}

let fillCalf = BootOutputs(pump: true, inlets: [.chamber(0)], exhausts: [])
let sealedAll = BootOutputs(pump: false, inlets: [], exhausts: [])
let ventCalf = BootOutputs.vented(chamberCount: 1)

/// Inflates chamber 0 to `target`, holds it (topping up) until `release`, then vents it down to
/// `sensing` and seals it there, as the refill-adaptive controller does.
func squeezeThenSense(_ b: inout BootPhysics, target: Double = 40, release: Double = 11, sensing: Double = 5) {
    b.command(fillCalf)
    while b.pressure[0] < target { b.advance(to: b.time + 0.001) }
    b.command(sealedAll)
    while b.time < release {
        b.advance(to: b.time + 0.01)
        if b.pressure[0] < target - 1 { b.command(fillCalf) } else if b.pressure[0] >= target { b.command(sealedAll) }
    }
    b.command(ventCalf)
    while b.pressure[0] > sensing { b.advance(to: b.time + 0.001) }
    b.command(sealedAll)
}

@Suite struct LimbModelTests {
    @Test func aSealedSleeveSeesTheLimbRefillAsASlowPressureRiseAndADummyLimbBarely() {
        var leg = BootPhysics(parameters: calfOnLeg())
        squeezeThenSense(&leg)
        let sealedAt = leg.pressure[0]
        leg.advance(to: leg.time + 10)
        let after10 = leg.pressure[0]
        leg.advance(to: leg.time + 30)
        let after40 = leg.pressure[0]
        #expect(after10 - sealedAt > 2, "the limb refilling takes room from the sleeve")
        #expect(after40 - sealedAt > 3.5)
        #expect(after40 - after10 < after10 - sealedAt, "it levels off: a refill, not a drift")

        var dummy = BootPhysics(parameters: calfOnLeg(venous: false))
        squeezeThenSense(&dummy)
        let dummySealed = dummy.pressure[0]
        dummy.advance(to: dummy.time + 40)
        // Only the tissue's slow give and the air warming: about a millimetre of mercury.
        #expect(dummy.pressure[0] - dummySealed < 1.5)
        #expect(dummy.limb?.venous[0] == 0)
    }

    @Test(arguments: [15.0, 25, 45])
    func theVenousVolumeRefillsInTheConfiguredTime(refill: Double) {
        var b = BootPhysics(parameters: calfOnLeg(refill: refill))
        let rest = b.limb?.venous[0] ?? 0
        squeezeThenSense(&b, sensing: 0.5)
        b.command(ventCalf)
        let released = b.time
        let emptied = b.limb?.venous[0] ?? 0
        #expect(rest - emptied > 50, "a 40 mmHg squeeze empties most of the calf's 70 mL it can move")
        var refilledAt = Double.nan
        while b.time < released + 3 * refill {
            b.advance(to: b.time + 0.05)
            if (b.limb?.venous[0] ?? 0) >= emptied + 0.9 * (rest - emptied) { refilledAt = b.time - released; break }
        }
        // From the vent's start: the sleeve takes about a second to let go.
        #expect(abs(refilledAt - refill) <= 0.2 * refill, "refilled (90 %) in \(refilledAt) s, configured \(refill) s")
    }

    @Test func postureAddsTheHydrostaticHeadToTheVeins() {
        var limb = LimbParameters(segments: [LimbParameters.Segment(venousML: 100, ejectable: 0.7, seatedDepthCM: 75)])
        let supine = limb.restingVolume(of: limb.segments[0]).full
        limb.posture = .semiRecumbent
        let semi = limb.restingVolume(of: limb.segments[0]).full
        limb.posture = .seated
        let seated = limb.restingVolume(of: limb.segments[0]).full
        #expect(abs(supine - 100) < 1e-9, "venous_ml is the supine volume")
        #expect(supine < semi && semi < seated)
        #expect(limb.restingPressure(of: limb.segments[0]) > 60, "75 cm below the heart: about 58 mmHg of head")
        // Seated, a 40 mmHg squeeze pushes out only part of the fuller veins.
        #expect(limb.pushedOutML(segment: 0, at: 40) < 0.7 * (seated - 30))
    }

    @Test func aProximalChamberSqueezedHarderTrapsTheDistalBlood() {
        // Two segments: the distal one squeezed to 40 mmHg with the proximal one at 0 or at 60.
        func expelled(proximal: Double) -> Double {
            var p = BootParameters(chambers: [.init(volumeL: 0.2, complianceLPerMmHg: 0.008), .init(volumeL: 0.3, complianceLPerMmHg: 0.012)],
                                   sensorNoise: 0, sensorResolution: 0, sensorLatency: 0)
            p.limb = LimbParameters(segments: [.init(venousML: 60, ejectable: 0.7), .init(venousML: 100, ejectable: 0.7)])
            var b = BootPhysics(parameters: p)
            if proximal > 0 {
                b.command(BootOutputs(pump: true, inlets: [.chamber(1)], exhausts: [.chamber(0)]))
                while b.pressure[1] < proximal { b.advance(to: b.time + 0.001) }
            }
            let before = b.limb?.venous[0] ?? 0
            b.command(BootOutputs(pump: true, inlets: [.chamber(0)], exhausts: proximal > 0 ? [] : [.chamber(1)]))
            while b.pressure[0] < 40 { b.advance(to: b.time + 0.001) }
            b.command(BootOutputs(pump: false, inlets: [], exhausts: proximal > 0 ? [] : [.chamber(1)]))
            b.advance(to: b.time + 8)
            return before - (b.limb?.venous[0] ?? 0)
        }
        let open = expelled(proximal: 0), trapped = expelled(proximal: 60)
        #expect(open > 30, "with the way open the distal segment empties")
        #expect(trapped < 0.1 * open, "the valves cannot open against a harder squeeze above: \(trapped) mL")
    }

    @Test func theSameSeedGivesTheSameLimb() {
        var a = BootPhysics(parameters: calfOnLeg()), b = BootPhysics(parameters: calfOnLeg())
        squeezeThenSense(&a)
        squeezeThenSense(&b)
        a.advance(to: 40)
        b.advance(to: 40)
        #expect(a.pressure[0] == b.pressure[0])
        #expect(a.limb?.venous[0] == b.limb?.venous[0])
    }
}
