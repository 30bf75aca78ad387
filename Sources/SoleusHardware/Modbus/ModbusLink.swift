import SoleusCore

#if canImport(Glibc)
import Glibc
#endif

/// The Modbus side of a real boot: an I/O thread that polls every module's pressures and writes
/// their outputs, meeting the control loop through two timestamped latest-value mailboxes, so a
/// slow or dead module can never stall the loop (`docs/hardware.md`, "Modbus").
///
/// - Readings: one read transaction per module (per register table) per poll; a reply updates the
///   module's pressures and time. A failed transaction (after the profile's retries) updates
///   nothing, so the readings' age grows and the supervisor vents past `stale_after_s`.
/// - Outputs: written when they change and at least every `refresh_s`. When the loop's last
///   command is older than the lease, the I/O thread writes the vented state by itself (Klipper's
///   outputs that fall back unless refreshed): a hung loop cannot leave a chamber inflating.
///
/// Threads: the control loop calls ``latest()``, ``command(_:)``, ``ventAndWait(timeout:)`` and
/// ``stop()``; the I/O thread owns the libmodbus context. Shared state lives in ``Shared`` under
/// ``monitor``.
public final class ModbusLink: @unchecked Sendable {
    public let settings: ModbusSettings
    public let map: ModbusMap
    let chamberCount: Int

    struct Shared {
        var pressures = ChamberValues()
        var redundant = ChamberValues()
        /// Monotonic time of each module's last good read (-inf: never).
        var readAt: [Double]
        var lastError: String?
        var errors = 0
        var transactions = 0
        var command: BootOutputs
        var commandAt = -Double.infinity
        var commandSeq: UInt64 = 0
        /// The command sequence number whose outputs every module has acknowledged.
        var writtenSeq: UInt64 = 0
        var writtenVented = false
        var stop = false
        var connected = false
    }

    let monitor = Monitor()
    var shared: Shared
    var thread: pthread_t?

    public init(settings: ModbusSettings, wiring: BootWiring, chamberCount: Int) {
        self.settings = settings
        map = ModbusMap(wiring: wiring)
        self.chamberCount = chamberCount
        shared = Shared(readAt: Array(repeating: -.infinity, count: settings.modules.count), command: .vented(chamberCount: chamberCount))
    }

    deinit { stop() }

    /// Starts the I/O thread. It connects (and reconnects) by itself; until the first replies
    /// arrive the readings are infinitely old.
    public func start() throws(HardwareError) {
        guard thread == nil else { return }
        let context: ModbusContext
        do { context = try ModbusContext(settings.endpoint) } catch {
            throw HardwareError(device: "modbus \(settings.endpoint)", message: error.text)
        }
        context.setTimeout(settings.responseTimeout)
        let worker = Worker(link: self, context: context)
        guard let t = startThread({ worker.run() }) else {
            throw HardwareError(device: "modbus \(settings.endpoint)", message: "could not start the I/O thread")
        }
        thread = t
    }

    /// Stops the I/O thread (after it has written what it was last told) and closes the link.
    public func stop() {
        guard let t = thread else { return }
        monitor.withLock {
            shared.stop = true
            monitor.broadcast()
        }
        pthread_join(t, nil)
        thread = nil
    }

    /// The latest readings, how old they are (s), and the last error.
    public func latest() -> (pressures: ChamberValues, redundant: ChamberValues, age: Double, error: String?) {
        let now = monotonicSeconds()
        return monitor.withLock {
            var oldest = Double.infinity
            for (i, m) in map.modules.enumerated() where m.readsPerPoll > 0 { oldest = min(oldest, shared.readAt[i]) }
            let age = oldest == .infinity ? 0 : now - oldest
            return (shared.pressures, shared.redundant, age, shared.lastError)
        }
    }

    /// Posts the loop's outputs; the I/O thread writes them if they changed.
    public func command(_ outputs: BootOutputs) {
        let now = monotonicSeconds()
        monitor.withLock {
            let changed = outputs != shared.command
            shared.command = outputs
            shared.commandAt = now
            if changed {
                shared.commandSeq &+= 1
                monitor.broadcast()
            }
        }
    }

