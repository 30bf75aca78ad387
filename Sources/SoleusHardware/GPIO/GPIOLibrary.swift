import CGPIOD

#if canImport(Glibc)
import Glibc
#endif

/// The libgpiod calls the GPIO backend makes: the one seam between Swift and the C library
/// (after swift-system's single internal syscall layer). ``LibGPIOD`` is the real one; tests put
/// a double here to reach every error path on machines without a GPIO chip. Every failure
/// returns the errno value.
public protocol GPIOLibrary: Sendable {
    func openChip(_ chip: String) -> Result<GPIOHandle, GPIOErrno>
    func lineCount(_ chip: GPIOHandle) -> Int
    func closeChip(_ chip: GPIOHandle)
    /// Requests `offsets` as outputs in one bulk request, driving `levels` (0/1) from the start.
    func requestOutputs(_ chip: GPIOHandle, offsets: [UInt32], levels: [Int32], consumer: String) -> Result<GPIOHandle, GPIOErrno>
    /// Sets every line of an output request (`levels.count` = its line count) in one call.
    func setOutputs(_ request: GPIOHandle, _ levels: UnsafePointer<Int32>) -> GPIOErrno?
    func releaseOutputs(_ request: GPIOHandle)
    /// Requests one input with edge events on both edges, read without blocking.
    func requestInput(_ chip: GPIOHandle, offset: UInt32, consumer: String, bias: Int32) -> Result<GPIOHandle, GPIOErrno>
    func level(_ line: GPIOHandle) -> Result<Int32, GPIOErrno>
    /// Drains the queued edge events: (rising, falling) counts.
    func drainEvents(_ line: GPIOHandle) -> Result<(rising: Int, falling: Int), GPIOErrno>
    func releaseInput(_ line: GPIOHandle)
}

/// An opaque libgpiod object (a chip, a bulk request, a line).
public struct GPIOHandle: @unchecked Sendable, Hashable {
    public let raw: OpaquePointer
    public init(_ raw: OpaquePointer) { self.raw = raw }
}

/// An errno value from libgpiod.
public struct GPIOErrno: Error, Sendable, Hashable {
    public var code: Int32
    public init(_ code: Int32) { self.code = code }
    static var current: GPIOErrno { GPIOErrno(errno) }
    public var text: String { String(cString: strerror(code)) }
}

/// The real libgpiod (through the C facade in `Sources/CGPIOD/shim.h`).
public struct LibGPIOD: GPIOLibrary {
    public init() {}

    public func openChip(_ chip: String) -> Result<GPIOHandle, GPIOErrno> {
        guard let c = soleus_gpio_open(chip) else { return .failure(.current) }
        return .success(GPIOHandle(c))
    }

    public func lineCount(_ chip: GPIOHandle) -> Int { Int(soleus_gpio_line_count(chip.raw)) }
    public func closeChip(_ chip: GPIOHandle) { soleus_gpio_close(chip.raw) }

    public func requestOutputs(_ chip: GPIOHandle, offsets: [UInt32], levels: [Int32], consumer: String) -> Result<GPIOHandle, GPIOErrno> {
        let r = offsets.map { CUnsignedInt($0) }.withUnsafeBufferPointer { o in
            levels.withUnsafeBufferPointer { v in
                soleus_gpio_request_outputs(chip.raw, o.baseAddress, v.baseAddress, UInt32(offsets.count), consumer)
            }
        }
        guard let r else { return .failure(.current) }
        return .success(GPIOHandle(OpaquePointer(r)))
    }

    public func setOutputs(_ request: GPIOHandle, _ levels: UnsafePointer<Int32>) -> GPIOErrno? {
        soleus_gpio_set_outputs(UnsafeMutablePointer<soleus_gpio_outputs>(request.raw), levels) < 0 ? .current : nil
    }

    public func releaseOutputs(_ request: GPIOHandle) {
        soleus_gpio_release_outputs(UnsafeMutablePointer<soleus_gpio_outputs>(request.raw))
    }

    public func requestInput(_ chip: GPIOHandle, offset: UInt32, consumer: String, bias: Int32) -> Result<GPIOHandle, GPIOErrno> {
        guard let l = soleus_gpio_request_input_events(chip.raw, offset, consumer, bias) else { return .failure(.current) }
        return .success(GPIOHandle(l))
    }

    public func level(_ line: GPIOHandle) -> Result<Int32, GPIOErrno> {
        let v = soleus_gpio_get(line.raw)
        return v < 0 ? .failure(.current) : .success(v)
    }

    public func drainEvents(_ line: GPIOHandle) -> Result<(rising: Int, falling: Int), GPIOErrno> {
        var up: Int32 = 0, down: Int32 = 0
        if soleus_gpio_drain_events(line.raw, &up, &down) < 0 { return .failure(.current) }
        return .success((Int(up), Int(down)))
    }

    public func releaseInput(_ line: GPIOHandle) { soleus_gpio_release_line(line.raw) }
}
