import SoleusCore
import SoleusHardware

#if canImport(Glibc)
import Glibc
#endif

/// How the simulated device's link misbehaves (fault injection for the client's error paths).
public enum LinkFault: Sendable, Equatable {
    case none
    /// Every request answered with exception 4 (server device failure).
    case exceptions
    /// Every request answered with bytes that are not a valid reply.
    case garbage
    /// Every reply sent this late (s).
    case slow(Double)
    /// No reply at all (a dead module on a live bus).
    case silent
}

/// Serves a ``SimulatedModbusDevice`` on Modbus TCP or RTU with libmodbus's server side, the
/// physics running in real time between requests (1 ms steps).
///
/// TCP: one client at a time (a new one is accepted when it leaves); every unit id of the profile
/// is answered from its module's map, any other with exception 11 (gateway target failed).
/// RTU: libmodbus's RTU server answers a single unit id, so frames are delimited here (by the
/// line going quiet), checked (CRC, unit) and handed to `modbus_reply` with the right module's map;
/// frames for other units are ignored, as on a real bus.
public final class ModbusDeviceServer {
    let device: SimulatedModbusDevice
    let endpoint: ModbusEndpoint
    let context: ModbusContext
    var listenSocket: Int32 = -1
    var clientOpen = false
    var buffer = [UInt8](repeating: 0, count: ModbusContext.maxADU)
    var rtuFrame: [UInt8] = []
    var rtuLastByte = 0.0
    public private(set) var requests = 0

    public init(device: SimulatedModbusDevice, endpoint: ModbusEndpoint) throws(HardwareError) {
        self.device = device
        self.endpoint = endpoint
        do {
            context = try ModbusContext(endpoint)
            switch endpoint {
            case .tcp: listenSocket = try context.listen()
            case .rtu: try context.connect()
            }
        } catch {
            throw HardwareError(device: "sim serve \(endpoint)", message: "cannot listen: \(error.text)")
        }
    }

    deinit {
        if listenSocket >= 0 { Glibc.close(listenSocket) }
        context.close()
    }

    /// Serves until `stop` returns true. `fault` is read before every reply; `tick` is called
    /// after every physics step with the session time (status, scenario timelines).
    public func serve(stop: () -> Bool, fault: () -> LinkFault, tick: (Double) -> Void) throws(HardwareError) {
        let start = monotonicSeconds()
        while !stop() {
            let ready = waitReadable(milliseconds: 1)
            let t = monotonicSeconds() - start
            try device.step(to: t)
            tick(t)
            if ready { try handleReadable(fault: fault()) }
        }
    }

    /// Polls the listening socket or the connection.
    func waitReadable(milliseconds: Int32) -> Bool {
        var fds = [pollfd(fd: clientOpen || isRTU ? context.socket : listenSocket, events: Int16(POLLIN), revents: 0)]
        return poll(&fds, 1, milliseconds) > 0
    }

    var isRTU: Bool { if case .rtu = endpoint { true } else { false } }

    func handleReadable(fault: LinkFault) throws(HardwareError) {
        if isRTU { return readRTU(fault: fault) }
        if !clientOpen {
            do { try context.accept(listenSocket) ; clientOpen = true } catch { return }
            return
        }
        let n: Int
        do {
            n = try buffer.withUnsafeMutableBufferPointer { (b) throws(ModbusError) -> Int in
                guard let base = b.baseAddress else { return 0 }
                return try context.receive(into: base)
            }
        } catch {
            // The client left or sent something unreadable: wait for the next one.
            context.close()
            clientOpen = false
            return
        }
        if n > 0 { answer(length: n, unitOffset: context.headerLength - 1, fault: fault) }
    }

    /// Collects RTU bytes; a frame ends when the line has been quiet for 3.5 characters (at
    /// least 1.75 ms).
    func readRTU(fault: LinkFault) {
        var chunk = [UInt8](repeating: 0, count: 256)
        let got = chunk.withUnsafeMutableBytes { Glibc.read(context.socket, $0.baseAddress, 256) }
        if got > 0 {
            rtuFrame += chunk[0..<got]
            rtuLastByte = monotonicSeconds()
        }
        // Drain what belongs to this frame, then answer it.
        while waitReadable(milliseconds: 2) {
            let more = chunk.withUnsafeMutableBytes { Glibc.read(context.socket, $0.baseAddress, 256) }
            if more <= 0 { break }
            rtuFrame += chunk[0..<more]
        }
        let frame = rtuFrame
        rtuFrame.removeAll(keepingCapacity: true)
        guard frame.count >= 4, frame.count <= buffer.count, crc16(frame.dropLast(2)) == UInt16(frame[frame.count - 2]) | UInt16(frame[frame.count - 1]) << 8 else { return }
        guard device.module(unit: Int(frame[0])) != nil else { return }
        for (i, b) in frame.enumerated() { buffer[i] = b }
        try? context.setUnit(Int(frame[0]))
        answer(length: frame.count, unitOffset: 0, fault: fault)
    }

    /// Answers the request in `buffer` from its unit's map, or as `fault` says.
    func answer(length: Int, unitOffset: Int, fault: LinkFault) {
        requests += 1
        let unit = Int(buffer[unitOffset])
        let module = device.module(unit: unit)
        if let module { device.addressed(module) }
        switch fault {
        case .silent: return
        case .slow(let s):
            var ts = timespec(tv_sec: Int(s), tv_nsec: Int((s - s.rounded(.down)) * 1e9))
            nanosleep(&ts, nil)
        case .garbage:
            let junk: [UInt8] = [buffer[0], buffer[1], 0x03, 0xFF, 0x13, 0x37]
            _ = junk.withUnsafeBytes { Glibc.write(context.socket, $0.baseAddress, $0.count) }
            return
        case .exceptions:
            buffer.withUnsafeBufferPointer { b in if let base = b.baseAddress { try? context.replyException(base, code: 4) } }
            return
        case .none: break
        }
        buffer.withUnsafeBufferPointer { b in
            guard let base = b.baseAddress else { return }
            if let module { try? context.reply(base, length: length, map: device.registerMap(module)) }
            else { try? context.replyException(base, code: 11) }
        }
    }
}

/// The Modbus RTU CRC (polynomial 0xA001, initial 0xFFFF).
func crc16<S: Sequence>(_ bytes: S) -> UInt16 where S.Element == UInt8 {
    var crc: UInt16 = 0xFFFF
    for b in bytes {
        crc ^= UInt16(b)
        for _ in 0..<8 { crc = crc & 1 != 0 ? (crc >> 1) ^ 0xA001 : crc >> 1 }
    }
    return crc
}
