import ArgumentParser
import Foundation
import SoleusConfig
import SoleusCore
import SoleusHardware
import SoleusRuntime
import SoleusSimulation
import Synchronization

/// How `sim serve`'s link misbehaves, set by commands on standard input.
let linkFault = Mutex(LinkFault.none)

struct Sim: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The simulated boot as a device.",
        subcommands: [Serve.self])

    struct Serve: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Serve the simulated boot through a profile's Modbus register map, in real time.",
            discussion: """
                The profile's [simulation] table is the boot; its [wiring] and [modbus] tables are the register map. \
                Prints `ready ENDPOINT` once listening, a line whenever the outputs change, and the pressures every \
                --status-every seconds. Commands on standard input change how the link behaves: `link exceptions`, \
                `link garbage`, `link slow SECONDS`, `link silent`, `link normal`. Ctrl-C stops.
                """)

        @Option(name: .long, help: "Hardware profile (TOML) with [simulation], [modbus] and [wiring].")
        var hardware: String

        @Option(name: .long, help: "tcp://127.0.0.1:PORT or rtu:DEVICE,BAUD,8N1 (default: the profile's Modbus endpoint).")
        var listen: String?

        @Option(name: .long, help: "A scenario file whose fault timeline to apply (seconds from the start of serving).")
        var scenario: String?

        @Option(name: .long, help: "Override the simulator's noise seed.")
        var seed: UInt64?

        @Option(name: .long, help: "Seconds between pressure status lines (0: none).")
        var statusEvery: Double = 1

        func run() throws {
            var profile: HardwareProfile
            do {
                profile = try HardwareProfileFile.load(path: hardware)
                if let listen { profile = try profile.overridingModbus(listen) }
            } catch {
                printError(error.description)
                throw ExitCode(2)
            }
            guard let wiring = profile.wiring, let settings = wiring.modbus, var model = profile.model else {
                throw CLIError("\(hardware): sim serve needs a real boot's profile (backend = \"io\") with a [modbus] link and a [simulation] model of the garment")
            }
            if let seed { model.seed = seed }
            let sim = SimulatedBoot(parameters: model)
            var boot: BootBackend = sim
            if let scenario {
                do { boot = try ScenarioFile.load(path: scenario).faultedBoot(sim) } catch {
                    printError(error.description)
                    throw ExitCode(2)
                }
            }
            let device: SimulatedModbusDevice
            let server: ModbusDeviceServer
            do {
                device = try SimulatedModbusDevice(wiring: wiring, boot: boot)
                server = try ModbusDeviceServer(device: device, endpoint: settings.endpoint)
            } catch { throw CLIError(error.description) }
            readLinkCommands()
            installStopHandlers()
            printOut("ready \(settings.endpoint) (\(profile.name); units \(settings.modules.map { "\($0.unit)" }.joined(separator: ", ")))")
            let names = profile.boot.chambers
            var lastOutputs = device.outputs
            var nextStatus = 0.0
            do {
                try server.serve(stop: { stopRequested.load(ordering: .relaxed) }, fault: { linkFault.withLock { $0 } }, tick: { t in
                    if device.outputs != lastOutputs {
                        lastOutputs = device.outputs
                        printOut("\(formatFixed(t, decimals: 3)) outputs \(describe(device.outputs, names: names))")
                    }
                    if statusEvery > 0 && t >= nextStatus {
                        nextStatus = t + statusEvery
                        let p = names.indices.map { "\(names[$0]) \(formatMMHg(device.inputs.pressures[$0]))" }.joined(separator: ", ")
                        printOut("\(formatFixed(t, decimals: 3)) pressures \(p) mmHg")
                    }
                })
            } catch { throw CLIError(error.description) }
            printOut("stopped after \(server.requests) requests")
        }

        func describe(_ o: BootOutputs, names: [String]) -> String {
            let inlets = names.indices.filter { o.inlets.contains(index: $0) }.map { names[$0] }
            let closed = names.indices.filter { !o.exhausts.contains(index: $0) }.map { names[$0] }
            return "pump \(o.pump ? "on" : "off"), relay \(o.power ? "closed" : "open"), inlets open [\(inlets.joined(separator: ", "))], exhausts closed [\(closed.joined(separator: ", "))]"
        }

        /// Reads `link ...` commands from standard input on a thread of their own.
        func readLinkCommands() {
            Thread.detachNewThread {
                while let line = readLine() {
                    let words = line.split(separator: " ").map(String.init)
                    guard words.first == "link", words.count >= 2 else { printError("unknown command \"\(line)\" (link exceptions|garbage|slow SECONDS|silent|normal)"); continue }
                    let new: LinkFault?
                    switch words[1] {
                    case "exceptions": new = .exceptions
                    case "garbage": new = .garbage
                    case "silent": new = .silent
                    case "normal": new = LinkFault.none
                    case "slow": new = words.count > 2 ? Double(words[2]).flatMap { (0...10).contains($0) ? .slow($0) : nil } : nil
                    default: new = nil
                    }
                    if let new { linkFault.withLock { $0 = new }; printOut("link \(words.dropFirst().joined(separator: " "))") }
                    else { printError("unknown link command \"\(line)\"") }
                }
            }
        }
    }
}

/// Ctrl-C and SIGTERM set ``stopRequested``; the command's loop polls it.
func installStopHandlers() {
    var mask = sigset_t()
    sigemptyset(&mask)
    sigaddset(&mask, SIGINT)
    sigaddset(&mask, SIGTERM)
    sigprocmask(SIG_UNBLOCK, &mask, nil)
    signal(SIGINT) { _ in stopRequested.store(true, ordering: .relaxed) }
    signal(SIGTERM) { _ in stopRequested.store(true, ordering: .relaxed) }
}

/// Writes a line to standard output at once, unbuffered: `fflush(NULL)` would also take the lock
/// of standard input, which the command reader holds while it waits for a line.
func printOut(_ text: String) {
    let bytes = Array((text + "\n").utf8)
    _ = bytes.withUnsafeBytes { write(STDOUT_FILENO, $0.baseAddress, $0.count) }
}
