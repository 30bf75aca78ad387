import ArgumentParser
import SoleusConfig
import SoleusCore
import SoleusHardware
import SoleusRuntime
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Set by SIGINT/SIGTERM; polled by the session loop every tick.
let stopRequested = Atomic<Bool>(false)

struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a protocol on a boot and log the session.",
        discussion: "Ctrl-C stops the session cleanly: all chambers vent and the log records the stop.")

    @Argument(help: "Protocol file (TOML).")
    var protocolFile: String

    @Option(name: .long, help: "Hardware profile (TOML).")
    var hardware: String

    // `.unconditional`: a value such as -1 reaches the check below instead of reading as a flag.
    @Option(name: .long, parsing: .unconditional, help: "realtime, a speed-up factor such as 60 (0.01 to 10000), or max (simulated boot only).")
    var speed: String = "realtime"

    @Option(name: .long, parsing: .unconditional, help: "Intensity level (protocols with [intensity] levels).")
    var level: Int?

    @Option(name: .long, help: "The limb a single-limb protocol runs on, on a boot of two limbs (e.g. left).")
    var limb: String?

    @Option(name: .long, help: "Replace the profile's Modbus endpoint (tcp://HOST:PORT or rtu:DEVICE,BAUD,8N1).")
    var modbus: String?

    @Option(name: .long, help: "Override the simulator's noise seed.")
    var seed: UInt64?

    @Option(name: .long, help: "SCHED_FIFO priority of the control loop thread in real time (1 to 99; 0: a normal thread).")
    var rtPriority: Int32 = 80

    @Flag(name: .long, help: "Print no live progress.")
    var quiet = false

    @Flag(name: .long, help: "Skip the garment check (the short test inflation that finds which garment is connected) before therapy.")
    var noGarmentCheck = false

    @Option(name: .long, help: "Simulated boot only: connect another profile's garment instead (a profile file), or none, to try the garment check.")
    var simulateGarment: String?

    @OptionGroup var data: DataOptions

    func validate() throws {
        if Speed(speed) == nil { throw ValidationError("--speed must be \(Speed.accepted), not \"\(speed)\"") }
        if let level, level < 1 { throw ValidationError("--level must be 1 or more, not \(level)") }
        if !(0...99).contains(rtPriority) { throw ValidationError("--rt-priority must be between 0 and 99, not \(rtPriority)") }
    }

    func run() throws {
        guard let speed = Speed(speed) else { throw ValidationError("--speed must be \(Speed.accepted)") }
        let prepared: PreparedSession
        do { prepared = try PreparedSession.load(protocolPath: protocolFile, profilePath: hardware, level: level, limb: limb, modbus: modbus) } catch {
            printError(error.description)
            throw ExitCode(2)
        }
        for w in prepared.profile.warnings { printError("\(hardware): warning: \(w)") }
        for w in prepared.timingWarnings { printError(w) }
        if speed != .realtime && !prepared.isSimulated {
            throw CLIError("--speed \(speed) needs the simulated backend; real hardware runs in real time")
        }
        let (store, lock) = try data.openForRun()
        defer { withExtendedLifetime(lock) {} }
        let backend: BootBackend
        do {
            if let other = simulateGarment {
                backend = try prepared.makeSimulatedBoot(seed: seed, wearing: other == "none" ? nil : try HardwareProfileFile.load(path: other))
            } else {
                backend = try prepared.makeBackend(seed: seed)
            }
        } catch {
            throw CLIError("\(error); nothing was run")
        }
        // Every way out of this function vents the boot and releases its lines and modules.
        defer { backend.close() }
        var options = SessionRunner.Options(speed: speed, realtimePriority: rtPriority == 0 ? nil : rtPriority)
        if !noGarmentCheck {
            do { options.garment = try prepared.checkGarment(on: backend, speed: speed, catalogue: .beside(profilePath: hardware)) } catch {
                throw CLIError("\(error); the boot was vented, and nothing was run")
            }
            if let g = options.garment { print((g.accepted ? "" : "REFUSED: ") + g.text) } else {
                printError("\(hardware): warning: no [simulation] model of this garment: the garment check cannot tell which garment is connected")
            }
        }
        let runner = prepared.runner(backend: backend, sink: store, options: options)

        // A parent may have started us with these signals blocked (a blocked SIGINT would make
        // Ctrl-C useless): the handlers are installed with them unblocked.
        installStopHandlers()
        defer {
            signal(SIGINT, SIG_DFL)
            signal(SIGTERM, SIG_DFL)
        }

        let tty = isatty(STDOUT_FILENO) == 1
        print("Running \"\(prepared.plan.name)\" on \(backend.summary), speed \(speed); Ctrl-C stops and vents.")
        fflush(nil)
        let display = ProgressDisplay(plan: prepared.plan, chambers: prepared.profile.boot.chambers, tty: tty, quiet: quiet)
        let result: SessionResult
        do {
            result = try runner.run(
                commands: { _ in stopRequested.load(ordering: .relaxed) ? .stop : nil },
                progress: { display.show($0) },
                started: { setup in if speed == .realtime && !setup.granted { printError("warning: \(setup)") } })
        } catch let e as SessionLogError {
            backend.vent()
            display.finish()
            throw CLIError(e.description)
        } catch {
            backend.vent()
            display.finish()
            throw CLIError("\(error); the boot was vented, and nothing was run")
        }
        display.finish()
        printResult(result, chambers: prepared.profile.boot.chambers, dataDirectory: data.directory)
        if result.end.reason == .storageFailure { printError("warning: the session log is incomplete: see session \(result.sessionID)") }
        if result.end.reason != .completed { throw ExitCode(result.end.reason == .stopped ? 130 : 1) }
    }

    func printResult(_ r: SessionResult, chambers: [String], dataDirectory: String) {
        print("Session \(r.sessionID): \(r.end.reason.rawValue) — \(r.end.detail)")
        print("  \(r.end.cyclesCompleted) main cycles, \(formatDuration(r.end.duration)) including the final vent")
        if r.timing.paced { print("  control loop: \(r.timing)") }
        if let v = r.ventedAfter {
            print("  all chambers below 5 mmHg \(formatFixed(v, decimals: 2)) s after the end")
        } else {
            print("  WARNING: venting not confirmed: \(r.ventUnconfirmed ?? "within the timeout")")
        }
        if !r.summaries.isEmpty {
            for line in chamberTable(r.summaries.map { (chambers[$0.chamber], $0) }, chambers: chambers) { print("  " + line) }
        }
        if !r.alarms.isEmpty {
            print("  alarms raised:")
            for a in r.alarms {
                let chamber = a.detail.chamber >= 0 ? " (\(chambers[a.detail.chamber]))" : ""
                print("    \(formatDuration(a.time))  \(a.condition.policy.priority) \(a.condition)\(chamber)")
            }
        }
        print("Details: soleus show \(r.sessionID) --data \(dataDirectory)")
    }
}

