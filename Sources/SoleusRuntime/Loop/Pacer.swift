import SoleusCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// How fast session time runs against the wall clock.
public enum Speed: Sendable, Equatable, CustomStringConvertible {
    /// One session second per wall second (real hardware always runs like this).
    case realtime
    /// `n` session seconds per wall second (simulator only).
    case factor(Double)
    /// As fast as the CPU allows (simulator only).
    case max

    /// Parses `realtime`, `max` or a factor within ``InputLimits/speedFactors``.
    public init?(_ text: String) {
        switch text {
        case "realtime", "1": self = .realtime
        case "max": self = .max
        default:
            guard let n = Double(text), InputLimits.speedFactors.contains(n) else { return nil }
            self = n == 1 ? .realtime : .factor(n)
        }
    }

    /// What ``init(_:)`` accepts, for error messages.
    public static let accepted = "realtime, max, or a speed-up factor between \(formatFixed(InputLimits.speedFactors.lowerBound, decimals: 2)) and \(formatFixed(InputLimits.speedFactors.upperBound, decimals: 0))"

    public var description: String {
        switch self {
        case .realtime: "realtime"
        case .factor(let n): "\(n)x"
        case .max: "max"
        }
    }
}

/// Paces the loop and reports how late each tick started.
public protocol TickPacing {
    /// Starts session time 0 now: called on the loop thread once everything is set up, so the
    /// first tick is not late by the set-up's duration.
    mutating func begin()
    /// Sleeps until session time `t` is due (returns at once when running as fast as possible).
    func wait(untilSessionTime t: Double)
    /// How late (s) the tick for session time `t` starts.
    func lateness(atSessionTime t: Double) -> Double
    /// False when nothing is paced (as fast as possible): lateness means nothing.
    var isPaced: Bool { get }
}

/// Paces ticks on absolute deadlines of CLOCK_MONOTONIC (`clock_nanosleep` with TIMER_ABSTIME), so
/// a late tick does not shift every later one.
struct Pacer: TickPacing {
    let speed: Speed
    private(set) var start: timespec

    init(speed: Speed) {
        self.speed = speed
        start = Self.now()
    }

    mutating func begin() { start = Self.now() }

    var isPaced: Bool { speed != .max }

    static func now() -> timespec {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return ts
    }

    /// Wall seconds since `start`.
    func elapsed() -> Double {
        let n = Self.now()
        return Double(n.tv_sec - start.tv_sec) + Double(n.tv_nsec - start.tv_nsec) / 1e9
    }

    /// Wall seconds after `start` at which session time `t` is due (nil: as fast as possible).
    func due(_ t: Double) -> Double? {
        switch speed {
        case .max: nil
        case .realtime: t
        case .factor(let f): t / f
        }
    }

    func lateness(atSessionTime t: Double) -> Double {
        guard let wall = due(t) else { return 0 }
        return max(0, elapsed() - wall)
    }

    /// Sleeps until session time `t` is due.
    func wait(untilSessionTime t: Double) {
        guard let wall = due(t) else { return }
        // Whole seconds and nanoseconds apart, so no product can overflow; `Speed` bounds the
        // factor, and the clamp (about 30 000 years) guards the rest.
        let whole = min(wall.rounded(.down), 1e12)
        let ns = Int(saturating: ((wall - whole) * 1e9).rounded()) + start.tv_nsec
        var deadline = timespec(tv_sec: start.tv_sec + Int(whole) + ns / 1_000_000_000, tv_nsec: ns % 1_000_000_000)
        // EINTR (a signal such as Ctrl-C): sleep again to the same absolute deadline.
        while clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &deadline, nil) == EINTR {}
    }
}

/// A pacer on CLOCK_MONOTONIC absolute deadlines, starting now.
public func makePacer(speed: Speed) -> TickPacing { Pacer(speed: speed) }