    /// Posts the vented state and waits (at most `timeout` s) until every module has taken it.
    /// True when confirmed.
    @discardableResult
    public func ventAndWait(timeout: Double) -> Bool {
        command(.vented(chamberCount: chamberCount))
        let deadline = monotonicSeconds() + timeout
        return monitor.withLock {
            let seq = shared.commandSeq
            while shared.writtenSeq < seq && !shared.stop && monotonicSeconds() < deadline && thread != nil {
                monitor.wait(until: deadline)
            }
            return shared.writtenSeq >= seq || (shared.writtenVented && shared.command.isVented(chamberCount: chamberCount))
        }
    }

    /// Counters for logs and `hw check`.
    public var counters: (transactions: Int, errors: Int) { monitor.withLock { (shared.transactions, shared.errors) } }
}

/// The I/O thread's own state: the libmodbus context and the output images last written.
private final class Worker: @unchecked Sendable {
    let link: ModbusLink
    let context: ModbusContext
    var connected = false
    var coilImages: [[UInt8]]
    var registerImages: [[UInt16]]
    var written: [Bool]
    var lastWrite: [Double]
    var readBuffer = [UInt16](repeating: 0, count: 125)
    var lastPressures = ChamberValues()
    var lastRedundant = ChamberValues()

    init(link: ModbusLink, context: ModbusContext) {
        self.link = link
        self.context = context
        let modules = link.map.modules
        coilImages = modules.map(\.emptyImages.coils)
        registerImages = modules.map(\.emptyImages.registers)
        written = Array(repeating: false, count: modules.count)
        lastWrite = Array(repeating: -.infinity, count: modules.count)
    }

    var settings: ModbusSettings { link.settings }

    func run() {
        let period = 1 / settings.pollRate
        var nextPoll = monotonicSeconds()
        while true {
            let (stop, command, commandAt, seq) = link.monitor.withLock { (link.shared.stop, link.shared.command, link.shared.commandAt, link.shared.commandSeq) }
            let now = monotonicSeconds()
            if !connected { connect() }
            // Past the lease, or stopping: the vented state, whatever the loop last said.
            let leaseOver = now - commandAt > settings.leaseSeconds
            let outputs = stop || leaseOver ? BootOutputs.vented(chamberCount: link.chamberCount) : command
            if connected { writeOutputs(outputs, seq: stop || leaseOver ? nil : seq, now: now) }
            if stop { break }
            if now >= nextPoll {
                if connected { poll() }
                nextPoll += period
                if nextPoll < now { nextPoll = now + period }
            }
            link.monitor.withLock {
                if !link.shared.stop && link.shared.commandSeq == seq { link.monitor.wait(until: nextPoll) }
            }
        }
        context.close()
    }

    func connect() {
        do throws(ModbusError) {
            try context.connect()
            connected = true
            for i in written.indices { written[i] = false }
            for m in link.map.modules {
                try context.setUnit(m.module.unit)
                for w in m.module.watchdog { try transact { () throws(ModbusError) in try context.writeRegister(w.register, w.value) } }
            }
            link.monitor.withLock { link.shared.connected = true }
        } catch {
            fail(module: nil, error)
            context.close()
            connected = false
            // Do not spin on a dead endpoint: try again after a poll period.
            var ts = timespec(tv_sec: 0, tv_nsec: Int(min(0.5, 1 / settings.pollRate) * 1e9))
            nanosleep(&ts, nil)
        }
    }

    /// Runs one transaction with the profile's retries.
    func transact(_ body: () throws(ModbusError) -> Void) throws(ModbusError) {
        var attempt = 0
        while true {
            do {
                try body()
                link.monitor.withLock { link.shared.transactions += 1 }
                return
            } catch {
                attempt += 1
                if attempt > settings.retries { throw error }
            }
        }
    }

