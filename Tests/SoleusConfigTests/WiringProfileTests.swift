import Foundation
import SoleusConfig
import SoleusCore
import SoleusHardware
import Testing

/// Real boots' profiles (`backend = "io"`): each wiring mistake is one clear error naming its key.
@Suite struct WiringProfileTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    static let rtu = (try? String(contentsOfFile: root + "/hardware/modbus-rtu-dvt.toml", encoding: .utf8)) ?? ""

    func issues(_ text: String) -> [ConfigIssue] { profileIssues(text) }

    @Test func theShippedRealProfilesParse() throws {
        for name in ["modbus-rtu-dvt", "rpi-relay-board-rtu-analog", "modbus-tcp-wago"] {
            let p = try HardwareProfileFile.load(path: Self.root + "/hardware/\(name).toml")
            let w = try #require(p.wiring, "\(name) is a real boot")
            #expect(w.pressures.count == 2 * p.boot.chambers.count, "\(name): a primary and a redundant transducer per chamber")
            #expect(p.model != nil, "\(name) carries its garment model for timing predictions")
        }
    }

    @Test func theRTUProfileWiresEverySignalOnce() throws {
        let p = try HardwareProfileFile.parse(Self.rtu, file: "rtu.toml")
        let w = try #require(p.wiring)
        #expect(w.outputs.count == 8)
        #expect(w.modbusOutputs.count == 8 && w.gpioOutputs.isEmpty)
        #expect(w.modbus?.endpoint == .rtu(device: "/dev/ttyUSB0", baud: 115200, parity: .none, dataBits: 8, stopBits: 1))
        let map = ModbusMap(wiring: w)
        #expect(map.modules[1].inputSpan == 0...5)
        #expect(map.modules[0].coilSpan == 0...7)
    }

    @Test func nineThousandSixHundredBaudIsRejectedWithTheNumbers() {
        let found = issues(Self.rtu.replacingFirst("115200,8N1", with: "9600,8N1"))
        #expect(found.map(\.keyPath) == ["modbus"])
        #expect(found.first?.message.contains("one poll cycle takes") == true && found.first?.message.contains("longer than the 20.0 ms period") == true, "\(found)")
    }

    @Test func anEStopOnAModbusModuleIsRefused() {
        let text = Self.rtu.replacingFirst("safety_relay = { module", with: "emergency_stop = { module = \"relays\", coil = 9 }\nsafety_relay = { module")
        let found = issues(text)
        #expect(found.map(\.keyPath) == ["wiring.emergency_stop.module"])
        #expect(found.first?.message.contains("never only through a Modbus module") == true)
    }

    @Test func aCoilUsedTwiceNamesBoth() {
        let found = issues(Self.rtu.replacingFirst("coil = 3 }", with: "coil = 1 }"))
        #expect(found.map(\.keyPath) == ["wiring.calf.inlet"])
        #expect(found.first?.message == "module relays coil 1 is already used by wiring.ankle.inlet")
    }

    @Test func anUnknownModuleListsTheModules() {
        let found = issues(Self.rtu.replacingFirst("inlet = { module = \"relays\", coil = 1 }", with: "inlet = { module = \"relay\", coil = 1 }"))
        #expect(found.map(\.keyPath) == ["wiring.ankle.inlet.module"])
        #expect(found.first?.message.contains("modules: relays, analog") == true)
    }

    @Test func aChamberWithoutWiringIsNamed() {
        let found = issues(Self.rtu.replacingFirst("[wiring.thigh]", with: "[wiring.hip]"))
        #expect(found.map(\.keyPath).contains("wiring.thigh"))
        #expect(found.map(\.keyPath).contains("wiring.hip"))
    }

    @Test func aCalibrationNeedsTwoDistinctPoints() {
        let found = issues(Self.rtu.replacingFirst("raw = [4000, 20000]", with: "raw = [4000, 4000]"))
        #expect(found.map(\.keyPath) == ["wiring.ankle.pressure"])
        #expect(found.first?.message.contains("two different points") == true)
    }

    @Test func aModulesRegistersMustFitOneRequest() {
        // Registers 0 and 60000 on one module would need a 60 001-register read.
        let found = issues(Self.rtu.replacingFirst("input_register = 5,", with: "input_register = 60000,"))
        #expect(found.map(\.keyPath) == ["modbus.module[1]"])
        #expect(found.first?.message.contains("one read carries at most 125") == true, "\(found)")
    }

    @Test func calibrationPointsMustBeFinite() {
        let found = issues(Self.rtu.replacingFirst("raw = [4000, 20000]", with: "raw = [nan, 20000]"))
        #expect(found.map(\.keyPath) == ["wiring.ankle.pressure.raw[0]"])
    }

    @Test func redundantSensorsMustBeDeclaredToBeWired() {
        let found = issues(Self.rtu.replacingFirst("redundant_sensors = true", with: "redundant_sensors = false"))
        #expect(found.count == 3)
        #expect(found.allSatisfy { $0.keyPath.hasSuffix(".redundant_pressure") })
    }

    @Test func aGPIOLineWithoutAChipIsRefused() {
        let found = issues(Self.rtu.replacingFirst("pump = { module = \"relays\", coil = 0 }", with: "pump = { gpio = 17 }"))
        #expect(found.map(\.keyPath) == ["wiring.pump.gpio"])
        #expect(found.first?.message.contains("[gpio] table") == true)
    }

    @Test func unsafeWiringIsWarnedAbout() throws {
        let p = try HardwareProfileFile.parse(Self.rtu.replacingFirst("exhaust = { module = \"relays\", coil = 2 }", with: "exhaust = { module = \"relays\", coil = 2, valve = \"normally-closed\" }"), file: "rtu.toml")
        #expect(p.warnings.contains { $0.contains("wiring.ankle.exhaust is a normally-closed exhaust") })
        #expect(p.warnings.contains { $0.contains("no communication watchdog") })
    }

    @Test func theEndpointCanBeOverriddenAndIsCheckedAgain() throws {
        let p = try HardwareProfileFile.parse(Self.rtu, file: "rtu.toml")
        let tcp = try p.overridingModbus("tcp://127.0.0.1:1502")
        #expect(tcp.wiring?.modbus?.endpoint == .tcp(host: "127.0.0.1", port: 1502))
        #expect(throws: ConfigError.self) { try p.overridingModbus("rtu:/dev/ttyS0,9600,8N1") }
        #expect(throws: ConfigError.self) { try p.overridingModbus("tcp://nowhere") }
    }
}
