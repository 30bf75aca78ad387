import ArgumentParser
import Foundation
import Logging
import SoleusConfig
import SoleusRuntime

#if canImport(Glibc)
import Glibc
#endif

/// The daemon's settings: flags, over the configuration file, over the defaults.
struct DaemonOptions: ParsableArguments {
    @Option(name: .long, help: "Configuration file (TOML, a [daemon] table; see docs/daemon.md).")
    var config: String?

    @Option(name: .long, help: "Address and port of the API (default 127.0.0.1:7878).")
    var listen: String?

    @Option(name: .long, help: "Data directory: the session store, the API token, the control socket (default: $SOLEUS_DATA or ~/.local/share/soleus).")
    var data: String?

    @Option(name: .long, help: "Hardware profile (default: the simulated 3-chamber DVT garment, hardware/sim-3-dvt.toml).")
    var hardware: String?

    @Option(name: .long, help: "File holding the API token (default: <data>/api-token); created with mode 0600 at first start.")
    var tokenFile: String?

    @Option(name: .long, help: "TLS certificate chain (PEM); with --tls-key the API speaks HTTPS only.")
    var tlsCertificate: String?

    @Option(name: .long, help: "TLS private key (PEM).")
    var tlsKey: String?

    @Option(name: .long, parsing: .unconditional, help: "realtime, or a speed-up factor (simulated boot only, for demonstrations and tests).")
    var speed: String?

    @Option(name: .long, help: "SCHED_FIFO priority of the control loop (1 to 99; 0: a normal thread; default 80).")
    var rtPriority: Int32?

    @Option(name: .long, help: "Noise seed of the simulated boot.")
    var seed: UInt64?

    @Option(name: .long, help: "trace, debug, info, notice, warning, error or critical (default info).")
    var logLevel: String?

    @Option(name: .long, help: "API requests per second allowed per client address (default 20, bursts of 60).")
    var requestsPerSecond: Double?

    /// The merged settings, checked.
    func resolve() throws -> DaemonSettings {
        var file = DaemonConfig()
        if let config {
            do { file = try DaemonConfigFile.load(path: config) } catch { throw ValidationError(error.description) }
        }
        let data = data ?? file.data ?? defaultDataDirectory()
        let listenText = listen ?? file.listen ?? "127.0.0.1:7878"
        guard let colon = listenText.lastIndex(of: ":"), let port = Int(listenText[listenText.index(after: colon)...]), (1...65535).contains(port) else {
            throw ValidationError("listen must be HOST:PORT (e.g. 127.0.0.1:7878), not \"\(listenText)\"")
        }
        let host = String(listenText[..<colon]).trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
        let speedText = speed ?? file.speed ?? "realtime"
        guard let speed = Speed(speedText), speed != .max else {
            throw ValidationError("speed must be realtime or a speed-up factor between 0.01 and 10000, not \"\(speedText)\" (a daemon runs sessions in time, never flat out)")
        }
        let levelText = logLevel ?? file.logLevel ?? "info"
        guard let level = Logger.Level(rawValue: levelText) else { throw ValidationError("log level must be trace, debug, info, notice, warning, error or critical, not \"\(levelText)\"") }
        let priority = rtPriority ?? file.rtPriority.map(Int32.init) ?? 80
        guard (0...99).contains(priority) else { throw ValidationError("rt-priority must be between 0 and 99, not \(priority)") }
        let cert = tlsCertificate ?? file.tlsCertificate, key = tlsKey ?? file.tlsKey
        if (cert == nil) != (key == nil) { throw ValidationError("--tls-certificate and --tls-key go together") }
        let rps = requestsPerSecond ?? file.requestsPerSecond ?? 20
        guard rps.isFinite, rps > 0 else { throw ValidationError("requests-per-second must be more than 0") }
        return DaemonSettings(
            host: host.isEmpty ? "127.0.0.1" : host, port: port, data: data, hardware: hardware ?? file.hardware ?? Self.defaultHardware(),
            tokenFile: tokenFile ?? file.tokenFile ?? data + "/api-token", tls: cert.flatMap { c in key.map { (c, $0) } },
            speed: speed, rtPriority: priority == 0 ? nil : priority, seed: seed ?? file.seed.map { UInt64($0) }, logLevel: level,
            requestsPerSecond: rps, burst: file.burst ?? max(60, rps * 3), configFile: config)
    }

    /// The simulated DVT garment: next to the binary's source tree, or where a package installs it.
    static func defaultHardware() -> String {
        let candidates = ["hardware/sim-3-dvt.toml", "/usr/share/soleus/hardware/sim-3-dvt.toml", "/usr/local/share/soleus/hardware/sim-3-dvt.toml"]
        return candidates.first { access($0, R_OK) == 0 } ?? candidates[0]
    }
}

struct DaemonSettings: Sendable {
    var host: String
    var port: Int
    var data: String
    var hardware: String
    var tokenFile: String
    var tls: (certificate: String, key: String)?
    var speed: Speed
    var rtPriority: Int32?
    var seed: UInt64?
    var logLevel: Logger.Level
    var requestsPerSecond: Double
    var burst: Double
    var configFile: String?

    var controlSocket: String { data + "/soleusd.sock" }
}

func makeLogger(_ label: String, level: Logger.Level) -> Logger {
    var l = Logger(label: label) { StreamLogHandler.standardError(label: $0) }
    l.logLevel = level
    return l
}
