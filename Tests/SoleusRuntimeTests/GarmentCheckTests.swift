import Foundation
import Testing
import SoleusConfig
import SoleusCore
import SoleusSimulation
@testable import SoleusRuntime

/// Every shipped simulated profile.
let simulatedProfiles: [String] = {
    ((try? FileManager.default.contentsOfDirectory(atPath: repoPath("hardware"))) ?? [])
        .filter { $0.hasPrefix("sim-") && $0.hasSuffix(".toml") }.sorted().map { "hardware/" + $0 }
}()

/// The simulated boot of `profile` with the garment of `garment` on its outlets instead (missing
/// outlets disconnected), as when the wrong garment is plugged in.
func boot(_ profile: HardwareProfile, wearing garment: HardwareProfile) throws -> SimulatedBoot {
    guard var params = profile.model, let other = garment.model else { throw StoreError("no model") }
    let n = params.chambers.count
    for i in 0..<min(n, other.chambers.count) { params.chambers[i] = other.chambers[i] }
    params.limb = nil
    let sim = SimulatedBoot(parameters: params)
    var f = SimulatedFaults()
    for c in other.chambers.count..<max(n, other.chambers.count) where c < n { f.disconnected[c] = true }
    sim.setFaults(f)
    return sim
}

@Suite struct GarmentCheckTests {
    let catalogue = GarmentCatalogue.load(directory: repoPath("hardware"))

    @Test func everyShippedSimulatedGarmentIsRecognisedOnItsOwnBoot() throws {
        #expect(simulatedProfiles.count >= 9)
        for file in simulatedProfiles {
            let profile = try HardwareProfileFile.load(path: repoPath(file))
            let check = try #require(GarmentCheck(profile: profile))
            let sim = try #require(try profile.makeBackend() as? SimulatedBoot)
            let judgement = try check.run(on: sim, speed: .max)
            #expect(judgement.accepted, "\(file): \(judgement.text)")
            #expect(judgement.found.count == profile.boot.chambers.count)
            // The catalogue names it too (with any garment of the same chambers).
            let model = try #require(profile.model)
            #expect(catalogue.identify(judgement, check: check, model: model).contains(profile.name), "\(file)")
        }
    }

    @Test func garmentsOfDifferentShapeAreToldApart() throws {
        // Each shipped garment on each other boot with as many outlets: refused, unless the two
        // garments are the same.
        let profiles = try simulatedProfiles.map { try HardwareProfileFile.load(path: repoPath($0)) }
        var pairs = 0
        for p in profiles {
            for g in profiles where g.model?.chambers != p.model?.chambers {
                guard let check = GarmentCheck(profile: p), (g.model?.chambers.count ?? 99) <= p.boot.chambers.count else { continue }
                let judgement = try check.run(on: try boot(p, wearing: g), speed: .max)
                #expect(!judgement.accepted, "\(g.name) on \(p.name)'s boot was taken for it")
                pairs += 1
            }
        }
        #expect(pairs > 20)
    }

