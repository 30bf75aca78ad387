import SoleusCore
import SoleusSimulation
import Testing
@testable import SoleusRuntime

/// Pause and resume through the whole session loop, with the safety supervisor watching: a pause
/// vents every chamber without an alarm, a resume starts a new cycle, and the session still
/// delivers every cycle it prescribes.
struct PauseSessionTests {
    @Test func pauseMidCompressionVentsAndResumeDeliversEveryCycle() throws {
        var prepared = try prepare("protocols/dvt-3-chamber.toml", "hardware/sim-3-dvt.toml")
        prepared.plan.length = .cycles(2)
        guard let sim = (try prepared.makeBackend()) as? SimulatedBoot else { throw StoreError("not simulated") }
        let boot = WatchedBoot(sim)
        let log = MemorySessionLog()
        let runner = prepared.runner(backend: boot, sink: log, options: .init(speed: .max))
        // Paused at 7 s (ankle and calf holding, thigh inflating), resumed at 40 s.
        var sent: Set<OperatorCommand> = []
        let result = try runner.run(commands: { t in
            if t >= 7, !sent.contains(.pause) { sent.insert(.pause); return .pause }
            if t >= 40, !sent.contains(.resume) { sent.insert(.resume); return .resume }
            return nil
        })
        #expect(result.end.reason == .completed, "\(result.end.detail)")
        #expect(result.alarms.isEmpty, "\(result.alarms)")
        #expect(result.end.cyclesCompleted == 2)
        let kinds = log.events.map(\.kind)
        #expect(kinds.contains("operator-pause") && kinds.contains("operator-resume"))
        // Vented while paused: every chamber below 5 mmHg from 3 s after the pause until the resume.
        let paused = log.samples.filter { $0.time > 10 && $0.time < 40 }
        #expect(!paused.isEmpty && paused.allSatisfy { s in (0..<3).allSatisfy { s.pressures[$0] < 5 } })
        #expect(paused.allSatisfy { !$0.outputs.pump })
        // The resumed cycle starts at the resume and reaches every target.
        let resumed = result.summaries.filter { $0.cycle == 2 }
        #expect(resumed.count == 3 && resumed.allSatisfy { !$0.timeToTarget.isNaN })
        // Cycle 1 was cut by the pause; cycles 2 and 3 are the two prescribed.
        #expect(result.summaries.contains { $0.cycle == 3 })
        #expect(!result.summaries.contains { $0.cycle == 4 })
    }
}
