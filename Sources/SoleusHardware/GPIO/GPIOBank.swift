import SoleusCore

#if canImport(Glibc)
import Glibc
#endif

/// The GPIO side of a real boot: the output lines (pump, safety relay, valves), requested in one
/// bulk request whose initial levels are the vented state, and the E-stop input read through its
/// edge events without blocking.
///
/// Single owner: the control loop's thread. ``close()`` releases the lines; real chips keep the
/// last level after release, so the owner vents first (``HardwareBoot`` does).
public final class GPIOBank {
    /// One output line: its offset and the name the profile gives it.
    public struct Output: Sendable, Hashable {
        public var line: UInt32
        public var name: String
        public init(line: UInt32, name: String) {
            self.line = line
            self.name = name
        }
    }

    public struct Input: Sendable, Hashable {
        public var line: UInt32
        public var name: String
        public var activeLow: Bool
        /// 0 as is, 1 pull-up, 2 pull-down.
        public var bias: Int32
        public init(line: UInt32, name: String, activeLow: Bool, bias: Int32) {
            self.line = line
            self.name = name
            self.activeLow = activeLow
            self.bias = bias
        }
    }

    let library: GPIOLibrary
    public let chipName: String
    let chip: GPIOHandle
    var request: GPIOHandle?
    var input: GPIOHandle?
    let inputWiring: Input?
    /// The levels last written, one per output line.
    var levels: [Int32]
    var written: [Int32]

    /// Opens `chip` and requests `outputs` driving `initial` levels (the vented state) and the
    /// E-stop input. Errors name the chip, the line and what to do.
    public init(chip chipName: String, consumer: String, outputs: [Output], initial: [Bool], input: Input?, library: GPIOLibrary = LibGPIOD()) throws(HardwareError) {
        self.library = library
        self.chipName = chipName
        inputWiring = input
        levels = initial.map { $0 ? 1 : 0 }
        written = levels
        switch library.openChip(chipName) {
        case .success(let c): chip = c
        case .failure(let e): throw Self.openError(chipName, e)
        }
        let count = library.lineCount(chip)
        // Every failure below closes through close(), exactly once: a class whose init throws
        // after its properties are set is deinitialised, and deinit closes too.
        for o in outputs where Int(o.line) >= count {
            close()
            throw HardwareError(device: "gpio \(chipName) line \(o.line) (\(o.name))", message: "no such line: the chip has \(count) lines (0–\(count - 1)); check the profile's line number against `gpioinfo \(chipName)`")
        }
        if let i = input, Int(i.line) >= count {
            close()
            throw HardwareError(device: "gpio \(chipName) line \(i.line) (\(i.name))", message: "no such line: the chip has \(count) lines (0–\(count - 1)); check the profile's line number against `gpioinfo \(chipName)`")
        }
        if !outputs.isEmpty {
            switch library.requestOutputs(chip, offsets: outputs.map(\.line), levels: levels, consumer: consumer) {
            case .success(let r): request = r
            case .failure(let e):
                close()
                throw Self.requestError(chipName, lines: outputs.map { "\($0.line) (\($0.name))" }.joined(separator: ", "), e)
            }
        }
        if let i = input {
            switch library.requestInput(chip, offset: i.line, consumer: consumer, bias: i.bias) {
            case .success(let l): self.input = l
            case .failure(let e):
                close()
                throw Self.requestError(chipName, lines: "\(i.line) (\(i.name))", e)
            }
        }
    }

    deinit { close() }

    static func openError(_ chip: String, _ e: GPIOErrno) -> HardwareError {
        let device = "gpio \(chip)"
        switch e.code {
        case ENOENT, ENODEV: return HardwareError(device: device, message: "no such GPIO chip (\(e.text)); `gpiodetect` lists the chips this board has")
        case EACCES, EPERM: return HardwareError(device: device, message: "permission denied (\(e.text)); add the user to the group owning /dev/gpiochip* (often `gpio`) or run as root")
        default: return HardwareError(device: device, message: "cannot open the chip: \(e.text)")
        }
    }

