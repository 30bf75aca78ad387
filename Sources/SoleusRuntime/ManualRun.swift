import SoleusConfig
import SoleusCore
import SoleusHardware

/// `soleus hw manual`: one bench action for a bounded time with the safety supervisor active on
/// every tick, then the vented state. For wiring checks on a real boot: does this valve click,
/// does this chamber fill, does the pump run.
public struct ManualRun {
    public enum Action: Sendable, Equatable {
        /// Pump on and the chamber's inlet open until it reads `target`, then held (inlet closed).
        case inflate(chamber: Int, target: Double)
        /// The pump alone, every inlet closed (it runs against its own relief).
        case pump
        /// One chamber's inlet opened, pump off (listen for the click).
        case openInlet(chamber: Int)
        /// One chamber's exhaust closed, pump off.
        case closeExhaust(chamber: Int)
    }

    /// The longest a manual action may last (s).
    public static let maxSeconds = 60.0

    public struct Outcome: Sendable {
        /// Pressures at the end of the action, before venting.
        public var pressures: [Double]
        /// The alarm that stopped it early, if any.
        public var stoppedBy: AlarmCondition?
        public var seconds: Double
    }

    let profile: HardwareProfile
    let action: Action
    let seconds: Double

    public init(profile: HardwareProfile, action: Action, seconds: Double) {
        self.profile = profile
        self.action = action
        self.seconds = min(max(0, seconds), Self.maxSeconds)
    }

    /// Runs the action on `backend`, paced by `pacing` (real time on hardware), then vents.
    public func run(on backend: BootBackend, pacing: TickPacing, stop: () -> Bool = { false }) throws(HardwareError) -> Outcome {
        var pacing = pacing
        pacing.begin()
        let n = profile.boot.chambers.count
        let tick = profile.regulator.tickSeconds
        var supervisor = SafetySupervisor(settings: profile.safety, chamberCount: n, tickSeconds: tick)
        var k = 0
        var t = 0.0
        var last = BootInputs()
        defer { backend.vent() }
        while t < seconds && !stop() {
            pacing.wait(untilSessionTime: t)
            last = try backend.read(at: t)
            let command = self.command(inputs: last, chambers: n)
            let out = supervisor.check(time: t, inputs: last, command: command, lateness: pacing.lateness(atSessionTime: t))
            try backend.write(out)
            if supervisor.safeState {
                return Outcome(pressures: (0..<n).map { last.pressures[$0] }, stoppedBy: supervisor.cause, seconds: t)
            }
            k += 1
            t = Double(k) * tick
        }
        return Outcome(pressures: (0..<n).map { last.pressures[$0] }, stoppedBy: nil, seconds: t)
    }

    func command(inputs: BootInputs, chambers n: Int) -> TherapyCommand {
        var out = BootOutputs(pump: false, inlets: [], exhausts: .all(n), power: true)
        var setPoints = ChamberValues()
        switch action {
        case .inflate(let c, let target):
            setPoints[c] = target
            out.exhausts.set(c, false)
            if inputs.pressures[c] < target {
                out.pump = true
                out.inlets.set(c, true)
            }
        case .pump: out.pump = true
        case .openInlet(let c): out.inlets.set(c, true)
        case .closeExhaust(let c): out.exhausts.set(c, false)
        }
        return TherapyCommand(outputs: out, setPoints: setPoints)
    }
}
