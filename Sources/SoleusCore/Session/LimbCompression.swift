/// What one compression did for the limb inside the garment: the venous blood it moved and how
/// fast, and how long the limb took to refill afterwards. Only a backend that can see the limb
/// reports these (the simulator's limb model, `docs/limb-model.md`); a real boot cannot.
public struct LimbCompression: Sendable, Equatable {
    /// Boot limb index (0 for a one-limb boot).
    public var limb: Int
    /// Session time the compression began (a chamber of the limb rose above
    /// ``compressionThreshold``) and ended (every chamber fell back below it) (s).
    public var start: Double
    public var end: Double
    /// Venous blood that left the limb's most proximal segment, from this compression's start to
    /// the next one's (mL).
    public var expelledML: Double
    /// Highest outflow from the most proximal segment (mL/s).
    public var peakFlowMLPerS: Double
    /// That outflow over the outlet vein's cross-section (cm/s): a proxy for the peak venous
    /// velocity a duplex scan would show at the groin (or the garment's upper edge).
    public var peakVelocityCMPerS: Double
    /// Seconds from the end of the compression until the limb's veins were back 90 % of the way
    /// to their resting volume (the plethysmographic VFT90); NaN if not by the next compression.
    public var refillSeconds: Double

    /// A compression is a chamber of the limb above this pressure (mmHg): above any refill-sensing
    /// hold, below any therapeutic target.
    public static let compressionThreshold = 15.0

    public init(limb: Int, start: Double, end: Double, expelledML: Double, peakFlowMLPerS: Double, peakVelocityCMPerS: Double, refillSeconds: Double) {
        self.limb = limb
        self.start = start
        self.end = end
        self.expelledML = expelledML
        self.peakFlowMLPerS = peakFlowMLPerS
        self.peakVelocityCMPerS = peakVelocityCMPerS
        self.refillSeconds = refillSeconds
    }
}
