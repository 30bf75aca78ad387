import SoleusDaemon
import Testing

/// When the daemon withholds its systemd watchdog ping (a stalled loop gets the daemon killed and
/// restarted, and the restart vents).
struct WatchdogJudgementTests {
    @Test func aLoopWhoseClockStopsIsUnhealthyAfterTheStallTime() {
        #expect(TherapyService.loopHealthy(now: 101.9, loopStart: 90, clockMoved: 100, loopDone: false, stall: 2))
        #expect(!TherapyService.loopHealthy(now: 102.1, loopStart: 90, clockMoved: 100, loopDone: false, stall: 2))
    }

    @Test func aLoopStuckBeforeItsFirstTickIsCaught() {
        #expect(TherapyService.loopHealthy(now: 101, loopStart: 100, clockMoved: nil, loopDone: false, stall: 2))
        #expect(!TherapyService.loopHealthy(now: 103, loopStart: 100, clockMoved: nil, loopDone: false, stall: 2))
    }

    @Test func settingUpAndRecordingTheEndAreNotStalls() {
        #expect(TherapyService.loopHealthy(now: 500, loopStart: 0, clockMoved: nil, loopDone: false, stall: 2))
        #expect(TherapyService.loopHealthy(now: 500, loopStart: 100, clockMoved: 101, loopDone: true, stall: 2))
    }
}
