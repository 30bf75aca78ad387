import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The token, TLS, the configuration file and the rate limit.
@Suite(.serialized) struct DaemonSecurityTests {
    /// Made at first start, shown once on standard output, kept 0600; never shown again; a token
    /// file others can read is refused.
    @Test func theTokenIsMadeOnceShownOnceAndPrivate() throws {
        let d = try Daemon(speed: "10")
        let token = d.token
        #expect(token.count == 64)
        #expect(d.output.contains("API token (shown once") && d.output.contains(token))
        var st = stat()
        #expect(stat(d.data + "/api-token", &st) == 0 && st.st_mode & 0o777 == 0o600)
        d.stop()
        try d.restart()
        #expect(d.token == token)
        #expect(d.output.components(separatedBy: token).count == 2, "the token was printed again")
        d.stop()

        chmod(d.data + "/api-token", 0o644)
        let r = try run(["--data", d.data, "--listen", "127.0.0.1:\(Daemon.freePort())"])
        #expect(r.status != 0 && r.stderr.contains("chmod 600"), "\(r.stderr)")
    }

    /// With a certificate in the configuration the API speaks HTTPS only; the CLI trusts it
    /// through SOLEUS_CA.
    @Test func tlsFromTheConfiguration() throws {
        let dir = Daemon.tempDir()
        let openssl = Process()
        openssl.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        openssl.arguments = ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                             "-keyout", dir + "/key.pem", "-out", dir + "/cert.pem", "-days", "2"]
        openssl.standardError = FileHandle.nullDevice
        try openssl.run()
        openssl.waitUntilExit()
        #expect(openssl.terminationStatus == 0)
        let port = Daemon.freePort()
        let config = """
            [daemon]
            listen = "127.0.0.1:\(port)"
            data = "\(dir)"
            hardware = "hardware/sim-3-dvt.toml"
            speed = "10"
            tls_certificate = "\(dir)/cert.pem"
            tls_key = "\(dir)/key.pem"
            """
        try config.write(toFile: dir + "/soleusd.toml", atomically: true, encoding: .utf8)
        let p = Process()
        p.executableURL = Daemon.binDir.appendingPathComponent("soleusd")
        p.arguments = ["--config", dir + "/soleusd.toml"]
        p.currentDirectoryURL = URL(fileURLWithPath: Daemon.root)
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        defer { p.terminate(); p.waitUntilExit() }
        try waitUntil(timeout: 30, "the token file") { access(dir + "/api-token", R_OK) == 0 }
        let token = try String(contentsOfFile: dir + "/api-token", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        var status = Daemon.CLIResult(status: -1, stdout: "", stderr: "")
        try waitUntil(timeout: 30, "the HTTPS API") {
            status = try Daemon.cli(["status"], device: "https://127.0.0.1:\(port)", token: token, ca: dir + "/cert.pem")
            return status.status == 0
        }
        #expect(status.stdout.contains("IDLE"))
        let plain = try Daemon.cli(["status"], device: "http://127.0.0.1:\(port)", token: token)
        #expect(plain.status != 0)
        let untrusted = try Daemon.cli(["status"], device: "https://127.0.0.1:\(port)", token: token)
        #expect(untrusted.status != 0)
    }

    /// A configuration error names the file and the key; nothing starts.
    @Test func aBadConfigurationIsRefusedNamingTheKey() throws {
        let dir = Daemon.tempDir()
        try "[daemon]\nlisen = \"127.0.0.1:1\"\n".write(toFile: dir + "/c.toml", atomically: true, encoding: .utf8)
        let r = try run(["--config", dir + "/c.toml", "--data", dir])
        #expect(r.status != 0 && r.stderr.contains("c.toml") && r.stderr.contains("daemon.lisen"), "\(r.stderr)")
        try "[daemon]\ntls_certificate = \"x.pem\"\n".write(toFile: dir + "/t.toml", atomically: true, encoding: .utf8)
        let t = try run(["--config", dir + "/t.toml", "--data", dir])
        #expect(t.status != 0 && t.stderr.contains("tls_key"), "\(t.stderr)")
        try "[daemon]\nseed = -1\nrt_priority = -5\n".write(toFile: dir + "/n.toml", atomically: true, encoding: .utf8)
        let negative = try run(["--config", dir + "/n.toml", "--data", dir])
        #expect(negative.status != 0 && negative.stderr.contains("daemon.seed") && negative.stderr.contains("daemon.rt_priority"), "\(negative.stderr)")
        let port = try run(["--listen", "127.0.0.1:0", "--data", dir])
        #expect(port.status != 0 && port.stderr.contains("HOST:PORT"), "\(port.stderr)")
        let speed = try run(["--speed", "max", "--data", dir])
        #expect(speed.status != 0 && speed.stderr.contains("never flat out"), "\(speed.stderr)")
    }

    /// The CLI finds the daemon and its token in the client configuration file; a mistake in that
    /// file is an error naming the key, and a wrong token a clear 401 message.
    @Test func theCLIReadsItsClientConfiguration() throws {
        let d = try Daemon(speed: "10")
        defer { d.stop() }
        let config = d.data + "/client.toml"
        try "[device]\nurl = \"\(d.base)\"\ntoken = \"\(d.token)\"\n".write(toFile: config, atomically: true, encoding: .utf8)
        let ok = try cliWithConfig(["status"], config: config)
        #expect(ok.status == 0 && ok.stdout.contains("IDLE"), "\(ok.stderr)")
        try "[device]\nurl = \"\(d.base)\"\ntokn = \"x\"\n".write(toFile: config, atomically: true, encoding: .utf8)
        let typo = try cliWithConfig(["status"], config: config)
        #expect(typo.status != 0 && typo.stderr.contains("device.tokn"), "\(typo.stderr)")
        try "[device]\nurl = \"\(d.base)\"\ntoken = \"wrong\"\n".write(toFile: config, atomically: true, encoding: .utf8)
        let wrong = try cliWithConfig(["status"], config: config)
        #expect(wrong.status != 0 && wrong.stderr.contains("refused the token (401)"), "\(wrong.stderr)")
    }

    /// `soleus` with only SOLEUS_CONFIG set (no SOLEUS_DEVICE, no SOLEUS_TOKEN).
    func cliWithConfig(_ args: [String], config: String) throws -> Daemon.CLIResult {
        try Daemon.execute("soleus", args, environment: ["SOLEUS_DEVICE": nil, "SOLEUS_TOKEN": nil, "SOLEUS_CA": nil, "SOLEUS_CONFIG": config])
    }

    /// Past its burst a client gets 429 with Retry-After; the daemon serves on.
    @Test func aFloodGets429() throws {
        let d = try Daemon(speed: "10", extra: ["--requests-per-second", "1"])
        defer { d.stop() }
        var limited: Daemon.Reply?
        for _ in 0..<80 {
            let r = try d.request("GET", "/health", token: nil, timeout: 5)
            if r.status == 429 { limited = r; break }
        }
        #expect(limited?.headers["retry-after"] == "1")
        #expect(limited?.text.contains("too many requests") == true)
    }

    func run(_ args: [String]) throws -> Daemon.CLIResult { try Daemon.execute("soleusd", args) }
}
