#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import SoleusCore

/// The limb inside the simulated garment, stepped with ``BootPhysics``: per segment a venous
/// compartment that empties under the chamber's pressure through one-way valves into the next
/// proximal segment (and out of the limb from the most proximal one) and refills from arterial
/// inflow; tissue that gives slowly under sustained pressure; and the warming of the cuff's air.
///
/// The garment sees the limb through its volume: blood and tissue pushed out leave room in the
/// bladder (its pressure falls), a refilling limb takes room back (a sealed chamber's pressure
/// rises slowly). `docs/limb-model.md` has the equations and where each number comes from.
public struct LimbModel: Sendable {
    public let parameters: LimbParameters
    let count: Int
    /// Venous blood per segment (mL), and its resting volume in the posture.
    public private(set) var venous = ChamberValues()
    var full = ChamberValues()
    var emptying: [LimbParameters.Emptying]
    /// The refill's share per physics step, for the step it was worked out for.
    var refillStep = (h: Double.nan, share: 0.0)
    /// Tissue fluid displaced per segment (mL).
    var tissue = ChamberValues()
    /// Air temperature per chamber over the skin's (kelvin over kelvin): 1 for air that has lain
    /// on the limb, less for air just pumped in from the room.
    public private(set) var thermal = ChamberValues(repeating: 1)
    let ambientRatio: Double
    let refillRate: Double
    let emptyRate: Double
    /// Limb index of each chamber, and whether it is its limb's most proximal.
    var limbOf = InlineArray<32, Int>(repeating: 0)
    var outlet = ChamberSet()
    var tracks: [Track]
    /// Compressions whose figures are complete, oldest first.
    var completed: [LimbCompression] = []

    /// One limb's compression in progress (or the last one, refilling).
    struct Track: Sendable {
        var open = false
        var compressing = false
        var record = LimbCompression(limb: 0, start: 0, end: .nan, expelledML: 0, peakFlowMLPerS: 0, peakVelocityCMPerS: 0, refillSeconds: .nan)
        var volumeAtEnd = 0.0
    }

    public init(parameters: LimbParameters, chamberCount: Int) {
        self.parameters = parameters
        count = min(chamberCount, parameters.segments.count, maxChambers)
        let kelvin = 273.15
        ambientRatio = (parameters.ambientC + kelvin) / (parameters.skinC + kelvin)
        refillRate = log(10) / max(parameters.refillSeconds, 0.1)
        emptyRate = 1 / max(parameters.emptyingSeconds, 0.05)
        let starts = parameters.limbStarts.isEmpty ? [0] : parameters.limbStarts
        emptying = parameters.segments.prefix(count).map { parameters.emptying(of: $0) }
        for c in 0..<count {
            let s = parameters.segments[c]
            full[c] = parameters.restingVolume(of: s).full
            venous[c] = full[c]
            limbOf[c] = max(0, (starts.lastIndex { $0 <= c }) ?? 0)
        }
        for l in starts.indices {
            let end = l + 1 < starts.count ? starts[l + 1] : count
            if end - 1 >= 0 && end - 1 < count { outlet.set(end - 1, true) }
        }
        tracks = Array(repeating: Track(), count: starts.count)
        for l in tracks.indices { tracks[l].record.limb = l }
        completed.reserveCapacity(16)
    }

    /// How much the limb under chamber `c` has grown since the session began (litres; negative
    /// when blood and tissue fluid have been pushed out): the bladder has that much less room.
    public func growthL(_ c: Int) -> Double {
        guard c < count else { return 0 }
        return (venous[c] - full[c] - tissue[c]) / 1000
    }

    /// Mixes `inflow` normal litres of ambient air into chamber `c`, which holds `air`.
    mutating func mix(chamber c: Int, inflow: Double, air: Double) {
        guard c < count, inflow > 0 else { return }
        thermal[c] = (thermal[c] * air + ambientRatio * inflow) / (air + inflow)
    }

    /// Advances the limb by `h` seconds under the chambers' `pressures` (mmHg), at session `time`.
    mutating func step(pressures: ChamberValues, h: Double, time: Double) {
        let p = parameters
        if refillStep.h != h { refillStep = (h, 1 - exp(-refillRate * h)) }
        for c in 0..<count {
            let ext = max(pressures[c], 0)
            thermal[c] += (1 - thermal[c]) * h / max(p.thermalSeconds, 0.1)
            tissue[c] += (p.segments[c].tissueMLPerMmHg * ext - tissue[c]) * h / max(p.tissueSeconds, 0.1)
            guard p.venous else { continue }
            let target = full[c] - emptying[c].pushedOut(at: ext)
            let v = venous[c]
            if v > target {
                // Emptying through the valves towards the next proximal segment, which a higher
                // pressure there closes (the gradient rule's reason).
                var gate = 1.0
                if !outlet.contains(index: c), c + 1 < count {
                    gate = min(max(1 - (max(pressures[c + 1], 0) - ext) / 5, 0), 1)
                }
                let flow = (v - target) * emptyRate * gate
                let moved = min(flow * h, v - target)
                venous[c] -= moved
                if outlet.contains(index: c) {
                    leave(limb: limbOf[c], volume: moved, flow: moved / h)
                } else {
                    venous[c + 1] += moved
                }
            } else {
                venous[c] += (target - v) * refillStep.share
            }
        }
        track(pressures: pressures, time: time)
    }

    mutating func leave(limb l: Int, volume: Double, flow: Double) {
        guard tracks[l].open else { return }
        tracks[l].record.expelledML += volume
        if flow > tracks[l].record.peakFlowMLPerS {
            tracks[l].record.peakFlowMLPerS = flow
            tracks[l].record.peakVelocityCMPerS = flow / max(parameters.outletAreaCM2, 0.01)
        }
    }

    /// Finds each limb's compressions and their refill from the chambers' pressures.
    mutating func track(pressures: ChamberValues, time: Double) {
        for l in tracks.indices {
            var compressing = false
            var volume = 0.0, rest = 0.0
            for c in 0..<count where limbOf[c] == l {
                if pressures[c] > LimbCompression.compressionThreshold { compressing = true }
                volume += venous[c]
                rest += full[c]
            }
            var t = tracks[l]
            if compressing && !t.compressing {
                if t.open { completed.append(t.record) }
                t.open = true
                t.record = LimbCompression(limb: l, start: time, end: .nan, expelledML: 0, peakFlowMLPerS: 0, peakVelocityCMPerS: 0, refillSeconds: .nan)
            } else if !compressing && t.compressing {
                t.record.end = time
                t.volumeAtEnd = volume
            }
            t.compressing = compressing
            // Refilled: 90 % of the way from the emptied limb back to its resting volume.
            if t.open, !compressing, t.record.refillSeconds.isNaN, !t.record.end.isNaN,
                rest - t.volumeAtEnd > 1,
                volume >= t.volumeAtEnd + 0.9 * (rest - t.volumeAtEnd)
            {
                t.record.refillSeconds = time - t.record.end
            }
            tracks[l] = t
        }
    }

    /// Moves the completed compressions into `out`; `final` closes the open ones too.
    mutating func take(into out: inout [LimbCompression], final: Bool) {
        if final {
            for l in tracks.indices where tracks[l].open {
                completed.append(tracks[l].record)
                tracks[l].open = false
            }
        }
        out.append(contentsOf: completed)
        completed.removeAll(keepingCapacity: true)
    }

    /// Forgets the compressions seen so far (the garment check's pulses are not therapy).
    mutating func forgetCompressions() {
        completed.removeAll(keepingCapacity: true)
        for l in tracks.indices { tracks[l].open = false }
    }
}