    @Test func noGarmentIsRefusedAsNotDetected() throws {
        let profile = try HardwareProfileFile.load(path: repoPath("hardware/sim-3-dvt.toml"))
        let sim = try #require(try profile.makeBackend() as? SimulatedBoot)
        var f = SimulatedFaults()
        for c in 0..<3 { f.disconnected[c] = true }
        sim.setFaults(f)
        let judgement = try #require(GarmentCheck(profile: profile)).run(on: sim, speed: .max)
        #expect(!judgement.accepted)
        #expect(judgement.text.hasPrefix("garment not detected (no outlet holds air: is the garment connected?)"))
        for name in ["ankle", "calf", "thigh"] { #expect(judgement.text.contains("\(name): expected a bladder rising")) }
        #expect(judgement.text.contains("found nothing (no rise)"))
    }

    @Test func oneHoseOffIsNamed() throws {
        let profile = try HardwareProfileFile.load(path: repoPath("hardware/sim-3-dvt.toml"))
        let sim = try #require(try profile.makeBackend() as? SimulatedBoot)
        var f = SimulatedFaults()
        f.disconnected[1] = true
        sim.setFaults(f)
        let judgement = try #require(GarmentCheck(profile: profile)).run(on: sim, speed: .max)
        #expect(judgement.mismatches == [1])
        #expect(judgement.text.hasPrefix("garment does not match the profile: calf: expected a bladder rising"))
    }

    @Test func aSwappedGarmentIsRefusedNamingWhatWasExpectedAndWhatWasFound() throws {
        let dvt = try HardwareProfileFile.load(path: repoPath("hardware/sim-3-dvt.toml"))
        let sleeve = try HardwareProfileFile.load(path: repoPath("hardware/sim-1-calf-sleeve.toml"))
        let prepared = try prepare("protocols/dvt-3-chamber.toml", "hardware/sim-3-dvt.toml")
        let judgement = try #require(try prepared.checkGarment(on: try boot(dvt, wearing: sleeve), speed: .max, catalogue: catalogue))
        #expect(!judgement.accepted)
        #expect(judgement.text.contains("ankle: expected a bladder rising 4.8 mmHg, found a bladder rising 3.0 mmHg"))
        #expect(judgement.text.contains("found a bladder rising"))
        #expect(judgement.text.contains("calf: expected a bladder rising 3.1 mmHg, found nothing (no rise)"))
        #expect(judgement.lookedLike == [sleeve.name])
        #expect(judgement.text.hasSuffix("responds like: \(sleeve.name)"))
    }

    @Test func aRefusedGarmentEndsTheSessionBeforeTherapyVented() throws {
        let prepared = try prepare("protocols/dvt-3-chamber.toml", "hardware/sim-3-dvt.toml")
        let sim = try #require(try prepared.makeBackend() as? SimulatedBoot)
        var f = SimulatedFaults()
        for c in 0..<3 { f.disconnected[c] = true }
        sim.setFaults(f)
        var options = SessionRunner.Options(speed: .max)
        options.garment = try prepared.checkGarment(on: sim, speed: .max)
        let log = MemorySessionLog()
        let result = try prepared.runner(backend: sim, sink: log, options: options).run()
        #expect(result.end.reason == .garmentNotDetected)
        #expect(result.end.detail.hasPrefix("garment not detected"))
        #expect(result.end.detail.hasSuffix("nothing was run"))
        #expect(result.end.cyclesCompleted == 0)
        #expect(!log.events.contains { $0.kind == "inflate" })
        #expect(log.events.first?.kind == "garment-not-detected")
        #expect(log.events.last?.kind == "vented")
        #expect((0..<3).allSatisfy { sim.physics.pressure[$0] < 1 })
    }

    @Test func anAcceptedCheckIsLoggedAndTheSessionStartsAtItsOwnZero() throws {
        let prepared = try prepare("protocols/dvt-3-chamber.toml", "hardware/sim-3-dvt.toml")
        var p = prepared
        p.plan.length = .cycles(1)
        let sim = try #require(try p.makeBackend() as? SimulatedBoot)
        var options = SessionRunner.Options(speed: .max)
        options.garment = try p.checkGarment(on: sim, speed: .max)
        let checkSeconds = sim.physics.time
        #expect(checkSeconds > 2, "under a second per outlet")
        let log = MemorySessionLog()
        let result = try p.runner(backend: sim, sink: log, options: options).run()
        #expect(result.end.reason == .completed)
        #expect(log.events.first?.kind == "garment-detected")
        #expect(log.events.first { $0.kind == "inflate" }?.time == 0)
        // The session's limb compressions are its own, in its time: the check's pulses are not.
        #expect(log.compressions.count == 1)
        #expect(log.compressions.allSatisfy { $0.compression.start >= 0 && $0.compression.start < 2 })
    }
}
