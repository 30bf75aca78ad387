import SoleusConfig
import SoleusCore
import SoleusHardware
import SoleusSimulation

/// Everything needed to start a session, loaded and validated from files.
public struct PreparedSession: Sendable {
    public var plan: TreatmentPlan
    public var profile: HardwareProfile
    public var protocolPath: String
    public var protocolText: String
    /// Timing the garment meets with little to spare (`TimingFeasibility`), for the operator.
    public var timingWarnings: [String] = []

    /// Loads the profile and the protocol and validates one against the other. Every error names
    /// its file.
    /// `limb` chooses the limb of a single-limb protocol on a boot of two.
    /// `modbus` replaces the profile's Modbus endpoint (`--modbus`).
    public static func load(protocolPath: String, profilePath: String, level: Int? = nil, limb: String? = nil, modbus: String? = nil) throws(ConfigError) -> PreparedSession {
        var profile = try HardwareProfileFile.load(path: profilePath)
        if let modbus { profile = try profile.overridingModbus(modbus) }
        let (_, text) = try ProtocolFile.load(path: protocolPath)
        let plan = try ProtocolFile.plan(text, file: protocolPath, for: profile.boot, level: level, limb: limb)
        let warnings = try profile.checkTiming(of: plan, file: protocolPath)
        return PreparedSession(plan: plan, profile: profile, protocolPath: protocolPath, protocolText: text, timingWarnings: warnings)
    }

    /// Prepares a session from protocol text already in memory (the daemon's protocol library),
    /// validated against `profile`; errors name `label`. A single-limb protocol on a boot of two
    /// runs on `limb`, or on the first limb when none is given.
    /// `length` replaces the protocol's session length, validated like the file's own.
    public static func prepare(protocolText: String, label: String, profile: HardwareProfile, level: Int? = nil, limb: String? = nil, length: SessionLength? = nil) throws(ConfigError) -> PreparedSession {
        let proto = try ProtocolFile.parse(protocolText, file: label)
        let chosen = limb ?? (proto.limbs == .single && profile.boot.limbs.count > 1 ? profile.boot.limbs[0].name : nil)
        let plan = try ProtocolFile.plan(protocolText, file: label, for: profile.boot, level: level, limb: chosen, length: length)
        let warnings = try profile.checkTiming(of: plan, file: label)
        return PreparedSession(plan: plan, profile: profile, protocolPath: label, protocolText: protocolText, timingWarnings: warnings)
    }

    /// Creates the backend the profile selects. Real hardware is opened here: every line
    /// requested with the vented state, every module answering once, or a clear error.
    public func makeBackend(seed: UInt64? = nil) throws(HardwareError) -> BootBackend {
        try profile.makeBackend(seed: seed)
    }

    /// Runs the garment check (``GarmentCheck``) on `backend` for the limbs this session runs on;
    /// nil when the profile has no garment model to check against.
    /// A refusal names the garments of `catalogue` that respond like what was found.
    public func checkGarment(on backend: BootBackend, speed: Speed, catalogue: GarmentCatalogue? = nil) throws -> GarmentJudgement? {
        guard let check = GarmentCheck(profile: profile, limbs: plan.limbs.map(\.limb)), let model = profile.model else { return nil }
        var judgement = try check.run(on: backend, speed: speed)
        if !judgement.accepted, let catalogue { judgement.lookedLike = catalogue.identify(judgement, check: check, model: model) }
        return judgement
    }

    /// The simulated boot with another garment connected (`soleus run --simulate-garment`): the
    /// chambers of `garment`'s model on the first outlets, nothing on the others; nil: no garment
    /// at all. For trying the garment check; the profile's own garment is what it expects.
    public func makeSimulatedBoot(seed: UInt64? = nil, wearing garment: HardwareProfile?) throws(ConfigError) -> SimulatedBoot {
        guard case .simulated(var params) = profile.backend else {
            throw ConfigError(file: profile.path, issues: [ConfigIssue(keyPath: "profile.backend", message: "--simulate-garment needs the simulated backend")])
        }
        if let seed { params.seed = seed }
        let outlets = params.chambers.count
        var connected = 0
        if let garment {
            guard let other = garment.model else {
                throw ConfigError(file: garment.path, issues: [ConfigIssue(keyPath: "simulation", message: "has no [simulation] model of its garment to connect")])
            }
            connected = min(other.chambers.count, outlets)
            for i in 0..<connected { params.chambers[i] = other.chambers[i] }
            params.limb = nil
        }
        let sim = SimulatedBoot(parameters: params)
        var faults = SimulatedFaults()
        for c in connected..<outlets { faults.disconnected[c] = true }
        sim.setFaults(faults)
        return sim
    }

    /// True when the backend is the simulator (which may run faster than real time).
    public var isSimulated: Bool {
        if case .simulated = profile.backend { return true }
        return false
    }

    public func header(backend: BootBackend, speed: Speed) -> SessionHeader {
        SessionHeader(
            protocolName: plan.name, protocolPath: protocolPath, protocolText: protocolText,
            profileName: profile.name, profilePath: profile.path, profileText: profile.text,
            backend: backend.summary, chambers: profile.boot.chambers, speed: speed.description, level: plan.level)
    }

    /// The supervisor's thresholds: the profile's, with the protocol's sustained-pressure limit.
    public var safety: SafetySettings {
        var s = profile.safety
        s.maxCompression = plan.maxCompressionSeconds
        return s
    }

    /// A runner for this session on `backend`, logging to `sink`.
    public func runner(backend: BootBackend, sink: SessionSink, options: SessionRunner.Options, pacing: TickPacing? = nil) -> SessionRunner {
        SessionRunner(
            plan: plan, boot: profile.boot, regulator: profile.regulator, safety: safety,
            backend: backend, sink: sink, header: header(backend: backend, speed: options.speed),
            options: options, pacing: pacing)
    }
}

extension HardwareProfile {
    /// Creates the backend this profile selects. Real hardware is opened here: every line
    /// requested with the vented state, every module answering once, or a clear error.
    public func makeBackend(seed: UInt64? = nil) throws(HardwareError) -> BootBackend {
        switch backend {
        case .simulated(var params):
            if let seed { params.seed = seed }
            return SimulatedBoot(parameters: params)
        case .io(let wiring, _):
            return try HardwareBoot(wiring: wiring, chamberCount: boot.chambers.count)
        }
    }
}