    func fail(module: Int?, _ error: ModbusError) {
        let who = module.map { i in "module \(settings.modules[i].name) (unit \(settings.modules[i].unit))" } ?? "connect"
        let text = "modbus \(settings.endpoint) \(who): \(error.text)"
        link.monitor.withLock {
            link.shared.lastError = text
            link.shared.errors += 1
        }
        // A garbled, short or late reply may leave bytes behind: drop them before the next request.
        if !error.isException { context.flush() }
        // A broken connection (not a module's exception) is reopened on the next pass.
        if !error.isException && (error.code == ECONNRESET || error.code == EPIPE || error.code == ECONNREFUSED || error.code == EBADF) {
            context.close()
            connected = false
        }
    }

    func poll() {
        var allRead = true
        defer {
            // A whole poll answered: the link is healthy again, so no old error is reported as
            // the cause of a later alarm.
            if allRead { link.monitor.withLock { link.shared.lastError = nil } }
        }
        for (i, m) in link.map.modules.enumerated() where m.readsPerPoll > 0 {
            do {
                try context.setUnit(m.module.unit)
                if let s = m.inputSpan { try read(span: s, input: true, pressures: m.inputPressures) }
                if let s = m.holdingSpan { try read(span: s, input: false, pressures: m.holdingPressures) }
                let now = monotonicSeconds()
                link.monitor.withLock {
                    link.shared.pressures = lastPressures
                    link.shared.redundant = lastRedundant
                    link.shared.readAt[i] = now
                }
            } catch {
                allRead = false
                fail(module: i, error)
                if !connected { return }
            }
        }
    }

    func read(span: ClosedRange<UInt16>, input: Bool, pressures: [PressureWiring]) throws(ModbusError) {
        let count = Int(span.upperBound - span.lowerBound) + 1
        try transact { () throws(ModbusError) in
            try readBuffer.withUnsafeMutableBufferPointer { (b) throws(ModbusError) in
                try context.readRegisters(input: input, start: span.lowerBound, into: UnsafeMutableBufferPointer(rebasing: b[0..<count]))
            }
        }
        for p in pressures {
            let v = p.calibration.mmHg(raw: readBuffer[Int(p.register - span.lowerBound)])
            if p.redundant { lastRedundant[p.chamber] = v } else { lastPressures[p.chamber] = v }
        }
    }

    func writeOutputs(_ outputs: BootOutputs, seq: UInt64?, now: Double) {
        var all = true
        for (i, m) in link.map.modules.enumerated() where m.coilSpan != nil || m.registerSpan != nil {
            var coils = coilImages[i]
            var registers = registerImages[i]
            m.coilImage(for: outputs, into: &coils)
            m.registerImage(for: outputs, into: &registers)
            let due = !written[i] || coils != coilImages[i] || registers != registerImages[i] || now - lastWrite[i] >= settings.refreshSeconds
            guard due else { continue }
            do {
                try context.setUnit(m.module.unit)
                if let s = m.coilSpan { try transact { () throws(ModbusError) in try coils.withUnsafeBufferPointer { (b) throws(ModbusError) in try context.writeCoils(start: s.lowerBound, b) } } }
                if let s = m.registerSpan { try transact { () throws(ModbusError) in try registers.withUnsafeBufferPointer { (b) throws(ModbusError) in try context.writeRegisters(start: s.lowerBound, b) } } }
                coilImages[i] = coils
                registerImages[i] = registers
                written[i] = true
                lastWrite[i] = now
            } catch {
                written[i] = false
                all = false
                fail(module: i, error)
                if !connected { break }
            }
        }
        let vented = outputs.isVented(chamberCount: link.chamberCount)
        link.monitor.withLock {
            if all, let seq { link.shared.writtenSeq = max(link.shared.writtenSeq, seq) }
            link.shared.writtenVented = all && vented
            link.monitor.broadcast()
        }
    }
}

extension ModbusLink {
    /// Waits until every module with pressures has answered once. False on timeout.
    public func waitForFirstReadings(timeout: Double) -> Bool {
        let deadline = monotonicSeconds() + timeout
        while monotonicSeconds() < deadline {
            let ok = monitor.withLock {
                map.modules.indices.allSatisfy { i in map.modules[i].readsPerPoll == 0 || shared.readAt[i] > -.infinity }
            }
            if ok { return true }
            var ts = timespec(tv_sec: 0, tv_nsec: 5_000_000)
            nanosleep(&ts, nil)
        }
        return false
    }
}
