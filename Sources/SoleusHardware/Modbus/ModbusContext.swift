import CModbus

#if canImport(Glibc)
import Glibc
#endif

/// A libmodbus error: the errno value and libmodbus's text for it (`modbus_strerror`), which
/// covers Modbus exceptions ("Illegal data address") and framing errors ("Invalid CRC").
public struct ModbusError: Error, Sendable, Equatable, CustomStringConvertible {
    public var code: Int32
    public var text: String
    public init(code: Int32, text: String) {
        self.code = code
        self.text = text
    }

    /// The error of the libmodbus call that just failed; read before anything else can touch errno.
    static func last() -> ModbusError {
        let e = errno
        return ModbusError(code: e, text: String(cString: modbus_strerror(e)))
    }

    /// True for a Modbus exception reply (the module answered, refusing the request).
    public var isException: Bool { code > MODBUS_ENOBASE && code < soleus_EMBBADCRC }
    public var description: String { text }
}

/// One libmodbus connection (`modbus_t`). Every libmodbus call of the client and the server
/// goes through this file, so error handling is in one place.
///
/// Not thread-safe (libmodbus's own rule): one owner thread at a time.
public final class ModbusContext: @unchecked Sendable {
    let ctx: OpaquePointer
    public let endpoint: ModbusEndpoint

    public init(_ endpoint: ModbusEndpoint) throws(ModbusError) {
        self.endpoint = endpoint
        let made: OpaquePointer?
        switch endpoint {
        case .tcp(let host, let port): made = modbus_new_tcp(host, Int32(port))
        case .rtu(let device, let baud, let parity, let data, let stop):
            made = modbus_new_rtu(device, Int32(baud), CChar(UInt8(ascii: parity.rawValue.unicodeScalars.first ?? "N")), Int32(data), Int32(stop))
        }
        guard let made else { throw ModbusError.last() }
        ctx = made
        // No automatic reconnect or flush: a failure is reported, and the supervisor decides.
        modbus_set_error_recovery(ctx, MODBUS_ERROR_RECOVERY_NONE)
    }

    deinit {
        modbus_close(ctx)
        modbus_free(ctx)
    }

    @discardableResult
    func check(_ rc: Int32) throws(ModbusError) -> Int32 {
        if rc == -1 { throw ModbusError.last() }
        return rc
    }

    public func connect() throws(ModbusError) { try check(modbus_connect(ctx)) }
    /// Discards whatever is left in the receive buffer (the rest of a garbled or late reply), so
    /// the next request is not paired with it.
    public func flush() { _ = modbus_flush(ctx) }
    public func close() { modbus_close(ctx) }

    public func setUnit(_ unit: Int) throws(ModbusError) { try check(modbus_set_slave(ctx, Int32(unit))) }

    /// The reply timeout, and the same bound between two bytes of a reply.
    public func setTimeout(_ seconds: Double) {
        let s = UInt32(max(0, seconds).rounded(.down))
        let us = UInt32(((seconds - Double(s)) * 1e6).rounded())
        modbus_set_response_timeout(ctx, s, min(us, 999_999))
        modbus_set_byte_timeout(ctx, s, min(us, 999_999))
    }

    /// FC04 (input) or FC03 (holding) registers `start ..< start + buffer.count` into `buffer`.
    public func readRegisters(input: Bool, start: UInt16, into buffer: UnsafeMutableBufferPointer<UInt16>) throws(ModbusError) {
        guard let base = buffer.baseAddress else { return }
        let n = Int32(buffer.count)
        let got = input ? modbus_read_input_registers(ctx, Int32(start), n, base) : modbus_read_registers(ctx, Int32(start), n, base)
        if try check(got) != n { throw ModbusError(code: soleus_EMBBADDATA, text: "reply had \(got) registers, expected \(n)") }
    }

    /// FC01 coils into `buffer` (one byte per coil).
    public func readCoils(start: UInt16, into buffer: UnsafeMutableBufferPointer<UInt8>) throws(ModbusError) {
        guard let base = buffer.baseAddress else { return }
        try check(modbus_read_bits(ctx, Int32(start), Int32(buffer.count), base))
    }

    /// FC15 coils (one byte per coil, 0 or 1).
    public func writeCoils(start: UInt16, _ values: UnsafeBufferPointer<UInt8>) throws(ModbusError) {
        guard let base = values.baseAddress else { return }
        try check(modbus_write_bits(ctx, Int32(start), Int32(values.count), base))
    }

