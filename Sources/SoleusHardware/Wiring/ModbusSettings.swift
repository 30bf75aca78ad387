import SoleusCore

/// Where the Modbus modules are reached.
public enum ModbusEndpoint: Sendable, Hashable, CustomStringConvertible {
    case tcp(host: String, port: Int)
    case rtu(device: String, baud: Int, parity: Parity, dataBits: Int, stopBits: Int)

    public enum Parity: String, Sendable, Hashable {
        case none = "N", even = "E", odd = "O"
    }

    /// Parses `tcp://HOST:PORT` or `rtu:DEVICE,BAUD,8N1` (data bits, parity N/E/O, stop bits).
    public init(parsing text: String) throws(EndpointError) {
        if text.hasPrefix("tcp://") {
            let rest = text.dropFirst(6)
            guard let colon = rest.lastIndex(of: ":"), let port = Int(rest[rest.index(after: colon)...]), (1...65535).contains(port),
                  !rest[..<colon].isEmpty
            else { throw EndpointError(text: text, reason: "expected tcp://HOST:PORT with a port from 1 to 65535") }
            self = .tcp(host: String(rest[..<colon]), port: port)
        } else if text.hasPrefix("rtu:") {
            let parts = text.dropFirst(4).split(separator: ",", omittingEmptySubsequences: false)
            guard parts.count == 3, !parts[0].isEmpty else { throw EndpointError(text: text, reason: "expected rtu:DEVICE,BAUD,FORMAT such as rtu:/dev/ttyUSB0,115200,8N1") }
            guard let baud = Int(parts[1]), (300...4_000_000).contains(baud) else { throw EndpointError(text: text, reason: "baud rate \"\(parts[1])\" is not a number from 300 to 4000000") }
            let f = Array(parts[2].uppercased())
            guard f.count == 3, let data = Int(String(f[0])), (7...8).contains(data), let parity = Parity(rawValue: String(f[1])),
                  let stop = Int(String(f[2])), (1...2).contains(stop)
            else { throw EndpointError(text: text, reason: "format \"\(parts[2])\" must be data bits (7 or 8), parity (N, E or O) and stop bits (1 or 2), such as 8N1") }
            self = .rtu(device: String(parts[0]), baud: baud, parity: parity, dataBits: data, stopBits: stop)
        } else {
            throw EndpointError(text: text, reason: "expected tcp://HOST:PORT or rtu:DEVICE,BAUD,8N1")
        }
    }

    public var description: String {
        switch self {
        case .tcp(let h, let p): "tcp://\(h):\(p)"
        case .rtu(let d, let b, let p, let db, let sb): "rtu:\(d),\(b),\(db)\(p.rawValue)\(sb)"
        }
    }

    /// Bits on the wire per character: start, data, parity, stop.
    public var bitsPerCharacter: Int? {
        guard case .rtu(_, _, let p, let d, let s) = self else { return nil }
        return 1 + d + (p == .none ? 0 : 1) + s
    }
}

public struct EndpointError: Error, Sendable, Equatable, CustomStringConvertible {
    public var text: String
    public var reason: String
    public var description: String { "\"\(text)\": \(reason)" }
}

/// One Modbus module (a relay board, an analog-input module, a coupler) on the link.
public struct ModbusModule: Sendable, Hashable {
    public var name: String
    /// Its unit (slave) id, 1–247.
    public var unit: Int
    /// The module's own communication watchdog, programmed at connect: `value` written to holding
    /// register `register` (e.g. WAGO 750-352: 0x1000, timeout in 100 ms units). The module then
    /// de-energises its outputs by itself when the controller stops talking to it.
    public var watchdog: [RegisterWrite]

    public struct RegisterWrite: Sendable, Hashable {
        public var register: UInt16
        public var value: UInt16
        public init(register: UInt16, value: UInt16) {
            self.register = register
            self.value = value
        }
    }

    public init(name: String, unit: Int, watchdog: [RegisterWrite] = []) {
        self.name = name
        self.unit = unit
        self.watchdog = watchdog
    }
}

/// The Modbus link: endpoint, modules, timing.
public struct ModbusSettings: Sendable, Hashable {
    public var endpoint: ModbusEndpoint
    public var modules: [ModbusModule]
    /// How long to wait for a reply (s).
    public var responseTimeout: Double
    /// How often a failed transaction is tried again before the cycle moves on.
    public var retries: Int
    /// Poll cycles per second: each reads every module's pressures once.
    public var pollRate: Double
    /// Outputs are rewritten at least this often (s) even when unchanged, so a module that lost
    /// them (a power blip, a watchdog) gets them back.
    public var refreshSeconds: Double
    /// The I/O thread writes the vented state when the control loop's last command is older than
    /// this (s): outputs fall back to safe unless refreshed.
    public var leaseSeconds: Double
    /// Time a module takes to answer after a request (s), for the bus budget.
    public var turnaroundSeconds: Double

    public init(
        endpoint: ModbusEndpoint, modules: [ModbusModule], responseTimeout: Double = 0.05, retries: Int = 1, pollRate: Double = 50,
        refreshSeconds: Double = 1, leaseSeconds: Double = 0.25, turnaroundSeconds: Double = 0.002
    ) {
        self.endpoint = endpoint
        self.modules = modules
        self.responseTimeout = responseTimeout
        self.retries = retries
        self.pollRate = pollRate
        self.refreshSeconds = refreshSeconds
        self.leaseSeconds = leaseSeconds
        self.turnaroundSeconds = turnaroundSeconds
    }
}
