/// The physical description of a simulated boot: garment, pump, valves and sensors. Read from the
/// `[simulation]` tables of a hardware profile; `docs/hardware.md` explains each number.
public struct BootParameters: Sendable, Equatable {
    /// One air chamber wrapped around the limb.
    public struct Chamber: Sendable, Equatable {
        /// Volume at 0 mmHg gauge (litres): the bladder laid against the limb.
        public var volumeL: Double
        /// How much the volume grows per mmHg (L/mmHg): bladder stretch plus limb tissue giving way.
        public var complianceLPerMmHg: Double
        /// Leak orifice coefficient (normal litres/s per √mmHg); 0 = airtight.
        public var leak: Double

        public init(volumeL: Double, complianceLPerMmHg: Double, leak: Double = 0) {
            self.volumeL = volumeL
            self.complianceLPerMmHg = complianceLPerMmHg
            self.leak = leak
        }
    }

    public var chambers: [Chamber]
    /// Pump free-flow (normal litres/s at 0 back-pressure).
    public var pumpMaxFlow: Double
    /// Back-pressure at which the pump delivers nothing (mmHg).
    public var pumpStall: Double
    /// Inlet valve orifice coefficient (normal litres/s per √mmHg across it).
    public var inletOrifice: Double
    /// Exhaust valve orifice coefficient (normal litres/s per √mmHg).
    public var exhaustOrifice: Double
    /// Time from a valve or pump command to its effect (s).
    public var actuatorDelay: Double
    /// Sensor noise, standard deviation (mmHg).
    public var sensorNoise: Double
    /// Sensor resolution (mmHg per count).
    public var sensorResolution: Double
    /// Sensor latency (s).
    public var sensorLatency: Double
    /// Sensor full scale (mmHg); readings saturate there.
    public var sensorFullScale: Double
    /// Physics integration rate (Hz).
    public var physicsRate: Double
    /// Seed of the noise generator: the same seed gives the same session, sample for sample.
    public var seed: UInt64
    /// A safety relay powers the pump and valves: open, they are all de-energised.
    public var safetyRelay = false
    /// The E-stop has its own input (not through the I/O link) and opens the relay by wire.
    public var directEmergencyStop = false
    /// A second transducer per chamber, with its own noise.
    public var redundantSensors = false
    /// The drive (pump + safety relay) feeding each chamber, by chamber index; missing entries
    /// are drive 0. Two limbs with their own pumps have two drives; each drive's pump (with the
    /// numbers above) is shared only by the open inlets it feeds.
    public var drives: [Int] = []

    /// The limb inside the garment (`[simulation.limb]`); nil: the garment on a rigid form, as
    /// before the limb model (no blood, no tissue creep, isothermal air).
    public var limb: LimbParameters?

    /// The drive of chamber `c`.
    public func drive(of c: Int) -> Int { c < drives.count ? drives[c] : 0 }
    /// How many drives the boot has.
    public var driveCount: Int { (drives.max() ?? 0) + 1 }

    public init(
        chambers: [Chamber], pumpMaxFlow: Double = 0.3, pumpStall: Double = 300,
        inletOrifice: Double = 0.1, exhaustOrifice: Double = 0.06, actuatorDelay: Double = 0.008,
        sensorNoise: Double = 0.25, sensorResolution: Double = 0.1, sensorLatency: Double = 0.005,
        sensorFullScale: Double = 300, physicsRate: Double = 1000, seed: UInt64 = 1
    ) {
        self.chambers = chambers
        self.pumpMaxFlow = pumpMaxFlow
        self.pumpStall = pumpStall
        self.inletOrifice = inletOrifice
        self.exhaustOrifice = exhaustOrifice
        self.actuatorDelay = actuatorDelay
        self.sensorNoise = sensorNoise
        self.sensorResolution = sensorResolution
        self.sensorLatency = sensorLatency
        self.sensorFullScale = sensorFullScale
        self.physicsRate = physicsRate
        self.seed = seed
    }
}
