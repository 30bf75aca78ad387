import Testing
import SoleusCore
@testable import SoleusSimulation

let chamber = BootParameters.Chamber(volumeL: 0.3, complianceLPerMmHg: 0.012)
func params(leak: Double = 0, noise: Double = 0, seed: UInt64 = 1) -> BootParameters {
    BootParameters(chambers: [BootParameters.Chamber(volumeL: 0.3, complianceLPerMmHg: 0.012, leak: leak)], sensorNoise: noise, sensorResolution: 0, sensorLatency: 0, seed: seed)
}
let pumpIn = BootOutputs(pump: true, inlets: [.chamber(0)], exhausts: [])
let closed = BootOutputs(pump: false, inlets: [], exhausts: [])
let vent = BootOutputs.vented(chamberCount: 1)

@Suite struct BootPhysicsTests {
    @Test func pressureFollowsTheGasLawInACompliantVolume() {
        #expect(BootPhysics.pressure(air: 0.3, chamber: chamber) == 0)
        #expect(BootPhysics.pressure(air: 0.2, chamber: chamber) == 0)
        // Check the root: (760 + p)(V0 + C p) = n · 760.
        let n = 0.8
        let p = BootPhysics.pressure(air: n, chamber: chamber)
        #expect(abs((760 + p) * (0.3 + 0.012 * p) - n * 760) < 1e-9)
        #expect(BootPhysics.pressure(air: 0.9, chamber: chamber) > p)
    }

    @Test func pumpInflatesAndTheRiseSlowsWithBackPressure() {
        var b = BootPhysics(parameters: params())
        b.command(pumpIn)
        b.advance(to: 1)
        let p1 = b.pressure[0]
        b.advance(to: 2)
        let p2 = b.pressure[0]
        #expect(p1 > 5)
        #expect(p2 - p1 < p1) // the second second adds less than the first
    }

    @Test func pumpCannotExceedItsStallPressure() {
        var b = BootPhysics(parameters: params())
        b.command(pumpIn)
        b.advance(to: 200)
        #expect(b.pressure[0] < 300)
        #expect(b.pressure[0] > 250)
    }

    @Test func closedChamberHoldsAndALeakLosesPressure() {
        var tight = BootPhysics(parameters: params())
        var leaky = BootPhysics(parameters: params(leak: 0.002))
        for i in 0..<2 {
            var b = i == 0 ? tight : leaky
            b.command(pumpIn)
            b.advance(to: 2)
            b.command(closed)
            b.advance(to: 2.1)
            if i == 0 { tight = b } else { leaky = b }
        }
        let t0 = tight.pressure[0], l0 = leaky.pressure[0]
        tight.advance(to: 10)
        leaky.advance(to: 10)
        #expect(abs(tight.pressure[0] - t0) < 1e-9)
        #expect(leaky.pressure[0] < l0 - 1)
    }

    @Test func exhaustVentsBelowFiveMillimetresWithinSeconds() {
        var b = BootPhysics(parameters: params())
        b.command(pumpIn)
        b.advance(to: 3)
        #expect(b.pressure[0] > 40)
        b.command(vent)
        b.advance(to: 6)
        #expect(b.pressure[0] < 5)
    }

    @Test func actuatorsActAfterTheirDelay() {
        var b = BootPhysics(parameters: params())
        b.command(pumpIn)
        b.advance(to: 0.007)
        #expect(b.pressure[0] == 0)
        b.advance(to: 0.05)
        #expect(b.pressure[0] > 0)
    }

    @Test func sameSeedSameReadingsOtherSeedOtherReadings() {
        func readings(_ seed: UInt64) -> [Double] {
            var b = BootPhysics(parameters: params(noise: 0.5, seed: seed))
            b.command(pumpIn)
            return (1...20).map { k in
                b.advance(to: Double(k) * 0.01)
                return b.sensorReadings()[0]
            }
        }
        #expect(readings(3) == readings(3))
        #expect(readings(3) != readings(4))
    }

    @Test func sensorNoiseHasTheConfiguredSpread() {
        var b = BootPhysics(parameters: params(noise: 0.5))
        let xs = (0..<4000).map { _ in b.sensorReadings()[0] }
        // At 0 mmHg true pressure; readings are clipped at −10, far below.
        let mean = xs.reduce(0, +) / Double(xs.count)
        let sd = (xs.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(xs.count)).squareRoot()
        #expect(abs(mean) < 0.05)
        #expect(abs(sd - 0.5) < 0.05)
    }

    @Test func sensorQuantisesToItsResolution() {
        var p = params(noise: 0.3)
        p.sensorResolution = 0.5
        var b = BootPhysics(parameters: p)
        for _ in 0..<100 {
            let r = b.sensorReadings()[0]
            #expect(abs((r / 0.5).rounded() * 0.5 - r) < 1e-9)
        }
    }

    @Test func sensorLatencyDelaysReadings() {
        var p = params()
        p.sensorLatency = 0.05
        var b = BootPhysics(parameters: p)
        b.command(pumpIn)
        b.advance(to: 0.04)
        #expect(b.pressure[0] > 0)
        #expect(b.sensorReadings()[0] == 0) // the sensor still shows 50 ms ago
    }

    @Test func faultsChangeThePhysics() {
        var b = BootPhysics(parameters: params())
        b.faults.pumpDead = true
        b.command(pumpIn)
        b.advance(to: 2)
        #expect(b.pressure[0] == 0)
        b.faults.pumpDead = false
        b.faults.occlusion[0] = true
        b.advance(to: 4)
        #expect(b.pressure[0] == 0)
        b.faults.occlusion[0] = false
        b.faults.sensor[0] = .disconnected
        #expect(b.sensorReadings()[0].isNaN)
    }
}