/// Live progress: one redrawn line on a terminal, one line per cycle otherwise.
final class ProgressDisplay {
    let plan: TreatmentPlan
    let tty: Bool
    let quiet: Bool
    var lastCycle = 0
    var drew = false

    let chambers: [String]

    init(plan: TreatmentPlan, chambers: [String], tty: Bool, quiet: Bool) {
        self.plan = plan
        self.chambers = chambers
        self.tty = tty
        self.quiet = quiet
    }

    func show(_ p: SessionProgress) {
        if quiet { return }
        let total: String
        switch plan.length {
        case .cycles(let n): total = "/\(n)"
        case .sets(let c, let per, _): total = " (set \(p.set)/\(c), \(per) per set)"
        case .minutes(let m): total = " of \(formatFixed(m, decimals: 0)) min"
        }
        var line = "\(formatDuration(p.time))  \(p.part.rawValue) cycle \(p.cycle)\(total)  "
        for (i, name) in chambers.enumerated() {
            let mark = p.outputs.inlets.contains(index: i) ? "▲" : (p.phases[i].isPressurised ? "=" : "▽")
            line += "\(name) \(pad(formatMMHg(p.pressures[i]), 5))\(mark) "
        }
        line += " pump \(p.outputs.pump ? "on " : "off")"
        if p.timing.paced { line += "  late p99 \(LoopTiming.format(p.timing.p99)) max \(LoopTiming.format(p.timing.max))" }
        if let a = p.highestAlarm { line += "  ALARM \(a.priority) \(a.condition)" + (a.active ? "" : " (latched)") }
        if tty {
            print("\u{1B}[2K\r" + line, terminator: "")
            fflush(nil)
            drew = true
        } else if p.cycle != lastCycle {
            lastCycle = p.cycle
            print(line)
        }
    }

    func finish() {
        if drew { print("") }
    }
}

func pad(_ s: String, _ width: Int) -> String {
    s.count >= width ? s : String(repeating: " ", count: width - s.count) + s
}

func formatDuration(_ seconds: Double) -> String {
    let s = Int(saturating: seconds.rounded(.down))
    let h = s / 3600, m = (s / 60) % 60, sec = s % 60
    func two(_ v: Int) -> String { v < 10 ? "0\(v)" : "\(v)" }
    return "\(two(h)):\(two(m)):\(two(sec))"
}

/// Per-chamber aggregate over the main cycles: how far each compression's peak was from its own
/// target (a chamber's target can differ between phases, and while pressures build up), the
/// highest target, start offset and time to target.
func chamberTable(_ rows: [(String, CycleSummary)], chambers: [String]) -> [String] {
    let width = max(12, (chambers.map(\.count).max() ?? 0) + 2)
    var out = ["chamber".padding(width) + "pulses  target  peak−target mean   min    max   start offset  time to target"]
    for name in chambers {
        let s = rows.filter { $0.0 == name && $0.1.part == .main }.map(\.1)
        guard !s.isEmpty else { continue }
        let errors = s.map { $0.peak - $0.target }
        let mean = errors.reduce(0, +) / Double(errors.count)
        let offsets = s.map(\.inflateOffset)
        let reached = s.map(\.timeToTarget).filter { !$0.isNaN }
        let offset = offsets.reduce(0, +) / Double(offsets.count)
        let ttt = reached.isEmpty ? "never" : formatFixed(reached.reduce(0, +) / Double(reached.count), decimals: 2) + " s"
        func signed(_ v: Double) -> String { (v >= 0 ? "+" : "") + formatMMHg(v) }
        out.append(
            name.padding(width) + pad("\(s.count)", 6) + pad(formatMMHg(s.map(\.target).max() ?? 0), 8) + pad(signed(mean), 17)
                + pad(signed(errors.min() ?? 0), 7) + pad(signed(errors.max() ?? 0), 7)
                + pad(formatFixed(offset, decimals: 2) + " s", 15) + pad(ttt, 16))
    }
    return out
}

extension String {
    func padding(_ width: Int) -> String { count >= width ? self + " " : self + String(repeating: " ", count: width - count) }
}

