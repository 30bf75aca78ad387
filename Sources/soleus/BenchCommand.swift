import ArgumentParser
import Foundation
import SoleusConfig
import SoleusCore
import SoleusHardware
import SoleusRuntime
import SoleusSimulation

#if canImport(Glibc)
import Glibc
#endif

/// Measurements for docs/performance.md; `scripts/bench` runs them all with cyclictest beside the
/// loop. Each prints `key value` lines a script can read, then a sentence for a person.
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure the loop, the simulator, the Modbus link and the session store (see scripts/bench).",
        subcommands: [Loop.self, Simulator.self, Modbus.self, Store.self])

    /// CPU seconds (user + system) of this process so far.
    static func cpuSeconds() -> Double {
        var u = rusage()
        getrusage(RUSAGE_SELF.rawValue, &u)
        return Double(u.ru_utime.tv_sec + u.ru_stime.tv_sec) + Double(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6
    }

    /// A copy of a profile with its controller rate replaced, in a temporary file.
    static func profile(_ path: String, rateHz: Int) throws -> String {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        guard let r = text.range(of: #"rate_hz = \d+"#, options: .regularExpression) else {
            throw CLIError("\(path) has no `rate_hz = N` line under [controller] to replace")
        }
        let out = NSTemporaryDirectory() + "soleus-bench-\(getpid())-\(rateHz).toml"
        try text.replacingCharacters(in: r, with: "rate_hz = \(rateHz)").write(toFile: out, atomically: true, encoding: .utf8)
        return out
    }

    struct Loop: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run the DVT protocol in real time on the simulated boot and report how late the loop's ticks started.")

        @Option(name: .long, help: "Control loop rate (Hz, 10 to 1000).")
        var rateHz = 100
        @Option(name: .long, help: "Seconds to run.")
        var seconds = 30.0
        @Option(name: .long, help: "SCHED_FIFO priority (0: a normal thread).")
        var priority: Int32 = 80
        @Option(name: .long, help: "Protocol (TOML).")
        var protocolFile = "protocols/dvt-3-chamber.toml"
        @Option(name: .long, help: "Simulated hardware profile (TOML).")
        var hardware = "hardware/sim-3-dvt.toml"

        func validate() throws {
            if !(10...1000).contains(rateHz) { throw ValidationError("--rate-hz must be between 10 and 1000, not \(rateHz)") }
            if !(seconds > 0 && seconds <= 86_400) { throw ValidationError("--seconds must be above 0 and at most 86400, not \(seconds)") }
            if !(0...99).contains(priority) { throw ValidationError("--priority must be between 0 and 99, not \(priority)") }
        }

        func run() throws {
            let path = try Bench.profile(hardware, rateHz: rateHz)
            defer { unlink(path) }
            let prepared = try PreparedSession.load(protocolPath: protocolFile, profilePath: path)
            let dir = NSTemporaryDirectory() + "soleus-bench-loop-\(getpid())"
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let store = try SessionStore(directory: dir)
            let backend = try prepared.makeBackend()
            defer { backend.close() }
            let options = SessionRunner.Options(speed: .realtime, realtimePriority: priority == 0 ? nil : priority)
            let stopAt = monotonicSeconds() + seconds
            var setup: RealtimeSetup?
            let result = try prepared.runner(backend: backend, sink: store, options: options).run(
                commands: { _ in monotonicSeconds() >= stopAt ? .stop : nil }, started: { setup = $0 })
            let t = result.timing
            print("rate_hz \(rateHz)")
            print("ticks \(t.ticks)")
            for (k, v) in [("p50_us", t.p50), ("p99_us", t.p99), ("p999_us", t.p999), ("max_us", t.max)] { print("\(k) \(Int((v * 1e6).rounded()))") }
            print("overruns \(t.overruns)")
            print("alarms \(result.alarms.map(\.condition.description).joined(separator: ",").isEmpty ? "none" : result.alarms.map(\.condition.description).joined(separator: ","))")
            print("# \(setup.map(\.description) ?? "")")
            print("# loop at \(rateHz) Hz for \(formatFixed(seconds, decimals: 0)) s: \(t)")
        }
    }

    struct Simulator: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run a whole session as fast as possible and report simulated seconds per CPU second.")

        @Option(name: .long, help: "Protocol (TOML).")
        var protocolFile = "protocols/lymphoedema-8-chamber.toml"
        @Option(name: .long, help: "Simulated hardware profile (TOML).")
        var hardware = "hardware/sim-8-lymph.toml"
        @Flag(name: .long, help: "Log into a SQLite store (default: in memory, the simulator and controller alone).")
        var sqlite = false

        func run() throws {
            let prepared = try PreparedSession.load(protocolPath: protocolFile, profilePath: hardware)
            let dir = NSTemporaryDirectory() + "soleus-bench-sim-\(getpid())"
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let memory = MemorySessionLog()
            let sink: SessionSink = sqlite ? try SessionStore(directory: dir) : memory
            let backend = try prepared.makeBackend()
            let cpu0 = Bench.cpuSeconds(), wall0 = monotonicSeconds()
            let result = try prepared.runner(backend: backend, sink: sink, options: .init(speed: .max)).run()
            let cpu = Bench.cpuSeconds() - cpu0, wall = monotonicSeconds() - wall0
            guard case .simulated(let model) = prepared.profile.backend else { throw CLIError("\(hardware) is not a simulated boot") }
            let physics = model.physicsRate
            if !sqlite {
                let replay = try Bench.replay(memory.samples, on: model, tick: prepared.profile.regulator.tickSeconds, until: result.end.duration)
                print("simulator_cpu_s \(formatFixed(replay, decimals: 3))")
                print("simulator_factor \(Int((result.end.duration / replay).rounded()))")
                print("# the simulated boot alone (physics at \(Int(physics)) Hz, sensors read every tick, the session's outputs replayed): \(formatFixed(replay, decimals: 3)) s of CPU, \(Int((result.end.duration / replay).rounded()))× real time")
            }
            print("chambers \(prepared.profile.boot.chambers.count)")
            print("physics_hz \(Int(physics))")
            print("simulated_s \(formatFixed(result.end.duration, decimals: 1))")
            print("cpu_s \(formatFixed(cpu, decimals: 3))")
            print("wall_s \(formatFixed(wall, decimals: 3))")
            print("realtime_factor \(Int((result.end.duration / cpu).rounded()))")
            print("# \(formatFixed(result.end.duration / 60, decimals: 1)) simulated minutes (\(result.end.reason.rawValue)) in \(formatFixed(cpu, decimals: 3)) s of CPU, logging \(sqlite ? "to SQLite" : "in memory"): \(Int((result.end.duration / cpu).rounded()))× real time")
        }
    }

    /// Drives a fresh simulated boot with a session's outputs (from its samples) as the loop
    /// would: read every tick, write every tick. Returns the CPU seconds of this thread.
    static func replay(_ samples: [SessionSample], on model: BootParameters, tick: Double, until end: Double) throws -> Double {
        let boot = SimulatedBoot(parameters: model)
        var ts0 = timespec(), ts1 = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts0)
        var i = 0, k = 0
        while Double(k) * tick <= end {
            let t = Double(k) * tick
            while i + 1 < samples.count && samples[i + 1].time <= t + 1e-9 { i += 1 }
            _ = try boot.read(at: t)
            try boot.write(samples.isEmpty ? .vented(chamberCount: boot.chamberCount) : samples[i].outputs)
            k += 1
        }
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts1)
        return Double(ts1.tv_sec - ts0.tv_sec) + Double(ts1.tv_nsec - ts0.tv_nsec) / 1e9
    }

    struct Modbus: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Time Modbus read transactions against a device (e.g. `soleus sim serve`), then count transactions per tick in a real-time session.")

        @Option(name: .long, help: "Hardware profile with a [modbus] link and a [simulation] model.")
        var hardware = "hardware/modbus-tcp-wago.toml"
        @Option(name: .long, help: "The device's endpoint (tcp://HOST:PORT or rtu:DEVICE,BAUD,8N1).")
        var modbus: String
        @Option(name: .long, help: "Read transactions to time.")
        var transactions = 2000
        @Option(name: .long, help: "Seconds of session to count transactions per tick.")
        var seconds = 10.0

        func validate() throws {
            if !(1...1_000_000).contains(transactions) { throw ValidationError("--transactions must be between 1 and 1000000, not \(transactions)") }
            if !(seconds > 0 && seconds <= 3600) { throw ValidationError("--seconds must be above 0 and at most 3600, not \(seconds)") }
        }

        func run() throws {
            let profile = try HardwareProfileFile.load(path: hardware).overridingModbus(modbus)
            guard let wiring = profile.wiring, let settings = wiring.modbus else { throw CLIError("\(hardware) has no [modbus] link") }
            let map = ModbusMap(wiring: wiring)
            guard let module = map.modules.first(where: { $0.inputSpan != nil || $0.holdingSpan != nil }), let span = module.inputSpan ?? module.holdingSpan else {
                throw CLIError("\(hardware): no module with pressure registers to read")
            }
            var rtts: [Double] = []
            rtts.reserveCapacity(transactions)
            let buffer = UnsafeMutableBufferPointer<UInt16>.allocate(capacity: span.count)
            defer { buffer.deallocate() }
            do {
                let context = try ModbusContext(settings.endpoint)
                defer { context.close() }
                try context.connect()
                try context.setUnit(module.module.unit)
                context.setTimeout(1)
                for _ in 0..<transactions {
                    let t0 = monotonicSeconds()
                    try context.readRegisters(input: module.inputSpan != nil, start: span.lowerBound, into: buffer)
                    rtts.append(monotonicSeconds() - t0)
                }
            } catch {
                throw CLIError("modbus \(settings.endpoint) module \(module.module.name) (unit \(module.module.unit)): \(error) after \(rtts.count) of \(transactions) reads; is a device (e.g. `soleus sim serve --hardware \(hardware) --listen \(settings.endpoint)`) answering there?")
            }
            rtts.sort()
            func q(_ p: Double) -> Double { rtts[min(rtts.count - 1, Int((p * Double(rtts.count)).rounded(.up)) - 1)] }
            print("rtt_p50_us \(Int((q(0.5) * 1e6).rounded()))")
            print("rtt_p99_us \(Int((q(0.99) * 1e6).rounded()))")
            print("rtt_max_us \(Int(((rtts.last ?? 0) * 1e6).rounded()))")

            // Transactions per tick in a real session through the Modbus backend.
            let prepared = try PreparedSession.load(protocolPath: "protocols/dvt-3-chamber.toml", profilePath: hardware, modbus: modbus)
            let backend = try prepared.makeBackend()
            defer { backend.close() }
            guard let link = (backend as? HardwareBoot)?.modbus else { throw CLIError("not a Modbus backend") }
            let before = link.counters
            let stopAt = monotonicSeconds() + seconds
            let result = try prepared.runner(backend: backend, sink: MemorySessionLog(), options: .init(speed: .realtime, realtimePriority: nil)).run(
                commands: { _ in monotonicSeconds() >= stopAt ? .stop : nil })
            let after = link.counters
            let ticks = result.timing.ticks
            let perTick = Double(after.transactions - before.transactions) / Double(max(1, ticks))
            print("transactions \(after.transactions - before.transactions)")
            print("errors \(after.errors - before.errors)")
            print("ticks \(ticks)")
            print("transactions_per_tick \(formatFixed(perTick, decimals: 2))")
            print("# \(rtts.count) reads of \(span.count) registers from unit \(module.module.unit) at \(settings.endpoint): p50 \(LoopTiming.format(q(0.5))), p99 \(LoopTiming.format(q(0.99))); a \(formatFixed(seconds, decimals: 0)) s session at \(formatFixed(1 / prepared.profile.regulator.tickSeconds, decimals: 0)) Hz made \(formatFixed(perTick, decimals: 2)) transactions per tick (poll \(formatFixed(settings.pollRate, decimals: 0)) Hz)")
        }
    }

    struct Store: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write a 60-minute session's samples into a session store as the writer does (one batch per second), and report samples per second.")

        @Option(name: .long, help: "Data directory for the store (it keeps the session, for `soleus export`).")
        var data: String
        @Option(name: .long, help: "Chambers per sample.")
        var chambers = 8
        @Option(name: .long, help: "Session minutes.")
        var minutes = 60.0

        func validate() throws {
            if !(1...maxChambers).contains(chambers) { throw ValidationError("--chambers must be between 1 and \(maxChambers), not \(chambers)") }
            if !(minutes >= 1.0 / 60 && minutes <= 600) { throw ValidationError("--minutes must be between 1/60 and 600, not \(minutes)") }
        }

        func run() throws {
            let store = try SessionStore(directory: data)
            let names = (0..<chambers).map { "c\($0)" }
            let header = SessionHeader(protocolName: "bench", protocolPath: "-", protocolText: "", profileName: "bench", profilePath: "-",
                                       profileText: "", backend: "bench", chambers: names, speed: "max", level: nil)
            let id = try store.begin(header)
            let seconds = Int(minutes * 60)
            var batch = LogBatch()
            var pressures = ChamberValues()
            let t0 = monotonicSeconds(), cpu0 = Bench.cpuSeconds()
            for s in 0..<seconds {
                batch.samples.removeAll(keepingCapacity: true)
                for k in 0..<20 {
                    let t = Double(s) + Double(k) / 20
                    for c in 0..<chambers { pressures[c] = 40 + 10 * sin(t + Double(c)) }
                    batch.samples.append(SessionSample(time: t, pressures: pressures, outputs: BootOutputs(pump: k < 10, inlets: [], exhausts: .all(chambers))))
                }
                try store.append(batch, to: id)
            }
            let wall = monotonicSeconds() - t0, cpu = Bench.cpuSeconds() - cpu0
            try store.end(id, SessionEnd(reason: .completed, detail: "benchmark", duration: Double(seconds), cyclesCompleted: 0))
            let n = seconds * 20
            print("session \(id)")
            print("samples \(n)")
            print("samples_per_s \(Int((Double(n) / wall).rounded()))")
            print("# \(n) samples of \(chambers) chambers in \(seconds) one-second batches: \(formatFixed(wall, decimals: 2)) s wall, \(formatFixed(cpu, decimals: 2)) s CPU, \(Int((Double(n) / wall).rounded())) samples/s (\(Int((Double(n) / wall / 20).rounded()))× what one session needs)")
        }
    }
}
