import SoleusCore

/// One limb's therapy within a session: its own controller, its own safety supervisor and its
/// cycle summaries, working on the limb's chambers by their limb-local indices. The session runner
/// composes the limbs' outputs into the boot's (``compose(_:into:)``).
///
/// A boot of one limb has one channel covering every chamber, so this is also the whole of a
/// single-garment session.
struct LimbChannel {
    let limb: LimbDescription
    /// Session time at which the limb's first cycle starts (the alternating offset).
    let offset: Double
    var controller: Controller
    var supervisor: SafetySupervisor
    var summarizer: CycleSummarizer
    /// Vented alone by a fault confined to it, while the other limbs carry on.
    var ventedAlone = false
    /// The command of the current tick.
    var command: TherapyCommand
    /// The outputs the supervisor allowed on the current tick (limb-local).
    var outputs: BootOutputs

    init(limb: LimbDescription, offset: Double, plan: TreatmentPlan, regulator: RegulatorSettings, safety: SafetySettings) {
        self.limb = limb
        self.offset = offset
        let n = limb.chambers.count
        controller = Controller(plan: plan, settings: regulator)
        supervisor = SafetySupervisor(settings: safety, chamberCount: n, tickSeconds: regulator.tickSeconds)
        summarizer = CycleSummarizer(chamberCount: n, tickSeconds: regulator.tickSeconds)
        command = .vented(chamberCount: n)
        outputs = .vented(chamberCount: n)
    }

    var chamberCount: Int { limb.chambers.count }
    /// Still giving therapy: started or waiting to, not finished, not vented by a fault.
    var isActive: Bool { !ventedAlone && !controller.isFinished && !supervisor.safeState }

    /// This tick's readings of this limb's chambers, indexed from its most distal chamber.
    var inputs = BootInputs()

    /// Takes this limb's part of the boot's inputs for the tick. The first limb's chambers are
    /// already at indices 0..<n (and nothing past its chambers is read), so it takes them as they are.
    mutating func take(_ boot: BootInputs) {
        inputs = boot
        let first = limb.firstChamber
        guard first > 0 else { return }
        for c in 0..<chamberCount {
            inputs.pressures[c] = boot.pressures[first + c]
            inputs.redundant[c] = boot.redundant[first + c]
        }
    }

    /// Steps the controller on this tick's inputs: vented before the limb's start and once it has
    /// stopped.
    mutating func step(time t: Double) {
        if ventedAlone || t + 1e-9 < offset {
            command = .vented(chamberCount: chamberCount)
            return
        }
        command = controller.step(time: t, inputs: inputs)
    }

    /// Adds this limb's outputs to the boot's: its chambers at its place, its drive's pump and
    /// relay. A limb vented alone keeps its relay open only if it has the drive to itself.
    func compose(into out: inout BootOutputs) {
        let shift = UInt32(limb.firstChamber)
        out.inlets.formUnion(ChamberSet(rawValue: outputs.inlets.rawValue << shift))
        out.exhausts.formUnion(ChamberSet(rawValue: outputs.exhausts.rawValue << shift))
        if outputs.pump { out.pumps.insert(.drive(limb.drive)) }
        if outputs.power { out.powered.insert(.drive(limb.drive)) }
    }

    /// The boot index of this limb's chamber `c`.
    func bootIndex(_ c: Int) -> Int { limb.firstChamber + c }
}
