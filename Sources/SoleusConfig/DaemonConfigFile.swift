/// The daemon's settings as a configuration file gives them (`/etc/soleus/soleusd.toml`; format
/// in docs/daemon.md). Every key is optional; flags override the file.
public struct DaemonConfig: Sendable, Equatable {
    /// Address and port the API listens on ("127.0.0.1:7878").
    public var listen: String?
    public var data: String?
    public var hardware: String?
    public var tokenFile: String?
    public var tlsCertificate: String?
    public var tlsKey: String?
    public var speed: String?
    public var rtPriority: Int?
    public var seed: Int?
    public var logLevel: String?
    public var requestsPerSecond: Double?
    public var burst: Double?

    public init() {}
}

public enum DaemonConfigFile {
    public static func load(path: String) throws(ConfigError) -> DaemonConfig {
        try parse(try readTextFile(path), file: path)
    }

    /// Reads the `[daemon]` table; unknown keys and wrong types are errors naming the key.
    public static func parse(_ text: String, file: String) throws(ConfigError) -> DaemonConfig {
        let root = try TOMLNode.parse(text, file: file)
        let issues = IssueCollector()
        var doc = TableReader(root, path: "", issues: issues)
        var c = DaemonConfig()
        if var d = doc.table("daemon", required: true) {
            c.listen = d.string("listen")
            c.data = d.string("data")
            c.hardware = d.string("hardware")
            c.tokenFile = d.string("token_file")
            c.tlsCertificate = d.string("tls_certificate")
            c.tlsKey = d.string("tls_key")
            c.speed = d.string("speed")
            c.rtPriority = d.integer("rt_priority", upTo: 99)
            c.seed = d.integer("seed", upTo: Int.max)
            c.logLevel = d.string("log_level")
            c.requestsPerSecond = d.number("requests_per_second", in: 0.1...10_000, "requests/s")
            c.burst = d.number("burst", in: 1...100_000, "requests")
            d.rejectUnknownKeys()
            if let p = c.rtPriority, p < 0 { issues.add("daemon.rt_priority", "is \(p); use 0 (a normal thread) to 99") }
            if let s = c.seed, s < 0 { issues.add("daemon.seed", "is \(s); a seed is 0 or more") }
            if (c.tlsCertificate == nil) != (c.tlsKey == nil) {
                issues.add("daemon.tls_certificate", "and daemon.tls_key go together: give both (TLS) or neither (plain HTTP)")
            }
        }
        doc.rejectUnknownKeys()
        guard issues.issues.isEmpty else { throw ConfigError(file: file, issues: issues.issues) }
        return c
    }
}

/// The CLI's remote settings (`~/.config/soleus/client.toml`, a [device] table): where the daemon
/// is, its token, and the CA that signed its certificate.
public struct ClientConfig: Sendable, Equatable {
    public var url: String?
    public var token: String?
    public var ca: String?
    public init() {}
}

public enum ClientConfigFile {
    public static func load(path: String) throws(ConfigError) -> ClientConfig {
        let text = try readTextFile(path)
        let root = try TOMLNode.parse(text, file: path)
        let issues = IssueCollector()
        var doc = TableReader(root, path: "", issues: issues)
        var c = ClientConfig()
        if var d = doc.table("device", required: true) {
            c.url = d.string("url")
            c.token = d.string("token")
            c.ca = d.string("ca")
            d.rejectUnknownKeys()
        }
        doc.rejectUnknownKeys()
        guard issues.issues.isEmpty else { throw ConfigError(file: path, issues: issues.issues) }
        return c
    }
}
