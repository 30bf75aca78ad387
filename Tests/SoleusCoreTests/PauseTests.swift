import Testing
@testable import SoleusCore

/// Pause and resume: a paused controller vents everything and holds the program; resuming starts a
/// new cycle, and the abandoned cycle does not count towards the session length.
struct PauseTests {
    func run(_ plan: TreatmentPlan, pauseAt: Double, resumeAt: Double, limit: Double = 4000) -> (events: [ControlEvent], ventedWhilePaused: Bool, end: Double) {
        let settings = RegulatorSettings()
        var c = Controller(plan: plan, settings: settings)
        var boot = IdealBoot()
        var events: [ControlEvent] = []
        var vented = true
        var k = 0
        var t = 0.0
        while t < limit && !c.isFinished {
            t = Double(k) * settings.tickSeconds
            if abs(t - pauseAt) < 1e-9 { let ok = c.pause(at: t); #expect(ok) }
            if abs(t - resumeAt) < 1e-9 { let ok = c.resume(at: t); #expect(ok) }
            let out = c.step(time: t, inputs: BootInputs(pressures: boot.p)).outputs
            if t > pauseAt && t < resumeAt && (out.pump || !out.inlets.isEmpty || out.exhausts.count != plan.chamberCount) { vented = false }
            events += c.events
            c.clearEvents()
            boot.apply(out, dt: settings.tickSeconds, count: plan.chamberCount)
            k += 1
        }
        return (events, vented, t)
    }

    @Test func pausedMidCycleVentsAndResumesWithANewCycle() throws {
        let plan = try dvtPlan(length: .cycles(2))
        let r = run(plan, pauseAt: 5, resumeAt: 20)
        #expect(r.ventedWhilePaused)
        let kinds = r.events.map(\.kind)
        #expect(kinds.contains(.paused) && kinds.contains(.resumed))
        // Cycle 1 was abandoned at 5 s; cycles 2 and 3 are the two the session prescribes.
        let starts = r.events.filter { $0.kind == .cycleStarted }.map(\.time)
        #expect(starts.count == 3 && abs(starts[1] - 20) < 1e-6)
        #expect(r.events.filter { $0.kind == .inflate && $0.time > 5 && $0.time < 20 }.isEmpty)
        #expect(kinds.last == .finished)
    }

    @Test func aSessionInMinutesIsLengthenedByThePause() throws {
        let plain = run(try dvtPlan(length: .minutes(3)), pauseAt: 1e9, resumeAt: 1e9)
        let paused = run(try dvtPlan(length: .minutes(3)), pauseAt: 70, resumeAt: 130)
        #expect(paused.end >= plain.end + 60 - 1e-6)
    }

    @Test func pauseAndResumeAreRefusedWhenMeaningless() throws {
        var c = Controller(plan: try dvtPlan(), settings: RegulatorSettings())
        let early = c.resume(at: 0), first = c.pause(at: 0), again = c.pause(at: 1), back = c.resume(at: 2)
        #expect(!early && first && !again && back)
    }
}
