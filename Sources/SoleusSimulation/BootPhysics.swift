import SoleusCore

/// The physical model of the boot on the limb: per-chamber air mass in a compliant volume, a pump
/// whose flow falls with back-pressure, orifice flow through inlet, exhaust and leak, actuators
/// that act after a delay, and pressure sensors with latency, noise and finite resolution.
///
/// State is the amount of air per chamber, in normal litres (litres at atmospheric pressure).
/// Pressure follows from it isothermally: (Patm + p) · V(p) = n · Patm, with V(p) = V0 + C·p.
/// Deterministic for a given seed; advanced in fixed physics steps by ``advance(to:)``.
public struct BootPhysics: Sendable {
    /// Atmospheric pressure (mmHg, absolute).
    public static let atmosphere = 760.0

    public let parameters: BootParameters
    public let chamberCount: Int
    /// Air per chamber (normal litres).
    var air: ChamberValues
    /// True gauge pressure per chamber (mmHg), updated every physics step.
    public private(set) var pressure: ChamberValues
    /// Highest true pressure seen per chamber since the last ``resetPeaks()``.
    public private(set) var truePeak: ChamberValues
    /// Outputs as the actuators are right now (after their delay).
    public private(set) var actual: BootOutputs
    var pending: BootOutputs
    var pendingAt: Int = 0
    /// Physics steps taken.
    public private(set) var steps: Int = 0
    let h: Double
    /// Past true pressures, for sensor latency: ring of `latencySteps + 1` rows.
    var history: [Double]
    let latencySteps: Int
    var historyNext = 0
    var noise: NoiseSource
    /// The redundant channel's own noise: independent of the first channel's.
    var redundantNoise: NoiseSource
    /// Faults currently applied (see ``SimulatedFaults``).
    public var faults = SimulatedFaults() {
        didSet {
            // A hose that kinks now starts at the bladder's pressure.
            for c in 0..<chamberCount where faults.occlusion[c] && !oldValue.occlusion[c] {
                hoseAir[c] = Self.hoseVolume * (Self.atmosphere + pressure[c]) / Self.atmosphere
            }
        }
    }
    /// Air in the hose between a kink and the valve block (normal litres), while occluded.
    var hoseAir = ChamberValues()
    /// Hose volume between valve block and bladder (litres): small and stiff.
    static let hoseVolume = 0.01
    /// What the sensor at the valve block sees: the bladder, or the hose when kinked.
    public private(set) var sensedPressure = ChamberValues()
    /// The limb inside the garment, if the parameters describe one.
    public private(set) var limb: LimbModel?

    public init(parameters: BootParameters) {
        self.parameters = parameters
        chamberCount = min(parameters.chambers.count, maxChambers)
        h = 1 / parameters.physicsRate
        var air = ChamberValues()
        for c in 0..<chamberCount { air[c] = parameters.chambers[c].volumeL }
        self.air = air
        pressure = ChamberValues()
        truePeak = ChamberValues()
        actual = .vented(chamberCount: chamberCount)
        pending = actual
        latencySteps = max(0, Int(saturating: (parameters.sensorLatency * parameters.physicsRate).rounded()))
        history = Array(repeating: 0, count: (latencySteps + 1) * maxChambers)
        noise = NoiseSource(seed: parameters.seed)
        redundantNoise = NoiseSource(seed: parameters.seed ^ 0x5EC0_4D5E_4504_0001)
        limb = parameters.limb.map { LimbModel(parameters: $0, chamberCount: chamberCount) }
    }

    /// Forgets the limb's compressions so far (see ``LimbModel/forgetCompressions()``).
    public mutating func forgetLimbCompressions() { limb?.forgetCompressions() }

    /// Moves the limb's completed compressions into `out` (see ``LimbModel``).
    public mutating func takeLimbCompressions(into out: inout [LimbCompression], final: Bool) {
        limb?.take(into: &out, final: final)
    }

    /// Session time of the physics state (s).
    public var time: Double { Double(steps) * h }

    /// Commands new outputs; they take effect after the actuator delay.
    public mutating func command(_ outputs: BootOutputs) {
        if outputs == pending { return }
        pending = outputs
        pendingAt = steps + Int(saturating: (parameters.actuatorDelay * parameters.physicsRate).rounded())
    }

