import SoleusHardware

#if canImport(Glibc)
import Glibc
#endif

/// A libgpiod stand-in for tests: a chip of `lineCount` lines whose calls fail as the test
/// scripts (EBUSY on a held line, EACCES, ENOENT), and which records every level written and
/// every release, so the GPIO backend's error paths and its vent-then-release order are testable
/// on machines without a GPIO chip. The real kernel path is proven on gpio-sim under QEMU.
public final class ScriptedGPIOLibrary: GPIOLibrary, @unchecked Sendable {
    public enum Call: Equatable, Sendable {
        case open(String), requestOutputs([UInt32], [Int32]), set([Int32]), requestInput(UInt32, bias: Int32)
        case releaseOutputs, releaseInput, close
    }

    public var lineCount: Int
    /// errno for opening the chip (nil: it opens).
    public var openError: Int32?
    /// Lines another consumer holds (requesting them fails with EBUSY).
    public var busy: Set<UInt32> = []
    /// The input's level (1 = high) and queued edge events.
    public var inputLevel: Int32 = 0
    public var queuedRising = 0
    public var queuedFalling = 0
    public private(set) var calls: [Call] = []
    let token = UnsafeMutableRawPointer.allocate(byteCount: 1, alignment: 1)

    public init(lineCount: Int = 32) { self.lineCount = lineCount }
    deinit { token.deallocate() }

    var handle: GPIOHandle { GPIOHandle(OpaquePointer(token)) }

    public func openChip(_ chip: String) -> Result<GPIOHandle, GPIOErrno> {
        calls.append(.open(chip))
        if let e = openError { return .failure(GPIOErrno(e)) }
        return .success(handle)
    }

    public func lineCount(_ chip: GPIOHandle) -> Int { lineCount }
    public func closeChip(_ chip: GPIOHandle) { calls.append(.close) }

    public func requestOutputs(_ chip: GPIOHandle, offsets: [UInt32], levels: [Int32], consumer: String) -> Result<GPIOHandle, GPIOErrno> {
        calls.append(.requestOutputs(offsets, levels))
        if offsets.contains(where: busy.contains) { return .failure(GPIOErrno(EBUSY)) }
        if offsets.contains(where: { Int($0) >= lineCount }) { return .failure(GPIOErrno(EINVAL)) }
        return .success(handle)
    }

    public func setOutputs(_ request: GPIOHandle, _ levels: UnsafePointer<Int32>) -> GPIOErrno? {
        guard case .requestOutputs(let offsets, _)? = calls.first(where: { if case .requestOutputs = $0 { true } else { false } }) else { return GPIOErrno(EINVAL) }
        calls.append(.set(Array(UnsafeBufferPointer(start: levels, count: offsets.count))))
        return nil
    }

    public func releaseOutputs(_ request: GPIOHandle) { calls.append(.releaseOutputs) }

    public func requestInput(_ chip: GPIOHandle, offset: UInt32, consumer: String, bias: Int32) -> Result<GPIOHandle, GPIOErrno> {
        calls.append(.requestInput(offset, bias: bias))
        if busy.contains(offset) { return .failure(GPIOErrno(EBUSY)) }
        return .success(handle)
    }

    public func level(_ line: GPIOHandle) -> Result<Int32, GPIOErrno> { .success(inputLevel) }

    public func drainEvents(_ line: GPIOHandle) -> Result<(rising: Int, falling: Int), GPIOErrno> {
        defer { queuedRising = 0; queuedFalling = 0 }
        return .success((queuedRising, queuedFalling))
    }

    public func releaseInput(_ line: GPIOHandle) { calls.append(.releaseInput) }

    /// The levels of every `set` call, in order.
    public var writes: [[Int32]] { calls.compactMap { if case .set(let v) = $0 { v } else { nil } } }
}
