import SoleusCore
import SoleusHardware
import Testing

@Suite struct CalibrationTests {
    let ma = Calibration.milliamps4to20(microampsFullScale: 300)

    @Test func fourToTwentyMilliampsMapsTwoPointsAndBetween() {
        #expect(ma.mmHg(raw: 4000) == 0)
        #expect(ma.mmHg(raw: 20000) == 300)
        #expect(abs(ma.mmHg(raw: 6400) - 45) < 1e-9)
    }

    @Test func namurFaultBandReadsAsNoReading() {
        #expect(ma.mmHg(raw: 3599).isNaN)      // below 3.6 mA: wire break
        #expect(ma.mmHg(raw: 21001).isNaN)     // above 21 mA: short circuit
        #expect(!ma.mmHg(raw: 3600).isNaN)     // the band's edges are readings (slightly below zero)
        #expect(!ma.mmHg(raw: 21000).isNaN)
        #expect(ma.fault(raw: 3000)?.contains("below the fault limit 3600") == true)
        #expect(ma.fault(raw: 12000) == nil)
    }

    @Test func faultCodesAndSignedRegisters() {
        let wago = Calibration(rawLow: 0, rawHigh: 32760, mmHgLow: 0, mmHgHigh: 300, faultCodes: [0x0003, 0x7FFF])
        #expect(wago.mmHg(raw: 3).isNaN)
        #expect(wago.mmHg(raw: 0x7FFF).isNaN)
        #expect(abs(wago.mmHg(raw: 16380) - 150) < 1e-9)
        let signed = Calibration(rawLow: -1000, rawHigh: 1000, mmHgLow: -100, mmHgHigh: 100, signed: true)
        #expect(signed.mmHg(raw: UInt16(bitPattern: -500)) == -50)
    }

    @Test func encodingForTheSimulatorRoundTrips() {
        for p in stride(from: 0.0, through: 150, by: 7.3) {
            #expect(abs(ma.mmHg(raw: ma.raw(mmHg: p)) - p) <= 300.0 / 16000 / 2 + 1e-9)
        }
        #expect(ma.mmHg(raw: ma.raw(mmHg: .nan)).isNaN) // a disconnected sensor is served as a fault
        #expect(ma.raw(mmHg: 1e9) == 65535)
    }
}

@Suite struct PolarityTests {
    let outputs = BootOutputs(pump: true, inlets: .chamber(0), exhausts: .chamber(1), power: true)

    @Test func exhaustsAreNormallyOpenSoEnergisingClosesThem() {
        let e0 = OutputWiring(signal: .exhaust(chamber: 0), place: .gpio(line: 1), name: "e0")
        let e1 = OutputWiring(signal: .exhaust(chamber: 1), place: .gpio(line: 2), name: "e1")
        #expect(e0.energised(by: outputs))     // chamber 0's exhaust commanded closed
        #expect(!e1.energised(by: outputs))    // chamber 1's exhaust open: de-energised
    }

    @Test func activeLowInvertsTheLevelNotTheMeaning() {
        let pump = OutputWiring(signal: .pump(drive: 0), place: .gpio(line: 3), activeLow: true, name: "pump")
        #expect(pump.energised(by: outputs))
        #expect(pump.level(for: outputs) == false)
        #expect(pump.level(for: .vented(chamberCount: 2)) == true)
    }

    @Test func theVentedStateDeEnergisesEveryFailSafeOutput() {
        let vented = BootOutputs.vented(chamberCount: 3)
        let all: [OutputWiring] = [
            .init(signal: .pump(drive: 0), place: .gpio(line: 0), name: "pump"),
            .init(signal: .safetyRelay(drive: 0), place: .gpio(line: 1), name: "relay"),
        ] + (0..<3).flatMap { c in [
            OutputWiring(signal: .inlet(chamber: c), place: .gpio(line: UInt32(2 + c)), name: "in"),
            OutputWiring(signal: .exhaust(chamber: c), place: .gpio(line: UInt32(5 + c)), name: "ex"),
        ] }
        #expect(all.allSatisfy { !$0.energised(by: vented) })
    }
}

