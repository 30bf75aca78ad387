import Foundation
import SoleusConfig
import SoleusCore
import SoleusHardware
import SoleusSimulation

/// The garment check before therapy: the ``GarmentProbe`` run on the boot, under a safety
/// supervisor, and its rises judged against what the profile's garment model predicts for the
/// same probe (`docs/limb-model.md`, "Garment detection"). A boot whose profile has no garment
/// model cannot be checked.
public struct GarmentCheck: Sendable {
    /// The outlets probed (boot chamber indices), their names, and the predicted rise of each.
    public let outlets: [Int]
    public let names: [String]
    public let expected: [Double]
    public let expectedPulses: [Double]
    let drives: [Int]
    let chamberCount: Int
    public let tick: Double
    let safety: SafetySettings

    /// The check for the chambers of `limbs` (indices into the profile's limbs; all when empty),
    /// or nil when the profile has no garment model to predict from.
    public init?(profile: HardwareProfile, limbs: [Int] = []) {
        guard let model = profile.model else { return nil }
        let boot = profile.boot
        let chosen = limbs.isEmpty ? Array(boot.limbs.indices) : limbs
        outlets = chosen.flatMap { Array(boot.limbs[$0].range) }
        names = outlets.map { boot.chambers[$0] }
        drives = (0..<boot.chambers.count).map { model.drive(of: $0) }
        chamberCount = boot.chambers.count
        tick = profile.regulator.tickSeconds
        safety = profile.safety
        (expected, expectedPulses) = Self.predict(model, outlets: outlets, chamberCount: boot.chambers.count, tick: profile.regulator.tickSeconds)
    }

    /// The rises the profile's own garment gives the probe: the same probe on a noise-free copy of
    /// its model.
    static func predict(_ model: BootParameters, outlets: [Int], chamberCount: Int, tick: Double, disconnected: Set<Int> = []) -> (rises: [Double], pulses: [Double]) {
        var quiet = model
        quiet.sensorNoise = 0
        quiet.sensorResolution = 0
        let sim = SimulatedBoot(parameters: quiet)
        var faults = SimulatedFaults()
        for c in disconnected { faults.disconnected[c] = true }
        sim.setFaults(faults)
        var probe = GarmentProbe(outlets: outlets)
        var t = 0.0
        while !probe.isDone, t < 600 {
            guard let inputs = try? sim.read(at: t) else { break }
            try? sim.write(outputs(probe.step(time: t, inputs: inputs), drives: (0..<chamberCount).map { model.drive(of: $0) }, chamberCount: chamberCount))
            t += tick
        }
        return (probe.rises, probe.pulses)
    }

    /// The boot's outputs for a probe action: the probed outlet's drive pumps, every relay powered.
    static func outputs(_ action: GarmentProbe.Action, drives: [Int], chamberCount: Int) -> BootOutputs {
        var out = BootOutputs(pumps: [], inlets: [], exhausts: .all(chamberCount), powered: [])
        for d in Set(drives) { out.powered.insert(.drive(d)) }
        switch action {
        case .vent: break
        case .fill(let c):
            out.exhausts.set(c, false)
            out.inlets.set(c, true)
            out.pumps.insert(.drive(c < drives.count ? drives[c] : 0))
        case .seal(let c):
            out.exhausts.set(c, false)
        }
        return out
    }

    /// Why the check itself could not finish.
    public struct Failure: Error, Sendable, CustomStringConvertible {
        public var description: String
    }

    /// Runs the probe on `backend` from its session time 0, paced like the session (`speed`),
    /// and judges it. The boot is vented at the end, whatever happens; the backend's clock then
    /// goes on from where the check left it, so the session that follows starts at its own 0.
    public func run(on backend: BootBackend, speed: Speed) throws -> GarmentJudgement {
        var pacer = makePacer(speed: speed)
        var supervisor = SafetySupervisor(settings: safety, chamberCount: chamberCount, tickSeconds: tick)
        var probe = GarmentProbe(outlets: outlets)
        var t = 0.0
        defer {
            backend.vent()
            backend.shiftClock(by: t)
        }
        pacer.begin()
        while !probe.isDone {
            let inputs: BootInputs
            do { inputs = try backend.read(at: t) } catch { throw Failure(description: "the garment check could not read the boot: \(error)") }
            let wanted = Self.outputs(probe.step(time: t, inputs: inputs), drives: drives, chamberCount: chamberCount)
            let allowed = supervisor.check(time: t, inputs: inputs, command: TherapyCommand(outputs: wanted), lateness: 0, sharedInlets: 0)
            if supervisor.safeState, let cause = supervisor.cause {
                // What is connected drove the supervisor to vent: not the profile's garment.
                let d = supervisor.details[cause.rawValue]
                return GarmentJudgement(names: names, expected: expected, rises: probe.rises, expectedPulses: expectedPulses, pulses: probe.pulses,
                                        stoppedBy: describeAlarm(cause, d, names: backendNames))
            }
            do { try backend.write(allowed) } catch { throw Failure(description: "the garment check could not drive the boot: \(error)") }
            t += tick
            if pacer.isPaced { pacer.wait(untilSessionTime: t) }
        }
        return GarmentJudgement(names: names, expected: expected, rises: probe.rises, expectedPulses: expectedPulses, pulses: probe.pulses)
    }