    static func requestError(_ chip: String, lines: String, _ e: GPIOErrno) -> HardwareError {
        let device = "gpio \(chip) line \(lines)"
        switch e.code {
        case EBUSY: return HardwareError(device: device, message: "line busy (EBUSY): another program or driver holds it; `gpioinfo \(chip)` shows its consumer")
        case EINVAL: return HardwareError(device: device, message: "invalid line or setting (EINVAL): check the line number and that the line can be an output/input")
        case EACCES, EPERM: return HardwareError(device: device, message: "permission denied (\(e.text)); add the user to the group owning /dev/gpiochip* or run as root")
        default: return HardwareError(device: device, message: "cannot request the line: \(e.text)")
        }
    }

    /// Sets output `index` to `level` (written by ``flush()``).
    @inline(__always) public func set(_ index: Int, _ level: Bool) { levels[index] = level ? 1 : 0 }

    /// Writes the levels, in one call, when any changed.
    public func flush() throws(HardwareError) {
        guard let request, levels != written else { return }
        let error = levels.withUnsafeBufferPointer { b in b.baseAddress.flatMap { library.setOutputs(request, $0) } }
        if let error { throw HardwareError(device: "gpio \(chipName)", message: "setting the output lines failed: \(error.text)") }
        written = levels
    }

    /// True while the input reads active, or when it went active at any moment since the last
    /// call (an edge between two ticks is not lost).
    public func inputActive() throws(HardwareError) -> Bool {
        guard let input, let w = inputWiring else { return false }
        let device = "gpio \(chipName) line \(w.line) (\(w.name))"
        var pressedBetween = false
        switch library.drainEvents(input) {
        case .success(let (up, down)): pressedBetween = w.activeLow ? down > 0 : up > 0
        case .failure(let e): throw HardwareError(device: device, message: "reading edge events failed: \(e.text)")
        }
        switch library.level(input) {
        case .success(let v): return pressedBetween || (v != 0) != w.activeLow
        case .failure(let e): throw HardwareError(device: device, message: "reading the input failed: \(e.text)")
        }
    }

    /// The output levels last written (1 = line high), for checks.
    public var writtenLevels: [Int32] { written }

    /// Releases the lines and closes the chip (idempotent). Vent before: lines keep their level.
    public func close() {
        guard !closed else { return }
        if let request { library.releaseOutputs(request) }
        if let input { library.releaseInput(input) }
        library.closeChip(chip)
        request = nil
        input = nil
        closed = true
    }

    var closed = false
}

extension BootWiring {
    /// The GPIO output lines, in ``gpioOutputs`` order.
    public var gpioBankOutputs: [GPIOBank.Output] {
        gpioOutputs.compactMap { o in
            if case .gpio(let line) = o.place { GPIOBank.Output(line: line, name: o.name) } else { nil }
        }
    }

    /// The E-stop input, if wired.
    public var gpioBankInput: GPIOBank.Input? {
        emergencyStop.map { e in
            GPIOBank.Input(line: e.line, name: "emergency stop", activeLow: e.activeLow, bias: e.bias == .pullUp ? 1 : e.bias == .pullDown ? 2 : 0)
        }
    }
}

extension GPIOBank {
    /// Opens `chip` with the wiring's GPIO outputs at their vented levels and its E-stop input.
    public convenience init(wiring: BootWiring, chip: String, library: GPIOLibrary) throws(HardwareError) {
        let vented = BootOutputs.vented(chamberCount: maxChambers)
        try self.init(
            chip: chip, consumer: wiring.consumer, outputs: wiring.gpioBankOutputs,
            initial: wiring.gpioOutputs.map { $0.level(for: vented) }, input: wiring.gpioBankInput, library: library)
    }
}