    /// FC16 holding registers.
    public func writeRegisters(start: UInt16, _ values: UnsafeBufferPointer<UInt16>) throws(ModbusError) {
        guard let base = values.baseAddress else { return }
        try check(modbus_write_registers(ctx, Int32(start), Int32(values.count), base))
    }

    /// FC06 one holding register.
    public func writeRegister(_ address: UInt16, _ value: UInt16) throws(ModbusError) {
        try check(modbus_write_register(ctx, Int32(address), value))
    }

    /// The connection's file descriptor (-1 when closed).
    public var socket: Int32 { modbus_get_socket(ctx) }
    public func setSocket(_ fd: Int32) { modbus_set_socket(ctx, fd) }
    /// Bytes before the function code in a request: 1 for RTU (unit), 7 for TCP (MBAP header).
    public var headerLength: Int { Int(modbus_get_header_length(ctx)) }

    // MARK: server side (the simulator as a device)

    /// Listens on the TCP endpoint; returns the listening socket.
    public func listen() throws(ModbusError) -> Int32 { try check(modbus_tcp_listen(ctx, 4)) }

    /// Accepts one TCP client on `server`; the context then talks to it.
    public func accept(_ server: Int32) throws(ModbusError) {
        var s = server
        try check(modbus_tcp_accept(ctx, &s))
    }

    /// Receives one request into `buffer` (at least ``maxADU`` bytes). Returns its length; 0 for an
    /// RTU frame addressed to another unit.
    public func receive(into buffer: UnsafeMutablePointer<UInt8>) throws(ModbusError) -> Int {
        Int(try check(modbus_receive(ctx, buffer)))
    }

    /// Answers `request` from `map`.
    public func reply(_ request: UnsafePointer<UInt8>, length: Int, map: ModbusRegisterMap) throws(ModbusError) {
        try check(modbus_reply(ctx, request, Int32(length), map.mapping))
    }

    /// Answers `request` with Modbus exception `code`.
    public func replyException(_ request: UnsafePointer<UInt8>, code: UInt32) throws(ModbusError) {
        try check(modbus_reply_exception(ctx, request, code))
    }

    /// The largest request or reply (TCP ADU).
    public static let maxADU = Int(MODBUS_TCP_MAX_ADU_LENGTH)
}

/// A libmodbus register map (`modbus_mapping_t`): the tables a server answers from. Addresses
/// start at 0. Owned by the server's thread.
public final class ModbusRegisterMap: @unchecked Sendable {
    let mapping: UnsafeMutablePointer<modbus_mapping_t>

    public init(coils: Int, discreteInputs: Int = 0, holdingRegisters: Int, inputRegisters: Int) throws(ModbusError) {
        guard let m = modbus_mapping_new(Int32(coils), Int32(discreteInputs), Int32(holdingRegisters), Int32(inputRegisters)) else {
            throw ModbusError.last()
        }
        mapping = m
    }

    deinit { modbus_mapping_free(mapping) }

    public var coilCount: Int { Int(mapping.pointee.nb_bits) }
    public var holdingCount: Int { Int(mapping.pointee.nb_registers) }
    public var inputCount: Int { Int(mapping.pointee.nb_input_registers) }

    public func coil(_ a: UInt16) -> Bool { Int(a) < coilCount && mapping.pointee.tab_bits[Int(a)] != 0 }
    public func setCoil(_ a: UInt16, _ on: Bool) { if Int(a) < coilCount { mapping.pointee.tab_bits[Int(a)] = on ? 1 : 0 } }
    public func holding(_ a: UInt16) -> UInt16 { Int(a) < holdingCount ? mapping.pointee.tab_registers[Int(a)] : 0 }
    public func setHolding(_ a: UInt16, _ v: UInt16) { if Int(a) < holdingCount { mapping.pointee.tab_registers[Int(a)] = v } }
    public func input(_ a: UInt16) -> UInt16 { Int(a) < inputCount ? mapping.pointee.tab_input_registers[Int(a)] : 0 }
    public func setInput(_ a: UInt16, _ v: UInt16) { if Int(a) < inputCount { mapping.pointee.tab_input_registers[Int(a)] = v } }
}
