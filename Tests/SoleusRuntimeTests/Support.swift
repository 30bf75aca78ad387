import Foundation
import SoleusConfig
import SoleusCore
import SoleusHardware
import SoleusSimulation
@testable import SoleusRuntime

/// The package root, found from this file's path.
let packageRoot: String = {
    var url = URL(fileURLWithPath: #filePath)
    for _ in 0..<3 { url.deleteLastPathComponent() }
    return url.path
}()

func repoPath(_ relative: String) -> String { packageRoot + "/" + relative }

/// Every shipped protocol and the profile it is meant for.
let shippedProtocols: [(protocolFile: String, profile: String)] = [
    ("protocols/dvt-3-chamber.toml", "hardware/sim-3-dvt.toml"),
    ("protocols/dvt-fixed-cycle.toml", "hardware/sim-1-calf-sleeve.toml"),
    ("protocols/foot-pump.toml", "hardware/sim-1-foot.toml"),
    ("protocols/lymphoedema-4-chamber.toml", "hardware/sim-4-lymph.toml"),
    ("protocols/lymphoedema-8-chamber.toml", "hardware/sim-8-lymph.toml"),
    ("protocols/recovery-wave-5-zone.toml", "hardware/sim-5-recovery.toml"),
    ("protocols/calf-pump-rhythm.toml", "hardware/sim-3-dvt.toml"),
    ("protocols/dvt-refill-adaptive.toml", "hardware/sim-3-dvt.toml"),
] + programFamilies

/// The shipped programs of issue 8's device families: 12- and 24-chamber lymphoedema, a wave with
/// every chamber pulsed twice, two legs alternating. They run in every shipped-protocol test but
/// the single-fault sweep, which covers the controller and supervisor code they share on the
/// first seven at a fraction of the time (a 24-chamber sweep alone would take minutes).
let programFamilies: [(protocolFile: String, profile: String)] = [
    ("protocols/lymphoedema-12-chamber.toml", "hardware/sim-12-lymph.toml"),
    ("protocols/lymphoedema-wave-12-chamber.toml", "hardware/sim-12-lymph.toml"),
    ("protocols/lymphoedema-24-chamber.toml", "hardware/sim-24-lymph.toml"),
    ("protocols/dvt-alternating-two-legs.toml", "hardware/sim-6-dvt-two-legs.toml"),
]

/// The protocols the single-fault sweep runs.
let sweptProtocols = shippedProtocols.filter { p in !programFamilies.contains { $0.protocolFile == p.protocolFile } }

/// Wraps the simulated boot and watches the *true* pressures (not the sensors) on every tick:
/// peaks per chamber and the worst proximal-over-distal excess while both chambers are closed to
/// atmosphere (being compressed).
final class WatchedBoot: BootBackend {
    let sim: SimulatedBoot
    var truePeak: [Double]
    var worstReverseGradient = -Double.infinity
    var lastOutputs: BootOutputs
    /// Chambers that are the most distal of a limb other than the first: no distal neighbour.
    var limbStarts: Set<Int> = []
    var ticks = 0
    var onRead: (Double, SimulatedBoot) -> Void = { _, _ in }

    init(_ sim: SimulatedBoot) {
        self.sim = sim
        truePeak = Array(repeating: 0, count: sim.chamberCount)
        lastOutputs = .vented(chamberCount: sim.chamberCount)
    }

    var chamberCount: Int { sim.chamberCount }
    var summary: String { sim.summary }

    func read(at time: Double) throws(HardwareError) -> BootInputs {
        onRead(time, sim)
        let inputs = try sim.read(at: time)
        ticks += 1
        let p = sim.physics.pressure
        for c in 0..<chamberCount { truePeak[c] = max(truePeak[c], p[c]) }
        for c in 1..<max(chamberCount, 1) where !limbStarts.contains(c) && !lastOutputs.exhausts.contains(index: c) && !lastOutputs.exhausts.contains(index: c - 1) {
            // Both closed to atmosphere and both holding air: a compression.
            if p[c] > 2 && p[c - 1] > 2 { worstReverseGradient = max(worstReverseGradient, p[c] - p[c - 1]) }
        }
        return inputs
    }

    func write(_ outputs: BootOutputs) throws(HardwareError) {
        lastOutputs = outputs
        try sim.write(outputs)
    }

    func vent() {
        lastOutputs = .vented(chamberCount: chamberCount)
        sim.vent()
    }

    func takeLimbCompressions(into out: inout [LimbCompression], final: Bool) {
        sim.takeLimbCompressions(into: &out, final: final)
    }
}

/// A `WatchedBoot.onRead` hook that changes the simulator's faults once, at session time `time`.
func fault(at time: Double, _ change: @escaping (inout SimulatedFaults) -> Void) -> (Double, SimulatedBoot) -> Void {
    var applied = false
    return { t, sim in
        guard t >= time, !applied else { return }
        applied = true
        var f = sim.physics.faults
        change(&f)
        sim.setFaults(f)
    }
}

func prepare(_ protocolFile: String, _ profile: String, level: Int? = nil) throws -> PreparedSession {
    try PreparedSession.load(protocolPath: repoPath(protocolFile), profilePath: repoPath(profile), level: level)
}

/// Runs a prepared session on a watched simulated boot into memory.
func runWatched(_ prepared: PreparedSession, shouldStop: @escaping (Double) -> Bool = { _ in false }, configure: (WatchedBoot) -> Void = { _ in }) throws -> (SessionResult, WatchedBoot, MemorySessionLog) {
    guard let sim = (try prepared.makeBackend()) as? SimulatedBoot else { throw StoreError("not simulated") }
    let boot = WatchedBoot(sim)
    boot.limbStarts = Set(prepared.profile.boot.limbs.dropFirst().map(\.firstChamber))
    configure(boot)
    let log = MemorySessionLog()
    let runner = prepared.runner(backend: boot, sink: log, options: .init(speed: .max))
    let result = try runner.run(commands: { _ in shouldStop(boot.sim.physics.time) ? .stop : nil })
    return (result, boot, log)
}

func temporaryDirectory() -> String {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("soleus-test-\(UUID().uuidString)").path
    try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir
}