    /// Integrates up to session time `time` (s).
    public mutating func advance(to time: Double) {
        let target = Int(saturating: (time * parameters.physicsRate).rounded())
        while steps < target { step() }
    }

    public mutating func resetPeaks() { truePeak = pressure }

    /// What the sensors report now: the pressure `latency` ago, plus noise, quantised and clipped.
    public mutating func sensorReadings() -> ChamberValues {
        var rng = noise
        defer { noise = rng }
        return readings(faults: faults.sensor, noise: &rng)
    }

    /// What the redundant transducers report now: the same physics, their own noise and faults.
    public mutating func redundantReadings() -> ChamberValues {
        var rng = redundantNoise
        defer { redundantNoise = rng }
        return readings(faults: faults.redundantSensor, noise: &rng)
    }

    func readings(faults sensorFaults: [SimulatedFaults.SensorFault], noise: inout NoiseSource) -> ChamberValues {
        var out = ChamberValues()
        let rows = latencySteps + 1
        // The oldest row in the ring is the one about to be overwritten next.
        let row = latencySteps == 0 ? (historyNext + rows - 1) % rows : historyNext % rows
        for c in 0..<chamberCount {
            var p = history[row * maxChambers + c]
            let f = sensorFaults[c]
            switch f {
            case .none: break
            case .stuck(let v):
                // A stuck sensor or converter repeats one value exactly: no noise.
                out[c] = v
                continue
            case .drift(let perSecond, let since): p += perSecond * max(0, time - since)
            case .disconnected: out[c] = .nan; continue
            case .offset(let d): p += d
            case .noisy(let sd): p += sd * noise.gaussian()
            }
            p += parameters.sensorNoise * noise.gaussian()
            let q = parameters.sensorResolution
            if q > 0 { p = (p / q).rounded() * q }
            out[c] = min(max(p, -10), parameters.sensorFullScale)
        }
        return out
    }

    mutating func step() {
        if steps >= pendingAt { actual = pending }
        let openInlets = effectiveInlets()
        // Each drive's pump is shared by the open inlets it feeds.
        var sharing = InlineArray<8, Int>(repeating: 0)
        for c in 0..<chamberCount where openInlets.contains(index: c) { sharing[parameters.drive(of: c) & 7] += 1 }
        for c in 0..<chamberCount {
            let drive = parameters.drive(of: c) & 7
            // A welded pump relay (pumpStuckOn) is drive 0's.
            let pumpOn = powered(drive: drive) && (actual.pumps.contains(drive: drive) || (faults.pumpStuckOn && drive == 0)) && !faults.pumpDead
            let share = sharing[drive] > 0 ? parameters.pumpMaxFlow * faults.pumpStrength / Double(sharing[drive]) : 0
            var ch = parameters.chambers[c]
            ch.volumeL *= 1 - min(max(faults.squeeze[c], 0), 0.9)
            // A limb that grew takes room from the bladder; one pushed empty gives it back.
            let growth = limb?.growthL(c) ?? 0
            if growth != 0 { ch.volumeL = max(ch.volumeL - growth, 0.2 * ch.volumeL) }
            let p = pressure[c]
            if faults.disconnected[c] {
                // Nothing on the port: no bladder, no pressure; what the limb does is unseen.
                air[c] = ch.volumeL
                pressure[c] = 0
                sensedPressure[c] = 0
                continue
            }
            // The valves feed the bladder, or only the hose when it is kinked.
            let occluded = faults.occluded(c)
            let pv = occluded ? sensedPressure[c] : p
            var qv = 0.0
            if pumpOn && openInlets.contains(index: c) { qv += inletFlow(share: share, chamberPressure: pv) }
            if effectiveExhaust(c) { qv -= parameters.exhaustOrifice * orificeLaw(pv) }
            var q = -(ch.leak + faults.leak[c]) * orificeLaw(p)
            if occluded {
                hoseAir[c] = max(hoseAir[c] + qv * h, Self.hoseVolume)
                sensedPressure[c] = Self.atmosphere * (hoseAir[c] - Self.hoseVolume) / Self.hoseVolume
            } else {
                q += qv
                if qv > 0 { limb?.mix(chamber: c, inflow: qv * h, air: air[c]) }
            }
            air[c] = max(air[c] + q * h, 0)
            // Air cooler than the skin presses less; warming, it presses more.
            let warmth = limb?.thermal[c] ?? 1
            pressure[c] = Self.pressure(air: air[c] * warmth, chamber: ch)
            if !occluded { sensedPressure[c] = pressure[c] }
            if pressure[c] > truePeak[c] { truePeak[c] = pressure[c] }
        }
        let now = time
        limb?.step(pressures: pressure, h: h, time: now)
        let rows = latencySteps + 1
        let row = historyNext % rows
        for c in 0..<chamberCount { history[row * maxChambers + c] = sensedPressure[c] }
        historyNext = (historyNext + 1) % rows
        steps += 1
    }