    var backendNames: [String] {
        var n = (0..<chamberCount).map { "chamber \($0 + 1)" }
        for (i, c) in outlets.enumerated() { n[c] = names[i] }
        return n
    }
}

/// The garments a check can name: the simulated garment models of the profiles in a directory
/// (the shipped `hardware/`), each predicted on the boot being checked, so that a refusal can say
/// what the garment found looks like.
public struct GarmentCatalogue: Sendable {
    public struct Entry: Sendable {
        public var name: String
        public var chambers: [BootParameters.Chamber]
        public var limb: LimbParameters?
    }
    public var entries: [Entry]

    public init(entries: [Entry]) { self.entries = entries }

    /// The profiles in `directory` that describe a garment model (unreadable files are skipped:
    /// the catalogue only names, it never decides).
    public static func load(directory: String) -> GarmentCatalogue {
        var entries: [Entry] = []
        for file in (try? FileManager.default.contentsOfDirectory(atPath: directory))?.sorted() ?? [] where file.hasSuffix(".toml") {
            guard let p = try? HardwareProfileFile.load(path: directory + "/" + file), let m = p.model else { continue }
            entries.append(Entry(name: p.name, chambers: m.chambers, limb: m.limb))
        }
        return GarmentCatalogue(entries: entries)
    }

    /// The garments of the profiles in the same directory as `profilePath`.
    public static func beside(profilePath: String) -> GarmentCatalogue {
        guard let slash = profilePath.lastIndex(of: "/") else { return load(directory: ".") }
        return load(directory: slash == profilePath.startIndex ? "/" : String(profilePath[..<slash]))
    }

    /// The names of the garments that, on `check`'s boot (its pump, valves and sensors, `model`),
    /// would give the rises found. A garment with more chambers than the outlets cannot.
    public func identify(_ judgement: GarmentJudgement, check: GarmentCheck, model: BootParameters) -> [String] {
        entries.filter { e in
            guard e.chambers.count <= check.outlets.count else { return false }
            var p = model
            var chambers = model.chambers
            for (i, c) in check.outlets.enumerated() where i < e.chambers.count { chambers[c] = e.chambers[i] }
            p.chambers = chambers
            p.limb = nil
            if var limb = e.limb {
                // The garment's own limb segments on the outlets it covers; none on the others.
                var segments = Array(repeating: LimbParameters.Segment(venousML: 0, ejectable: 0), count: model.chambers.count)
                for (i, c) in check.outlets.enumerated() where i < limb.segments.count { segments[c] = limb.segments[i] }
                limb.segments = segments
                limb.limbStarts = [0]
                p.limb = limb
            }
            let predicted = GarmentCheck.predict(p, outlets: check.outlets, chamberCount: model.chambers.count, tick: check.tick,
                                                 disconnected: Set(check.outlets.dropFirst(e.chambers.count)))
            let candidate = GarmentJudgement(names: check.names, expected: predicted.rises, rises: predicted.rises)
            guard judgement.stoppedBy == nil else { return false }
            return check.outlets.indices.allSatisfy { i in
                switch (candidate.found[i], judgement.found[i]) {
                case (.nothing, .nothing), (.blocked, .blocked): return true
                case (.bladder(let a), .bladder(let b)):
                    let pa = predicted.pulses[i], pb = i < judgement.pulses.count ? judgement.pulses[i] : pa
                    return abs(a - b) <= GarmentJudgement.tolerance * a && abs(pa - pb) <= GarmentJudgement.tolerance * pa
                default: return false
                }
            }
        }.map(\.name)
    }
}
