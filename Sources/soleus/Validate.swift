import ArgumentParser
import SoleusConfig
import SoleusCore

struct Validate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check protocol files against a hardware profile.",
        discussion: "Prints every problem with its file and key path (line and column for TOML syntax errors). Exits non-zero if any file is invalid.")

    @Option(name: .long, help: "Hardware profile to validate against (default: a boot with exactly the protocol's chambers and the default limits, ceiling 150 mmHg).")
    var hardware: String?

    @Option(name: .long, help: "Intensity level to validate at (protocols with levels).")
    var level: Int?

    @Option(name: .long, help: "The limb a single-limb protocol runs on, for a profile of two limbs.")
    var limb: String?

    /// Without a profile: a boot with exactly the protocol's chambers and the default limits; two
    /// limbs ("left", "right") of them when the protocol runs on several limbs.
    static func defaultBoot(for proto: TreatmentProtocol) -> BootDescription {
        guard proto.limbs != .single else { return BootDescription(chambers: proto.chambers, limits: BootLimits()) }
        let n = proto.chambers.count
        return BootDescription(
            limbs: [LimbDescription(name: "left", chambers: proto.chambers, firstChamber: 0, drive: 0),
                    LimbDescription(name: "right", chambers: proto.chambers, firstChamber: n, drive: 0)],
            limits: BootLimits(), onLimbFault: .ventAll)
    }

    @Argument(help: "Protocol files.")
    var files: [String]

    func validate() throws {
        if files.isEmpty { throw ValidationError("give at least one protocol file") }
    }

    func run() throws {
        var profile: HardwareProfile?
        if let hardware {
            do { profile = try HardwareProfileFile.load(path: hardware) } catch {
                printError(error.description)
                throw ExitCode(2)
            }
            for w in profile?.warnings ?? [] { printError("\(hardware): warning: \(w)") }
        }
        var failed = 0
        for file in files {
            do {
                let (proto, text) = try ProtocolFile.load(path: file)
                let boot = profile?.boot ?? Self.defaultBoot(for: proto)
                let plan = try ProtocolFile.plan(text, file: file, for: boot, level: level, limb: limb)
                let timing = try profile?.checkTiming(of: plan, file: file) ?? []
                let against = hardware ?? "default limits (no --hardware; timing not checked)"
                let limbs = plan.limbs.count > 1 ? " on limbs " + plan.limbs.map { "\(boot.limbs[$0.limb].name) from \(formatFixed($0.offsetSeconds, decimals: 1)) s" }.joined(separator: ", ") + "," : ""
                print("\(file): ok — \"\(plan.name)\", \(proto.chambers.count) chambers,\(limbs) against \(against)")
                for w in timing { print(w) }
            } catch {
                failed += 1
                printError(error.description)
            }
        }
        if failed > 0 {
            printError("\(failed) of \(files.count) protocol file(s) invalid")
            throw ExitCode(1)
        }
    }
}
