import Foundation
import Testing
import SoleusConfig
import SoleusCore
import SoleusSimulation
@testable import SoleusRuntime

/// The DVT garment's profile with the limb inside changed by `change`.
func dvtProfile(_ change: (inout LimbParameters) -> Void = { _ in }, noise: Double? = nil) throws -> HardwareProfile {
    var profile = try HardwareProfileFile.load(path: repoPath("hardware/sim-3-dvt.toml"))
    guard case .simulated(var params) = profile.backend, var limb = params.limb else { throw StoreError("the DVT profile has no limb") }
    change(&limb)
    params.limb = limb
    if let noise { params.sensorNoise = noise }
    profile.backend = .simulated(params)
    return profile
}

/// Runs `protocolFile` (its text changed by `edit`) on `profile` for `cycles` main cycles.
func runLimb(_ protocolFile: String, on profile: HardwareProfile, cycles: Int, edit: (String) -> String = { $0 }) throws -> (SessionResult, MemorySessionLog) {
    let text = edit(try String(contentsOfFile: repoPath(protocolFile), encoding: .utf8))
    let prepared = try PreparedSession.prepare(protocolText: text, label: protocolFile, profile: profile, length: .cycles(cycles))
    let (result, _, log) = try runWatched(prepared)
    return (result, log)
}

/// Each main cycle's rest: from its last release to the next cycle's start (s).
func rests(_ log: MemorySessionLog) -> [Double] {
    let starts = log.events.filter { $0.kind == "cycle-start" }.map(\.time)
    var out: [Double] = []
    for (i, start) in starts.enumerated().dropLast() {
        let cycle = i + 1
        let lastRelease = log.events.filter { $0.kind == "release" && $0.cycle == cycle }.map(\.time).max() ?? start
        out.append(starts[i + 1] - lastRelease)
    }
    return out
}

@Suite struct LimbSessionTests {
    @Test func theDVTProgramExpelsAboutAHundredMillilitresAndTheRapidSixSecondProgramLess() throws {
        let (dvt, dvtLog) = try runLimb("protocols/dvt-3-chamber.toml", on: try dvtProfile(), cycles: 3)
        #expect(dvt.end.reason == .completed)
        #expect(dvt.alarms.isEmpty)
        let sequential = dvtLog.compressions.map(\.compression)
        #expect(sequential.count == 3)
        // Kakkos et al. 2005: about 120 mL per sequential 11 s compression.
        for c in sequential { #expect(c.expelledML > 70 && c.expelledML < 180, "expelled \(c.expelledML) mL") }

        let rapidProfile = try HardwareProfileFile.load(path: repoPath("scenarios/hardware/sim-1-rapid-calf.toml"))
        let (rapid, rapidLog) = try runLimb("scenarios/protocols/rapid-calf-6s.toml", on: rapidProfile, cycles: 3)
        #expect(rapid.end.reason == .completed)
        #expect(rapid.alarms.isEmpty)
        let fast = rapidLog.compressions.map(\.compression)
        #expect(fast.count == 3)
        // About 80 mL with a rapid 6 s squeeze: less than the sequential program, at a higher peak velocity.
        for (f, s) in zip(fast, sequential) {
            #expect(f.expelledML > 40 && f.expelledML < s.expelledML, "rapid \(f.expelledML) mL, sequential \(s.expelledML) mL")
            #expect(f.peakVelocityCMPerS > s.peakVelocityCMPerS)
        }
        // Logged as events too, with the figures in words.
        #expect(dvtLog.events.filter { $0.kind == "limb-compression" }.count == 3)
        #expect(dvtLog.events.first { $0.kind == "limb-compression" }?.message.contains("mL of venous blood expelled") == true)
        #expect(dvtLog.events.last?.kind == "vented")
    }

    @Test(arguments: [15.0, 25, 45])
    func theSimulatedLimbRefillsWithinAFifthOfItsConfiguredTime(refill: Double) throws {
        let profile = try dvtProfile { $0.refillSeconds = refill }
        let (result, log) = try runLimb("protocols/dvt-3-chamber.toml", on: profile, cycles: 3)
        #expect(result.end.reason == .completed)
        let measured = log.compressions.map(\.compression.refillSeconds).dropLast()
        #expect(measured.count == 2)
        for m in measured { #expect(abs(m - refill) <= 0.2 * refill, "refilled in \(m) s, configured \(refill) s") }
    }

    @Test func aDummyLimbMovesNoBlood() throws {
        let (result, log) = try runLimb("protocols/dvt-3-chamber.toml", on: try dvtProfile { $0.venous = false }, cycles: 2)
        #expect(result.end.reason == .completed)
        for c in log.compressions.map(\.compression) {
            #expect(c.expelledML == 0)
            #expect(c.refillSeconds.isNaN)
        }
    }

    @Test func limbCompressionsAreStoredAndReadBack() throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = try SessionStore(directory: dir)
        let prepared = try PreparedSession.prepare(protocolText: try String(contentsOfFile: repoPath("protocols/dvt-3-chamber.toml"), encoding: .utf8),
                                                   label: "dvt", profile: try dvtProfile(), length: .cycles(2))
        let backend = try prepared.makeBackend()
        let result = try prepared.runner(backend: backend, sink: store, options: .init(speed: .max)).run(commands: { _ in nil })
        let stored = try store.compressions(result.sessionID)
        #expect(stored.map(\.number) == [1, 2])
        #expect(stored.allSatisfy { $0.compression.expelledML > 70 })
        #expect(stored.first?.compression.refillSeconds.isFinite == true)
    }
}