@Suite struct EndpointTests {
    @Test func parsesTCPAndRTU() throws {
        #expect(try ModbusEndpoint(parsing: "tcp://127.0.0.1:1502") == .tcp(host: "127.0.0.1", port: 1502))
        #expect(try ModbusEndpoint(parsing: "rtu:/dev/ttyUSB0,115200,8E1") == .rtu(device: "/dev/ttyUSB0", baud: 115200, parity: .even, dataBits: 8, stopBits: 1))
        #expect(try ModbusEndpoint(parsing: "rtu:/dev/ttyUSB0,9600,8N2").bitsPerCharacter == 11)
    }

    @Test(arguments: ["tcp://host", "tcp://:502", "tcp://h:70000", "rtu:/dev/x,115200", "rtu:/dev/x,fast,8N1", "rtu:/dev/x,9600,8X1", "udp://h:1", ""])
    func rejectsMalformedEndpointsWithAReason(_ text: String) {
        #expect(throws: EndpointError.self) { try ModbusEndpoint(parsing: text) }
    }
}

@Suite struct BusBudgetTests {
    func wiring(_ endpoint: String, pressures: Int) throws -> (BootWiring, ModbusSettings) {
        let s = ModbusSettings(endpoint: try ModbusEndpoint(parsing: endpoint), modules: [ModbusModule(name: "ai", unit: 1), ModbusModule(name: "do", unit: 2)], turnaroundSeconds: 0)
        let p = (0..<pressures).map { PressureWiring(chamber: $0, module: 0, table: .input, register: UInt16($0), calibration: .milliamps4to20(microampsFullScale: 300), name: "p\($0)") }
        let o = (0..<8).map { OutputWiring(signal: .inlet(chamber: $0), place: .modbus(module: 1, .coil(UInt16($0))), name: "c\($0)") }
        return (BootWiring(gpioChip: nil, modbus: s, outputs: o, pressures: p, emergencyStop: nil), s)
    }

    @Test func frameTimesMatchTheSerialLineArithmetic() throws {
        let (w, s) = try wiring("rtu:/dev/x,9600,8N1", pressures: 4)
        let b = ModbusBudget(map: ModbusMap(wiring: w), settings: s)
        // Read 4 registers: 8 + 13 bytes; write 8 coils: 10 + 8 bytes; 10 bits a character,
        // a 3.5-character silence after each of the four frames.
        let expected = (21.0 + 18.0) * 10 / 9600 + 4 * 3.5 * 10 / 9600
        #expect(abs(b.cycleSeconds - expected) < 1e-9)
        #expect(b.transactions == 2)
    }

    @Test func nineThousandSixHundredBaudCannotPollAtFiftyHertz() throws {
        let (w, s) = try wiring("rtu:/dev/x,9600,8N1", pressures: 8)
        let budget = ModbusBudget(map: ModbusMap(wiring: w), settings: s)
        // 8 registers (29 bytes) and 8 coils (18 bytes) with four silences: 63.5 ms a cycle.
        let problems = budget.problems(settings: s, staleAfter: 0.1)
        #expect(problems == ["one poll cycle takes 63.5 ms on the bus (2 transactions at rtu:/dev/x,9600,8N1), longer than the 20.0 ms period of poll_hz = 50.0: raise the baud rate, lower poll_hz, or put fewer registers on the bus"])
        // Readings up to 83.5 ms old: over a tighter stale limit as well.
        #expect(budget.problems(settings: s, staleAfter: 0.08).count == 2)
        let (fast, f) = try wiring("rtu:/dev/x,115200,8N1", pressures: 8)
        #expect(ModbusBudget(map: ModbusMap(wiring: fast), settings: f).problems(settings: f, staleAfter: 0.1).isEmpty)
    }
}
