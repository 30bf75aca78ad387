import SoleusCore
import SoleusHardware

#if canImport(Glibc)
import Glibc
#endif

/// What the loop thread got of the real-time set-up it asked for, in words for the log.
public struct RealtimeSetup: Sendable, Equatable, CustomStringConvertible {
    /// The SCHED_FIFO priority asked for; nil when the loop was not meant to run real-time (the
    /// simulator at a speed other than real time).
    public var requestedPriority: Int32?
    /// The SCHED_FIFO priority it runs at, if it got one.
    public var priority: Int32?
    /// Whether the process's memory is locked (`mlockall`), so no page fault stalls a tick.
    public var memoryLocked: Bool
    /// Why what was asked for was not granted.
    public var problems: [String]

    public var granted: Bool { requestedPriority == nil || (priority != nil && memoryLocked) }

    public var description: String {
        guard let asked = requestedPriority else { return "real-time scheduling not requested (a simulated speed, or --rt-priority 0): the loop runs at normal priority" }
        if granted { return "real-time: loop thread at SCHED_FIFO priority \(asked), memory locked" }
        let got = (priority.map { "SCHED_FIFO priority \($0)" } ?? "normal priority") + (memoryLocked ? ", memory locked" : ", memory not locked")
        return "real-time NOT granted (\(problems.joined(separator: "; "))): the loop runs at \(got) and may be late under load; grant CAP_SYS_NICE and CAP_IPC_LOCK (systemd: LimitRTPRIO=99, LimitMEMLOCK=infinity) or run as root"
    }
}

/// The control loop's own thread: SCHED_FIFO and locked memory when permitted (`mlockall`, each
/// page locked when first touched: the loop's stack and data are touched in its first ticks and
/// never paged out after), named `soleus-loop` for `ps -L` and `top -H`.
final class LoopThread: @unchecked Sendable {
    private var tid = pthread_t()
    private var joined = false

    /// Starts `body` on a new thread; it receives what it got of the real-time set-up.
    /// `priority`: the SCHED_FIFO priority to ask for (1–99), nil for a normal thread.
    init(priority: Int32?, body: @escaping @Sendable (RealtimeSetup) -> Void) throws(LoopThreadError) {
        guard let t = startThread({
            let setup = Self.prepare(priority: priority)
            body(setup)
        }) else { throw LoopThreadError(description: "cannot start the control loop thread: \(String(cString: strerror(errno)))") }
        tid = t
    }

    /// Waits for the thread to end.
    func join() {
        guard !joined else { return }
        joined = true
        pthread_join(tid, nil)
    }

    deinit { join() }

    /// Runs on the new thread before the loop: priority, memory lock.
    static func prepare(priority: Int32?) -> RealtimeSetup {
        nameThread("soleus-loop")
        var setup = RealtimeSetup(requestedPriority: priority, priority: nil, memoryLocked: false, problems: [])
        guard let priority else { return setup }
        var param = sched_param()
        param.sched_priority = priority
        let rc = pthread_setschedparam(pthread_self(), SCHED_FIFO, &param)
        if rc == 0 { setup.priority = priority } else { setup.problems.append("SCHED_FIFO: \(String(cString: strerror(rc)))") }
        // MCL_ONFAULT (Linux 4.4): lock each page when it is first touched instead of populating
        // every mapping at once. Plain MCL_CURRENT | MCL_FUTURE made the daemon's resident memory
        // jump from 30 MB to 169 MB (every thread stack and malloc arena faulted in), too much for
        // a 512 MB board; the loop's own pages are touched in its first ticks and stay locked.
        let onFault: Int32 = 4  // MCL_ONFAULT; not exported by Swift's Glibc module
        if mlockall(MCL_CURRENT | MCL_FUTURE | onFault) == 0 || mlockall(MCL_CURRENT | MCL_FUTURE) == 0 {
            setup.memoryLocked = true
        } else {
            setup.problems.append("mlockall: \(String(cString: strerror(errno)))")
        }
        return setup
    }
}

/// The loop thread could not be started.
public struct LoopThreadError: Error, CustomStringConvertible, Sendable {
    public var description: String
}

/// Names the calling thread (for `ps -L`, `top -H`), through /proc: Glibc's pthread_setname_np is
/// not visible to Swift.
func nameThread(_ name: String) {
    let fd = open("/proc/thread-self/comm", O_WRONLY)
    guard fd >= 0 else { return }
    defer { close(fd) }
    _ = name.utf8CString.withUnsafeBufferPointer { write(fd, $0.baseAddress, min(15, $0.count - 1)) }
}
