import SoleusHardware
import SoleusTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The GPIO backend's error paths and ordering against a scripted libgpiod; the same code is run
/// against real kernel lines in `GPIOSimKernelTests`.
@Suite struct GPIOBankTests {
    let outputs = [GPIOBank.Output(line: 17, name: "pump"), GPIOBank.Output(line: 5, name: "ankle.inlet")]
    let estop = GPIOBank.Input(line: 22, name: "emergency stop", activeLow: false, bias: 1)

    func open(_ lib: ScriptedGPIOLibrary, initial: [Bool] = [false, true]) throws -> GPIOBank {
        try GPIOBank(chip: "gpiochip0", consumer: "soleus", outputs: outputs, initial: initial, input: estop, library: lib)
    }

    @Test func requestsEveryOutputInOneBulkRequestAtTheVentedLevels() throws {
        let lib = ScriptedGPIOLibrary()
        let bank = try open(lib, initial: [false, true])
        #expect(lib.calls.contains(.requestOutputs([17, 5], [0, 1])))
        #expect(lib.calls.contains(.requestInput(22, bias: 1)))
        bank.close()
    }

    @Test func writesOnlyWhenALevelChanges() throws {
        let lib = ScriptedGPIOLibrary()
        let bank = try open(lib)
        try bank.flush()
        #expect(lib.writes.isEmpty)
        bank.set(0, true)
        try bank.flush()
        try bank.flush()
        #expect(lib.writes == [[1, 1]])
    }

    @Test func aMissingChipNamesTheChipAndHowToListThem() {
        let lib = ScriptedGPIOLibrary()
        lib.openError = ENOENT
        let e = #expect(throws: HardwareError.self) { try open(lib) }
        #expect(e?.device == "gpio gpiochip0")
        #expect(e?.message.contains("gpiodetect") == true)
    }

    @Test func permissionProblemsSayWhatToDo() {
        let lib = ScriptedGPIOLibrary()
        lib.openError = EACCES
        let e = #expect(throws: HardwareError.self) { try open(lib) }
        #expect(e?.message.contains("permission denied") == true)
    }

    @Test func aBusyLineNamesTheLinesAndTheChipAndReleasesTheChip() {
        let lib = ScriptedGPIOLibrary()
        lib.busy = [5]
        let e = #expect(throws: HardwareError.self) { try open(lib) }
        #expect(e?.device.contains("line 17 (pump), 5 (ankle.inlet)") == true)
        #expect(e?.message.contains("EBUSY") == true)
        #expect(lib.calls.filter { $0 == .close }.count == 1, "closed once, not again on deinit: \(lib.calls)")
    }

    @Test func aBusyEStopReleasesTheOutputsAlreadyRequested() {
        let lib = ScriptedGPIOLibrary()
        lib.busy = [22]
        let e = #expect(throws: HardwareError.self) { try open(lib) }
        #expect(e?.device.contains("line 22 (emergency stop)") == true)
        #expect(lib.calls.filter { $0 == .releaseOutputs || $0 == .close } == [.releaseOutputs, .close])
    }

    @Test func anOffsetBeyondTheChipIsRefusedBeforeAnyRequest() {
        let lib = ScriptedGPIOLibrary(lineCount: 16)
        let e = #expect(throws: HardwareError.self) { try open(lib) }
        #expect(e?.device == "gpio gpiochip0 line 17 (pump)")
        #expect(e?.message.contains("the chip has 16 lines (0–15)") == true)
        #expect(!lib.calls.contains { if case .requestOutputs = $0 { true } else { false } })
        #expect(lib.calls.filter { $0 == .close }.count == 1)
    }

    @Test func anEStopPressBetweenTwoReadsIsNotLost() throws {
        let lib = ScriptedGPIOLibrary()
        let bank = try open(lib)
        #expect(try bank.inputActive() == false)
        lib.queuedRising = 1   // pressed and released again between two ticks
        lib.queuedFalling = 1
        #expect(try bank.inputActive() == true)
        #expect(try bank.inputActive() == false)
        lib.inputLevel = 1     // held
        #expect(try bank.inputActive() == true)
    }

    @Test func closeReleasesEverythingOnce() throws {
        let lib = ScriptedGPIOLibrary()
        let bank = try open(lib)
        bank.close()
        bank.close()
        #expect(lib.calls.filter { $0 == .releaseOutputs || $0 == .releaseInput || $0 == .close }.count == 3)
    }
}
