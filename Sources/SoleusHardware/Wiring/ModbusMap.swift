import SoleusCore

/// The wiring's Modbus side, module by module: which registers one poll reads and which coils or
/// registers an output write covers. Both the client (``ModbusLink``) and the simulator serving a
/// profile use it, so they agree on every address.
public struct ModbusMap: Sendable, Equatable {
    public struct Module: Sendable, Equatable {
        public var module: ModbusModule
        /// Pressures read with FC04, and the span one read covers.
        public var inputPressures: [PressureWiring]
        public var inputSpan: ClosedRange<UInt16>?
        /// Pressures read with FC03.
        public var holdingPressures: [PressureWiring]
        public var holdingSpan: ClosedRange<UInt16>?
        /// Outputs on coils (one FC15 write covers the span).
        public var coilOutputs: [OutputWiring]
        public var coilSpan: ClosedRange<UInt16>?
        /// Outputs on holding-register bits (one FC16 write covers the span).
        public var registerOutputs: [OutputWiring]
        public var registerSpan: ClosedRange<UInt16>?

        /// Spans beyond what one Modbus request may carry (125 registers read, 123 written, 1968
        /// coils), as messages naming the table.
        public var oversizedSpans: [String] {
            func size(_ s: ClosedRange<UInt16>?) -> Int { s.map { Int($0.upperBound - $0.lowerBound) + 1 } ?? 0 }
            var out: [String] = []
            if size(inputSpan) > 125 { out.append("its input registers span \(size(inputSpan)) addresses (\(inputSpan.map { "\($0.lowerBound)–\($0.upperBound)" } ?? "")); one read carries at most 125: keep each module's pressures within 125 consecutive registers") }
            if size(holdingSpan) > 125 { out.append("its holding registers for pressures span \(size(holdingSpan)) addresses; one read carries at most 125") }
            if size(coilSpan) > 1968 { out.append("its coils span \(size(coilSpan)) addresses; one write carries at most 1968") }
            if size(registerSpan) > 123 { out.append("its output registers span \(size(registerSpan)) addresses; one write carries at most 123") }
            return out
        }

        /// The coil values (one byte per coil of ``coilSpan``) that drive `outputs`; the buffer is
        /// reused, sized to the span.
        public func coilImage(for outputs: BootOutputs, into image: inout [UInt8]) {
            guard let s = coilSpan else { return }
            for o in coilOutputs {
                if case .modbus(_, .coil(let a)) = o.place { image[Int(a - s.lowerBound)] = o.level(for: outputs) ? 1 : 0 }
            }
        }

        /// The holding-register values (over ``registerSpan``) that drive `outputs`: the bits of
        /// the outputs set as their levels say, every other bit 0 (Soleus owns the registers it writes).
        public func registerImage(for outputs: BootOutputs, into image: inout [UInt16]) {
            guard let s = registerSpan else { return }
            for r in image.indices { image[r] = 0 }
            for o in registerOutputs {
                if case .modbus(_, .registerBit(let r, let bit)) = o.place, o.level(for: outputs) { image[Int(r - s.lowerBound)] |= 1 << UInt16(bit) }
            }
        }

        /// Zeroed buffers the size of the coil and output-register spans.
        public var emptyImages: (coils: [UInt8], registers: [UInt16]) {
            ([UInt8](repeating: 0, count: coilSpan.map { Int($0.upperBound - $0.lowerBound) + 1 } ?? 0),
             [UInt16](repeating: 0, count: registerSpan.map { Int($0.upperBound - $0.lowerBound) + 1 } ?? 0))
        }

        /// Read transactions one poll makes on this module.
        public var readsPerPoll: Int { (inputSpan == nil ? 0 : 1) + (holdingSpan == nil ? 0 : 1) }
    }

    public var modules: [Module]

