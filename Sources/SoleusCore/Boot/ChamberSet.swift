/// The most chambers a boot may have, over all its limbs: lymphoedema garments reach 24–32
/// (Flexitouch, FDA K153311). The fixed bound lets per-chamber state live in inline storage, so the
/// control tick never allocates; `docs/performance.md` has the tick cost at 32.
public let maxChambers = 32

/// A set of chamber indices (0 = most distal), stored as a bit mask: the state of a valve bank in
/// one machine word.
public struct ChamberSet: Sendable, Hashable, SetAlgebra, OptionSet {
    public var rawValue: UInt32
    @inlinable public init(rawValue: UInt32) { self.rawValue = rawValue }
    @inlinable public init() { rawValue = 0 }

    /// The set holding only chamber `index`.
    @inlinable public static func chamber(_ index: Int) -> ChamberSet { ChamberSet(rawValue: 1 << UInt32(index)) }

    /// Every chamber of a boot with `count` chambers.
    @inlinable public static func all(_ count: Int) -> ChamberSet {
        ChamberSet(rawValue: UInt32((1 << count) - 1))
    }

    @inlinable public func contains(index: Int) -> Bool { rawValue & (1 << UInt32(index)) != 0 }

    @inlinable public mutating func set(_ index: Int, _ on: Bool) {
        if on { rawValue |= 1 << UInt32(index) } else { rawValue &= ~(1 << UInt32(index)) }
    }

    /// How many chambers are in the set.
    @inlinable public var count: Int { rawValue.nonzeroBitCount }
}

/// One `Double` per chamber in fixed inline storage (no heap), indexed 0 = most distal.
public struct ChamberValues: Sendable, Equatable {
    @usableFromInline var storage: InlineArray<32, Double>

    /// All chambers set to `value`.
    @inlinable public init(repeating value: Double = 0) { storage = InlineArray(repeating: value) }

    /// Values from an array (at most ``maxChambers``); missing chambers are zero.
    public init(_ values: [Double]) {
        storage = InlineArray(repeating: 0)
        for (i, v) in values.prefix(maxChambers).enumerated() { storage[i] = v }
    }

    @inlinable public subscript(index: Int) -> Double {
        get { storage[index] }
        set { storage[index] = newValue }
    }

    /// The first `count` values as an array (allocates: not for the control tick).
    public func array(count: Int) -> [Double] { (0..<count).map { storage[$0] } }

    public static func == (lhs: ChamberValues, rhs: ChamberValues) -> Bool {
        for i in 0..<maxChambers where lhs.storage[i] != rhs.storage[i] { return false }
        return true
    }
}