    /// False while drive 0's safety relay is open (commanded open, or opened by the E-stop's
    /// wire): its pump and valve coils are without power.
    public var powered: Bool { powered(drive: 0) }

    /// False while drive `drive`'s safety relay is open. The direct E-stop opens every relay.
    public func powered(drive: Int) -> Bool {
        guard parameters.safetyRelay else { return true }
        return actual.powered.contains(drive: drive) && !(parameters.directEmergencyStop && faults.emergencyStop)
    }

    func effectiveInlets() -> ChamberSet {
        // Without power an inlet closes (normally closed), unless it is stuck open.
        var s = ChamberSet()
        for c in 0..<chamberCount where actual.inlets.contains(index: c) && powered(drive: parameters.drive(of: c)) { s.set(c, true) }
        for c in 0..<chamberCount {
            switch faults.inlet[c] {
            case .normal: break
            case .stuckOpen: s.set(c, true)
            case .stuckClosed: s.set(c, false)
            }
        }
        return s
    }

    func effectiveExhaust(_ c: Int) -> Bool {
        switch faults.exhaust[c] {
        case .normal: !powered(drive: parameters.drive(of: c)) || actual.exhausts.contains(index: c)
        case .stuckOpen: true
        case .stuckClosed: false
        }
    }

    /// Flow through an orifice per √Δp, made linear below 1 mmHg so that the flow's slope stays
    /// finite near empty (explicit integration stays stable).
    @inline(__always) static func orificeLawValue(_ dp: Double) -> Double {
        dp <= 0 ? 0 : (dp < 1 ? dp : dp.squareRoot())
    }
    @inline(__always) func orificeLaw(_ dp: Double) -> Double { Self.orificeLawValue(dp) }

    /// Pump flow through one open inlet into a chamber at `chamberPressure`: the pump curve
    /// Q = share·(1 − p_pump/stall) meets the inlet orifice p_pump = p + (Q/k)²; solved in closed form.
    func inletFlow(share: Double, chamberPressure p: Double) -> Double {
        Self.inletFlow(parameters, share: share, chamberPressure: p)
    }

    /// ``inletFlow(share:chamberPressure:)`` for any parameters (the timing prediction uses it).
    static func inletFlow(_ parameters: BootParameters, share: Double, chamberPressure p: Double) -> Double {
        let stall = parameters.pumpStall
        guard share > 0, p < stall else { return 0 }
        let k = parameters.inletOrifice
        let a = share / (stall * k * k)
        let c = share * (1 - max(p, 0) / stall)
        return (-1 + (1 + 4 * a * c).squareRoot()) / (2 * a)
    }

    /// Gauge pressure of `air` normal litres in `chamber`: the positive root of
    /// C·p² + (V0 + C·Patm)·p + Patm·(V0 − n) = 0, and 0 while the bladder is not full.
    public static func pressure(air n: Double, chamber: BootParameters.Chamber) -> Double {
        let v0 = chamber.volumeL, cmp = chamber.complianceLPerMmHg
        guard n > v0 else { return 0 }
        if cmp <= 0 { return atmosphere * (n - v0) / v0 }
        let b = v0 + cmp * atmosphere
        let c = atmosphere * (v0 - n)
        return (-b + (b * b - 4 * cmp * c).squareRoot()) / (2 * cmp)
    }
}
