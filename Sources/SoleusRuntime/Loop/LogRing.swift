import SoleusCore
import Synchronization

/// One thing the loop hands the log writer. Plain values only on the tick's path (no strings to
/// build, nothing to allocate); the writer turns them into the log's words. ``note`` carries a
/// finished event for the rare, already slow ways out of a session (a hardware error, the end).
enum LogRecord: Sendable {
    case empty
    case sample(SessionSample)
    /// A controller event of limb channel `limb`, chamber index local to that limb.
    case control(ControlEvent, limb: Int)
    /// A cycle summary, its chamber a boot index.
    case summary(CycleSummary)
    /// What one compression did for the limb (simulated boots only), numbered within its limb.
    case limb(LimbCompression, number: Int)
    case alarmRaised(AlarmManager.Alarm, cycle: Int, readings: ChamberValues, hardware: String?)
    case alarmEnded(AlarmCondition, time: Double, cycle: Int, latched: Bool)
    /// Acknowledge, reset or audio pause, and the alarms it concerned.
    case command(OperatorCommand, time: Double, cycle: Int, alarms: AlarmSet)
    case limbVented(limb: Int, cause: AlarmCondition, detail: AlarmDetail, time: Double, cycle: Int)
    case safeState(limb: Int, cause: AlarmCondition, time: Double, cycle: Int)
    /// Records the loop could not hand over because the ring was full (the writer fell behind).
    case lost(LogLoss, from: Double, to: Double)
    case note(SessionEvent)
    /// Write what came before (session time `time`); `mark` counts the flushes.
    case flush(time: Double, mark: Int)
}

/// Counts of records lost, by kind.
public struct LogLoss: Sendable, Equatable {
    public var samples = 0
    public var events = 0
    public var summaries = 0
    public var total: Int { samples + events + summaries }
    public init() {}

    mutating func count(_ r: LogRecord) {
        switch r {
        case .sample: samples += 1
        case .summary: summaries += 1
        case .flush, .empty: break
        default: events += 1
        }
    }

    mutating func add(_ o: LogLoss) {
        samples += o.samples
        events += o.events
        summaries += o.summaries
    }

    /// "3 samples, 1 event".
    public var text: String {
        var parts: [String] = []
        if samples > 0 { parts.append("\(samples) sample\(samples == 1 ? "" : "s")") }
        if events > 0 { parts.append("\(events) event\(events == 1 ? "" : "s")") }
        if summaries > 0 { parts.append("\(summaries) cycle summar\(summaries == 1 ? "y" : "ies")") }
        return parts.isEmpty ? "nothing" : parts.joined(separator: ", ")
    }
}

/// A bounded single-producer, single-consumer ring: the loop thread pushes, the writer thread
/// pops. Its slots are allocated once; neither side takes a lock or waits for the other, so the
/// writer stalling on a disk can only fill the ring, never delay a tick.
final class LogRing: @unchecked Sendable {
    // Safety of @unchecked: a slot is written only by the producer before `tail` is published
    // (release) and read only by the consumer after it sees `tail` (acquire), and given back the
    // same way through `head`.
    private let slots: UnsafeMutablePointer<LogRecord>
    let capacity: Int
    /// Next slot to read (the consumer's) and next to write (the producer's), counting from 0.
    private let head = Atomic<Int>(0)
    private let tail = Atomic<Int>(0)

    init(capacity: Int) {
        self.capacity = max(2, capacity)
        slots = .allocate(capacity: self.capacity)
        slots.initialize(repeating: .empty, count: self.capacity)
    }

    deinit {
        slots.deinitialize(count: capacity)
        slots.deallocate()
    }

    /// Producer only: false, and nothing stored, when the ring is full.
    func push(_ record: LogRecord) -> Bool {
        let t = tail.load(ordering: .relaxed)
        guard t - head.load(ordering: .acquiring) < capacity else { return false }
        slots[t % capacity] = record
        tail.store(t + 1, ordering: .releasing)
        return true
    }

    /// Consumer only: the oldest record, or nil when empty.
    func pop() -> LogRecord? {
        let h = head.load(ordering: .relaxed)
        guard h < tail.load(ordering: .acquiring) else { return nil }
        let record = slots[h % capacity]
        // The slot gives up its strings here, on the writer's thread, not when the loop reuses it.
        slots[h % capacity] = .empty
        head.store(h + 1, ordering: .releasing)
        return record
    }

    /// Records waiting (either side; a snapshot).
    var count: Int { tail.load(ordering: .acquiring) - head.load(ordering: .acquiring) }
}