    public init(wiring: BootWiring) {
        let settings = wiring.modbus
        modules = (settings?.modules ?? []).enumerated().map { i, m in
            let pressures = wiring.pressures.filter { $0.module == i }
            let input = pressures.filter { $0.table == .input }
            let holding = pressures.filter { $0.table == .holding }
            var coils: [OutputWiring] = []
            var bits: [OutputWiring] = []
            var coilAddresses: [UInt16] = []
            var registers: [UInt16] = []
            for o in wiring.outputs {
                guard case .modbus(let module, let point) = o.place, module == i else { continue }
                switch point {
                case .coil(let a): coils.append(o); coilAddresses.append(a)
                case .registerBit(let r, _): bits.append(o); registers.append(r)
                }
            }
            func span(_ a: [UInt16]) -> ClosedRange<UInt16>? {
                guard let lo = a.min(), let hi = a.max() else { return nil }
                return lo...hi
            }
            return Module(
                module: m, inputPressures: input, inputSpan: span(input.map(\.register)),
                holdingPressures: holding, holdingSpan: span(holding.map(\.register)),
                coilOutputs: coils, coilSpan: span(coilAddresses), registerOutputs: bits, registerSpan: span(registers))
        }
    }
}

/// The time one poll cycle takes on a Modbus RTU bus, from the baud rate and frame sizes, and
/// whether it meets the poll rate and the supervisor's staleness limit.
///
/// Each transaction: request and reply bytes × bits per character ÷ baud, a 3.5-character silence
/// after each frame (1.75 ms fixed above 19200 baud, as the Modbus serial-line spec sets), and the
/// module's turnaround. A poll cycle reads every module once and, in the worst case, writes every
/// module's outputs once.
public struct ModbusBudget: Sendable, Equatable {
    /// Seconds per poll cycle on the wire (reads plus writes).
    public var cycleSeconds: Double
    /// Of which reads.
    public var readSeconds: Double
    public var transactions: Int

    public init(map: ModbusMap, settings: ModbusSettings) {
        var read = 0.0, write = 0.0, count = 0
        let t = Self.transactionTime(settings)
        for m in map.modules {
            if let s = m.inputSpan { read += t(8, 5 + 2 * (Int(s.upperBound - s.lowerBound) + 1)); count += 1 }
            if let s = m.holdingSpan { read += t(8, 5 + 2 * (Int(s.upperBound - s.lowerBound) + 1)); count += 1 }
            if let s = m.coilSpan { write += t(9 + (Int(s.upperBound - s.lowerBound) + 8) / 8, 8); count += 1 }
            if let s = m.registerSpan { write += t(9 + 2 * (Int(s.upperBound - s.lowerBound) + 1), 8); count += 1 }
        }
        readSeconds = read
        cycleSeconds = read + write
        transactions = count
    }

    /// Seconds for a request of `req` bytes and a reply of `rsp` bytes (RTU framing with the
    /// unit and CRC; TCP: only the turnaround, the network being far faster than any serial line).
    static func transactionTime(_ s: ModbusSettings) -> (Int, Int) -> Double {
        guard case .rtu(_, let baud, _, _, _) = s.endpoint, let bits = s.endpoint.bitsPerCharacter else {
            return { _, _ in s.turnaroundSeconds }
        }
        let charTime = Double(bits) / Double(baud)
        let gap = baud > 19200 ? 0.00175 : 3.5 * charTime
        return { req, rsp in Double(req + rsp) * charTime + 2 * gap + s.turnaroundSeconds }
    }

    /// Problems with meeting the poll rate and the staleness limit, each with its numbers (empty
    /// when the budget holds).
    public func problems(settings: ModbusSettings, staleAfter: Double) -> [String] {
        var out: [String] = []
        let period = 1 / settings.pollRate
        let ms = { (v: Double) in formatFixed(v * 1000, decimals: 1) + " ms" }
        if cycleSeconds > period {
            out.append("one poll cycle takes \(ms(cycleSeconds)) on the bus (\(transactions) transactions at \(settings.endpoint)), longer than the \(ms(period)) period of poll_hz = \(formatFixed(settings.pollRate, decimals: 1)): raise the baud rate, lower poll_hz, or put fewer registers on the bus")
        }
        // A reading is at most a period plus the read that fetched it old when the next arrives.
        let worstAge = period + cycleSeconds
        if worstAge >= staleAfter {
            out.append("readings reach \(ms(worstAge)) old between polls (period \(ms(period)) + cycle \(ms(cycleSeconds))), at or above the supervisor's stale limit of \(ms(staleAfter)) (safety.stale_after_s): every session would vent with stale readings; poll faster or raise the baud rate")
        }
        return out
    }
}
