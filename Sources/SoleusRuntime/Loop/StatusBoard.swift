import SoleusCore
import Synchronization

/// A snapshot of a running session for displays (the CLI's progress line, the daemon's status),
/// published by the loop about twenty times per second. Fixed-size: copying it allocates nothing.
public struct SessionProgress: Sendable {
    public var time: Double
    public var part: CyclePart = .main
    public var cycle = 0
    public var set = 1
    public var chamberCount: Int
    /// Per chamber, boot indices `0..<chamberCount`.
    public var pressures = ChamberValues()
    public var setPoints = ChamberValues()
    public var phases = InlineArray<32, Phase>(repeating: .waiting)
    public var outputs = BootOutputs(pumps: [], inlets: [], exhausts: [], powered: [])
    /// The alarm a display shows now, if any.
    public var highestAlarm: AlarmManager.Alarm?
    /// Every alarm on display (active, or latched until reset); of those, the conditions still
    /// present and the ones acknowledged.
    public var alarmsShown = AlarmSet()
    public var alarmsActive = AlarmSet()
    public var alarmsAcknowledged = AlarmSet()
    /// Session time until which the alarm audio is paused.
    public var audioPausedUntil = -Double.infinity
    /// True while the operator has therapy paused (every chamber vented).
    public var paused = false
    /// How late the loop's ticks have started so far.
    public var timing: LoopTiming

    public init(time: Double, chamberCount: Int, timing: LoopTiming) {
        self.time = time
        self.chamberCount = chamberCount
        self.timing = timing
    }
}

/// Where the loop leaves its latest ``SessionProgress`` for readers on other threads. The loop
/// never waits for it: if a reader is copying the snapshot out, that publication is skipped.
final class StatusBoard: Sendable {
    private let latestValue = Mutex<SessionProgress?>(nil)

    /// Loop side: false when a reader held the board and nothing was published.
    @discardableResult
    func publish(_ p: SessionProgress) -> Bool {
        latestValue.withLockIfAvailable { $0 = p } != nil
    }

    /// Reader side.
    func latest() -> SessionProgress? { latestValue.withLock { $0 } }
}
