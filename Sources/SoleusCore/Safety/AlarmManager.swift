/// The alarm system after IEC 60601-1-8: alarms raised from the supervisor's conditions, with
/// priority, latching, acknowledgement, reset, an audio pause, and one "highest" alarm for displays.
///
/// - A condition that appears raises an alarm (again, if it had cleared).
/// - When the condition ends, a non-latching alarm clears; a latching one stays (latched) until
///   the operator resets it.
/// - Acknowledge silences the current alarms (a condition that comes back sounds again).
/// - Audio pause silences everything for ``audioPauseSeconds``.
public struct AlarmManager: Sendable {
    /// One alarm as shown to the operator.
    public struct Alarm: Sendable, Equatable {
        public var condition: AlarmCondition
        public var priority: AlarmPriority { condition.policy.priority }
        public var raisedAt: Double
        public var detail: AlarmDetail
        /// The condition is present now (false: latched after it ended).
        public var active: Bool
        public var acknowledged: Bool
    }

    /// A change for the log.
    public enum Transition: Sendable, Equatable {
        case raised(Alarm)
        /// The condition ended; `latched` if the alarm stays until reset.
        case conditionEnded(AlarmCondition, latched: Bool)
    }

    /// IEC 60601-1-8's usual audio-paused interval.
    public static let audioPauseSeconds = 120.0

    var alarms: [Alarm?]
    var lastPresent = AlarmSet()
    public private(set) var audioPausedUntil = -Double.infinity

    public init() { alarms = Array(repeating: nil, count: AlarmCondition.allCases.count) }

    /// The alarm of `condition` on display, if any (allocates nothing, unlike ``current``).
    public func alarm(_ condition: AlarmCondition) -> Alarm? { alarms[condition.rawValue] }

    /// Every alarm on display: active or latched, highest priority first, then oldest.
    public var current: [Alarm] {
        alarms.compactMap { $0 }.sorted { ($0.priority, -$0.raisedAt) > ($1.priority, -$1.raisedAt) }
    }

    /// The one alarm a display shows: highest priority, then the oldest.
    public var highest: Alarm? {
        var best: Alarm?
        for case let a? in alarms {
            guard let b = best else { best = a; continue }
            if a.priority > b.priority || (a.priority == b.priority && a.raisedAt < b.raisedAt) { best = a }
        }
        return best
    }

    /// True while an unacknowledged alarm is on and audio is not paused.
    public func audible(at time: Double) -> Bool {
        time >= audioPausedUntil && alarms.contains { $0.map { !$0.acknowledged } ?? false }
    }

    /// Feeds this tick's present conditions; appends what changed to `transitions`.
    public mutating func update(time: Double, present: AlarmSet, details: [AlarmDetail], transitions: inout [Transition]) {
        guard present != lastPresent else { return }
        for c in AlarmCondition.allCases {
            let now = present.contains(c), before = lastPresent.contains(c)
            if now && !before {
                let a = Alarm(condition: c, raisedAt: time, detail: details[c.rawValue], active: true, acknowledged: false)
                alarms[c.rawValue] = a
                transitions.append(.raised(a))
            } else if !now && before {
                let latched = c.policy.latching
                if latched { alarms[c.rawValue]?.active = false } else { alarms[c.rawValue] = nil }
                transitions.append(.conditionEnded(c, latched: latched))
            }
        }
        lastPresent = present
    }

    /// Acknowledges every current alarm; returns the ones that were not yet acknowledged.
    public mutating func acknowledge() -> [AlarmCondition] {
        var done: [AlarmCondition] = []
        for i in alarms.indices where alarms[i].map({ !$0.acknowledged }) ?? false {
            alarms[i]?.acknowledged = true
            if let c = alarms[i]?.condition { done.append(c) }
        }
        return done
    }

    /// Clears latched alarms whose condition has ended; returns them. Active ones stay.
    public mutating func reset() -> [AlarmCondition] {
        var done: [AlarmCondition] = []
        for i in alarms.indices where alarms[i].map({ !$0.active }) ?? false {
            if let c = alarms[i]?.condition { done.append(c) }
            alarms[i] = nil
        }
        return done
    }

    /// Pauses alarm audio for ``audioPauseSeconds`` from `time`.
    public mutating func pauseAudio(at time: Double) {
        audioPausedUntil = time + Self.audioPauseSeconds
    }
}
