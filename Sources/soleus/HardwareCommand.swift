import ArgumentParser
import SoleusConfig
import SoleusCore
import SoleusHardware
import SoleusRuntime

struct HW: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hw",
        abstract: "Bench tools for a real boot.",
        subcommands: [Check.self, Manual.self])

    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Open every line and module once, read every sensor, report what answered.",
            discussion: "Writes only the vented state. Exit code 0 when everything answered, 1 otherwise.")

        @OptionGroup var board: BoardOptions

        func run() throws {
            let profile = try board.load()
            let lines = HardwareCheck.run(profile: profile)
            for l in lines { print("\(l.ok ? "ok  " : "FAIL") \(l.text)") }
            let failed = lines.filter { !$0.ok }.count
            print(failed == 0 ? "all \(lines.count) checks answered" : "\(failed) of \(lines.count) checks failed")
            if failed > 0 { throw ExitCode(1) }
        }
    }

    struct Manual: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "One bench action for a bounded time, the safety supervisor active, then vent.",
            discussion: "Exactly one of --inflate, --pump, --open-inlet, --close-exhaust. Ctrl-C stops and vents.")

        @OptionGroup var board: BoardOptions
        @Option(name: .long, help: "Inflate this chamber to --to mmHg and hold it.")
        var inflate: String?
        @Option(name: .long, help: "Target for --inflate (mmHg, at most the profile's max target).")
        var to: Double = 30
        @Flag(name: .long, help: "Run the pump with every inlet closed.")
        var pump = false
        @Option(name: .long, help: "Open this chamber's inlet (pump off).")
        var openInlet: String?
        @Option(name: .long, help: "Close this chamber's exhaust (pump off).")
        var closeExhaust: String?
        @Option(name: .long, help: "How long (s, at most 60).")
        var seconds: Double = 3
        @Option(name: .long, parsing: .unconditional, help: "realtime (hardware), or max on a simulated boot.")
        var speed: String = "realtime"

        func run() throws {
            let profile = try board.load()
            let action = try chooseAction(profile)
            guard let pace = Speed(speed), pace == .realtime || profile.wiring == nil else { throw CLIError("--speed \(speed) needs the simulated backend; real hardware runs in real time") }
            let backend: BootBackend
            do { backend = try profile.makeBackend() } catch { throw CLIError("\(error); nothing was done") }
            defer { backend.close() }
            installStopHandlers()
            print("\(describe(action, names: profile.boot.chambers)) for \(formatFixed(seconds, decimals: 1)) s on \(backend.summary), supervisor active; Ctrl-C stops and vents.")
            let outcome: ManualRun.Outcome
            do {
                outcome = try ManualRun(profile: profile, action: action, seconds: seconds)
                    .run(on: backend, pacing: makePacer(speed: pace), stop: { stopRequested.load(ordering: .relaxed) })
            } catch { throw CLIError("\(error); the boot was vented") }
            let names = profile.boot.chambers
            print("after \(formatFixed(outcome.seconds, decimals: 2)) s: " + names.indices.map { "\(names[$0]) \(formatMMHg(outcome.pressures[$0])) mmHg" }.joined(separator: ", "))
            if let a = outcome.stoppedBy {
                print("stopped by the safety supervisor: \(a) — \(a.policy.meaning)")
                throw ExitCode(1)
            }
            print("vented")
        }

        func validate() throws {
            let chosen = [inflate != nil, pump, openInlet != nil, closeExhaust != nil].filter { $0 }.count
            guard chosen == 1 else { throw ValidationError("give exactly one of --inflate, --pump, --open-inlet, --close-exhaust") }
            guard seconds > 0, seconds <= ManualRun.maxSeconds else { throw ValidationError("--seconds must be above 0 and at most \(Int(ManualRun.maxSeconds))") }
            guard Speed(speed) != nil else { throw ValidationError("--speed must be \(Speed.accepted), not \"\(speed)\"") }
        }

        func describe(_ a: ManualRun.Action, names: [String]) -> String {
            switch a {
            case .inflate(let c, let target): "Inflating \(names[c]) to \(formatMMHg(target)) mmHg"
            case .pump: "Running the pump, inlets closed,"
            case .openInlet(let c): "Opening the \(names[c]) inlet"
            case .closeExhaust(let c): "Closing the \(names[c]) exhaust"
            }
        }

        /// The action, its chamber and target checked against the profile.
        func chooseAction(_ profile: HardwareProfile) throws -> ManualRun.Action {
            func chamber(_ name: String) throws -> Int {
                guard let c = profile.boot.chambers.firstIndex(of: name) else {
                    throw CLIError("no chamber \"\(name)\" in \(board.hardware) (chambers: \(profile.boot.chambers.joined(separator: ", ")))")
                }
                return c
            }
            if let inflate {
                guard to > 0, to <= profile.boot.limits.maxTarget.mmHg else { throw CLIError("--to must be above 0 and at most the profile's max target, \(profile.boot.limits.maxTarget)") }
                return .inflate(chamber: try chamber(inflate), target: to)
            }
            if let openInlet { return .openInlet(chamber: try chamber(openInlet)) }
            if let closeExhaust { return .closeExhaust(chamber: try chamber(closeExhaust)) }
            return .pump
        }
    }
}

/// The hardware profile a bench command works on, and its Modbus endpoint override.
struct BoardOptions: ParsableArguments {
    @Option(name: .long, help: "Hardware profile (TOML).")
    var hardware: String

    @Option(name: .long, help: "Replace the profile's Modbus endpoint (tcp://HOST:PORT or rtu:DEVICE,BAUD,8N1).")
    var modbus: String?

    /// The profile, its warnings printed; a bad profile or endpoint exits 2 with its errors.
    func load() throws -> HardwareProfile {
        do {
            var p = try HardwareProfileFile.load(path: hardware)
            if let modbus { p = try p.overridingModbus(modbus) }
            for w in p.warnings { printError("\(hardware): warning: \(w)") }
            return p
        } catch {
            printError(error.description)
            throw ExitCode(2)
        }
    }
}
