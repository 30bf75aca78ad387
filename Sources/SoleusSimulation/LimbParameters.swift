#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The limb inside a simulated garment: per chamber, the segment of leg under it (its venous
/// compartment and tissue), and for the whole limb the posture, the refill and emptying times and
/// the cuff's air temperature. Read from a profile's `[simulation.limb]` table and the limb keys
/// of each `[[simulation.chamber]]`; `docs/limb-model.md` explains the model and each default.
public struct LimbParameters: Sendable, Equatable {
    /// How the patient lies or sits: the hydrostatic head on the leg's veins.
    public enum Posture: String, Sendable, Equatable, CaseIterable {
        case supine
        /// Trunk raised about 45° (legs level): the heart about 26 cm above the leg.
        case semiRecumbent = "semi-recumbent"
        /// Legs hanging: each segment as deep below the heart as its `seated_depth_cm`.
        case seated
    }

    /// The part of the limb under one chamber.
    public struct Segment: Sendable, Equatable {
        /// Venous blood in the segment lying supine at rest (mL).
        public var venousML: Double
        /// The share of that blood external pressure can push out (the rest sits in veins the
        /// garment cannot collapse): about 0.6–0.8 for the calf, 0.1–0.2 for the thigh.
        public var ejectable: Double
        /// How far the segment's veins sit below the heart when seated (cm).
        public var seatedDepthCM: Double
        /// Tissue fluid displaced per mmHg of sustained pressure (mL/mmHg), moved with
        /// ``LimbParameters/tissueSeconds``: the slow part of the tissue's compliance.
        public var tissueMLPerMmHg: Double

        public init(venousML: Double = 100, ejectable: Double = 0.7, seatedDepthCM: Double = 70, tissueMLPerMmHg: Double = 0.2) {
            self.venousML = venousML
            self.ejectable = ejectable
            self.seatedDepthCM = seatedDepthCM
            self.tissueMLPerMmHg = tissueMLPerMmHg
        }
    }

    /// One segment per chamber of the boot, in the boot's order.
    public var segments: [Segment]
    /// The first chamber of each limb (a two-leg boot has two); blood leaves each limb through its
    /// most proximal segment.
    public var limbStarts: [Int] = [0]
    public var posture: Posture = .supine
    /// False for a dummy limb (a foam or plastic leg): no venous compartment, only tissue.
    public var venous = true
    /// Venous refill time: seconds after a compression until 90 % of the blood it moved is back
    /// (the plethysmographic VFT90). Arterial inflow refills each segment exponentially with time
    /// constant refill / ln 10.
    public var refillSeconds = 25.0
    /// Time constant of a compressed segment's emptying through its valves (s).
    public var emptyingSeconds = 1.0
    /// Venous pressure at rest lying supine (mmHg); posture adds its hydrostatic head.
    public var restingVenousMmHg = 10.0
    /// External pressure above the resting venous pressure that pushes out all of a segment's
    /// ejectable blood (mmHg); less pressure pushes out a proportional share.
    public var emptyingMmHg = 30.0
    /// Time constant of the tissue's slow give (s).
    public var tissueSeconds = 20.0
    /// Temperature of the air the pump takes in, of the skin under the cuff (°C), and how fast the
    /// air in a chamber warms towards the skin (s).
    public var ambientC = 22.0
    public var skinC = 33.0
    public var thermalSeconds = 40.0
    /// Cross-section of the vein blood leaves the limb by (cm²): the femoral vein is about 1 cm².
    public var outletAreaCM2 = 1.0

    /// Veins stiffen as they fill: the ejectable volume at transmural pressure P grows as
    /// 1 − e^(−P/``stiffeningMmHg``).
    public static let stiffeningMmHg = 25.0
    /// mmHg per cm of blood column.
    public static let mmHgPerCM = 0.78
    /// The heart's height above the legs when semi-recumbent (cm).
    public static let semiRecumbentHeadCM = 26.0

    public init(segments: [Segment]) { self.segments = segments }

    /// The hydrostatic head on segment `s`'s veins in the posture (mmHg).
    public func head(of s: Segment) -> Double {
        switch posture {
        case .supine: 0
        case .semiRecumbent: Self.semiRecumbentHeadCM * Self.mmHgPerCM
        case .seated: max(0, s.seatedDepthCM) * Self.mmHgPerCM
        }
    }

    /// Segment `s`'s resting venous pressure in the posture (mmHg).
    public func restingPressure(of s: Segment) -> Double { restingVenousMmHg + head(of: s) }

    /// The venous volume segment `s` holds at rest in the posture (mL), and the part of it no
    /// external pressure moves.
    public func restingVolume(of s: Segment) -> (full: Double, residual: Double) {
        guard venous else { return (0, 0) }
        let residual = (1 - s.ejectable) * s.venousML
        let k = Self.stiffeningMmHg
        let supineFill = 1 - exp(-restingVenousMmHg / k)
        let maxEjectable = supineFill > 0 ? s.ejectable * s.venousML / supineFill : 0
        return (residual + maxEjectable * (1 - exp(-restingPressure(of: s) / k)), residual)
    }

    /// The venous blood chamber `c`'s segment holds at rest that an external pressure `p` pushes
    /// out once it has had time to (mL): the room the limb gives the bladder at that pressure.
    public func pushedOutML(segment c: Int, at p: Double) -> Double {
        guard c >= 0, c < segments.count else { return 0 }
        return emptying(of: segments[c]).pushedOut(at: p)
    }

    /// How a segment empties: the blood a squeeze can move (mL) and the pressure that moves all
    /// of it (mmHg). Worked out once per segment; the model steps with it.
    public struct Emptying: Sendable, Equatable {
        public var movableML = 0.0
        public var allAtMmHg = 1.0

        /// The blood an external pressure `p` pushes out once it has had time to (mL).
        @inline(__always) public func pushedOut(at p: Double) -> Double { movableML * min(1, max(p, 0) / allAtMmHg) }
    }

    public func emptying(of s: Segment) -> Emptying {
        guard venous else { return Emptying() }
        let rest = restingVolume(of: s)
        return Emptying(movableML: rest.full - rest.residual, allAtMmHg: max(restingPressure(of: s) + emptyingMmHg, 1))
    }

}

