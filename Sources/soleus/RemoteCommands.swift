import ArgumentParser
import Foundation
import NIOHTTP1
import SoleusConfig
import SoleusCore
import SoleusDaemon

#if canImport(Glibc)
import Glibc
#endif

struct Upload: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Upload a protocol to the daemon (validated there against its boot, as `soleus validate` does).")
    @Argument(help: "Protocol file (TOML).") var file: String
    @OptionGroup var device: DeviceOptions

    func run() throws {
        let text: String
        do { text = try String(contentsOfFile: file, encoding: .utf8) } catch { throw CLIError("\(file): cannot read it: \(error.localizedDescription)") }
        let client = try device.client()
        let label = (file as NSString).lastPathComponent.addingPercentEncoding(withAllowedCharacters: .urlQueryAllowed) ?? "upload.toml"
        let p = try waitFor { try await client.decode(APIModel.ProtocolInfo.self, "/v1/protocols?file=\(label)", method: .POST, body: Data(text.utf8), expect: [201]) }
        print("Uploaded \"\(p.name)\" as protocol \(p.id) (sha256 \(p.sha256.prefix(12))…)")
        for w in p.warnings ?? [] { print(w) }
    }
}

struct Protocols: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List the daemon's protocols; show or delete one.")
    @Option(name: .long, help: "Print this protocol's TOML.") var show: Int64?
    @Option(name: .long, help: "Delete this protocol (sessions keep their own copy).") var delete: Int64?
    @OptionGroup var device: DeviceOptions

    func run() throws {
        let client = try device.client()
        if let id = show {
            let p = try waitFor { try await client.decode(APIModel.ProtocolInfo.self, "/v1/protocols/\(id)") }
            print(p.text ?? "", terminator: "")
            return
        }
        if let id = delete {
            _ = try waitFor { try await client.call(.DELETE, "/v1/protocols/\(id)", expect: [204]) }
            print("Deleted protocol \(id)")
            return
        }
        let list = try waitFor { try await client.decode([APIModel.ProtocolInfo].self, "/v1/protocols") }
        if list.isEmpty { print("No protocols on the device (soleus upload FILE)"); return }
        print("   id  uploaded                   name")
        for p in list {
            let id: String = pad("\(p.id)", 5)
            print(id + "  " + p.uploadedAt.padding(25) + "  " + p.name)
        }
    }
}

struct Start: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Start a session on the daemon's boot.")
    @Argument(help: "Protocol id, or its name (see `soleus protocols`).") var protocolRef: String
    @Option(name: .long, parsing: .unconditional, help: "Intensity level.") var level: Int?
    @Option(name: .long, parsing: .unconditional, help: "Session length in minutes (replaces the protocol's).") var minutes: Double?
    @Option(name: .long, parsing: .unconditional, help: "Session length in main cycles (replaces the protocol's).") var cycles: Int?
    @Option(name: .long, help: "The limb a single-limb protocol runs on, on a boot of two.") var limb: String?
    @OptionGroup var device: DeviceOptions

    func run() throws {
        let client = try device.client()
        let ref = protocolRef
        let id: Int64
        if let n = Int64(ref) { id = n } else {
            let list = try waitFor { try await client.decode([APIModel.ProtocolInfo].self, "/v1/protocols") }
            guard let p = list.first(where: { $0.name == ref }) else { throw CLIError("no protocol named \"\(ref)\" on the device (see `soleus protocols`)") }
            id = p.id
        }
        let body = try WireJSON.encode(APIModel.StartRequest(protocolId: id, level: level, minutes: minutes, cycles: cycles, limb: limb))
        let started = try waitFor { try await client.decode(APIModel.Started.self, "/v1/sessions", method: .POST, body: body, expect: [201]) }
        print("Session \(started.sessionId) started (watch it: soleus status --watch; stop it: soleus stop)")
    }
}

/// An operator command on the running session.
struct SessionCommand {
    static func send(_ command: String, device: DeviceOptions) throws -> StatusReport {
        let client = try device.client()
        return try waitFor { try await client.decode(StatusReport.self, "/v1/session/\(command)", method: .POST) }
    }
}

struct Stop: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Stop the running session; every chamber vents. Waits until it has.")
    @OptionGroup var device: DeviceOptions
    func run() throws {
        let r = try SessionCommand.send("stop", device: device)
        let last = r.lastSession.map { "session \($0.id): \($0.endReason) — \($0.detail)" } ?? "stopped"
        print("Stopped; the boot is vented. \(last)")
    }
}

struct Pause: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Pause therapy: every chamber vents, the session stays open until resume or stop.")
    @OptionGroup var device: DeviceOptions
    func run() throws { _ = try SessionCommand.send("pause", device: device); print("Paused; every chamber vents. Resume with soleus resume.") }
}

struct Resume: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Resume a paused session with a new cycle.")
    @OptionGroup var device: DeviceOptions
    func run() throws { _ = try SessionCommand.send("resume", device: device); print("Resumed.") }
}

struct Ack: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ack", abstract: "Acknowledge the alarms on display.")
    @OptionGroup var device: DeviceOptions
    func run() throws {
        let r = try SessionCommand.send("acknowledge", device: device)
        print(r.alarms.isEmpty ? "No alarm on display." : "Acknowledged: " + r.alarms.map(\.condition).joined(separator: ", "))
    }
}

struct Reset: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Reset latched alarms whose condition has ended.")
    @OptionGroup var device: DeviceOptions
    func run() throws {
        let r = try SessionCommand.send("reset", device: device)
        print(r.alarms.isEmpty ? "No alarm on display." : "Still on display: " + r.alarms.map { "\($0.condition)\($0.active ? " (still present)" : "")" }.joined(separator: ", "))
    }
}

struct PauseAudio: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "pause-audio", abstract: "Pause the alarm audio for 120 s.")
    @OptionGroup var device: DeviceOptions
    func run() throws { _ = try SessionCommand.send("pause-audio", device: device); print("Alarm audio paused for 120 s.") }
}
