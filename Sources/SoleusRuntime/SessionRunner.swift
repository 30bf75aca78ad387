import SoleusCore
import SoleusHardware

/// A snapshot for progress displays, taken outside the control tick.
public struct SessionProgress: Sendable {
    public var time: Double
    public var part: CyclePart
    public var cycle: Int
    public var set: Int
    public var pressures: [Double]
    public var setPoints: [Double]
    public var phases: [Phase]
    public var outputs: BootOutputs
}

/// The outcome of ``SessionRunner/run(shouldStop:progress:)``.
public struct SessionResult: Sendable {
    public var sessionID: Int64
    public var end: SessionEnd
    /// Seconds from the end of therapy until every chamber read below the vented threshold; nil if
    /// that was not confirmed within the vent timeout.
    public var ventedAfter: Double?
    /// Cycle summaries of the whole session.
    public var summaries: [CycleSummary]
}

/// Runs one session: read inputs → controller → safety supervisor → write outputs → record, once per
/// tick on absolute deadlines, then vents and confirms it. Every way out (protocol end, operator
/// stop, safety trip, hardware error) passes through the same venting tail.
public final class SessionRunner {
    public struct Options: Sendable {
        public var speed: Speed
        /// Samples per second written to the log (≥ 10).
        public var sampleRate: Double
        /// How long to wait for every chamber to read below the vented threshold at the end.
        public var ventTimeout: Double
        /// Session seconds between flushes to the sink.
        public var flushEvery: Double

        public init(speed: Speed = .max, sampleRate: Double = 20, ventTimeout: Double = 10, flushEvery: Double = 1) {
            self.speed = speed
            self.sampleRate = sampleRate
            self.ventTimeout = ventTimeout
            self.flushEvery = flushEvery
        }
    }

    let plan: TreatmentPlan
    let limits: BootLimits
    let regulator: RegulatorSettings
    let backend: BootBackend
    let sink: SessionSink
    let header: SessionHeader
    let options: Options

    public init(plan: TreatmentPlan, limits: BootLimits, regulator: RegulatorSettings, backend: BootBackend, sink: SessionSink, header: SessionHeader, options: Options) {
        self.plan = plan
        self.limits = limits
        self.regulator = regulator
        self.backend = backend
        self.sink = sink
        self.header = header
        self.options = options
    }

    /// Runs the session to its end. `shouldStop` is polled every tick (operator stop);
    /// `progress` is called about ten times per wall-clock second.
    public func run(
        shouldStop: () -> Bool = { false }, progress: (SessionProgress) -> Void = { _ in }
    ) throws -> SessionResult {
        let n = plan.chamberCount
        let names = plan.bootChambers
        let tick = regulator.tickSeconds
        var controller = Controller(plan: plan, settings: regulator)
        var supervisor = SafetySupervisor(limits: limits, chamberCount: n)
        var summarizer = CycleSummarizer(chamberCount: n, tickSeconds: tick)
        var allSummaries: [CycleSummary] = []
        let sampleEvery = max(1, Int((1 / (options.sampleRate * tick)).rounded(.down)))
        let flushTicks = max(1, Int((options.flushEvery / tick).rounded()))
        let pacer = Pacer(speed: options.speed)
        var nextProgress = 0.0

        // Vent before anything else: whatever state the boot was left in, start from safe.
        backend.vent()
        let id = try sink.begin(header)
        var batch = LogBatch()
        batch.samples.reserveCapacity(flushTicks / sampleEvery + 2)

        func flush() {
            guard !batch.isEmpty else { return }
            do { try sink.append(batch, to: id) } catch {
                // A failing disk must not stop the control loop or the venting: keep the batch
                // (nothing is dropped) and retry at the next flush. If the store is still failing
                // at the end, `run` throws after the boot has vented.
                return
            }
            batch.samples.removeAll(keepingCapacity: true)
            batch.events.removeAll(keepingCapacity: true)
            batch.summaries.removeAll(keepingCapacity: true)
        }
        func log(_ e: SessionEvent) { batch.events.append(e) }

        var reason = EndReason.completed
        var detail = "protocol completed"
        var k = 0
        var t = 0.0
        var lastOutputs = BootOutputs.vented(chamberCount: n)
        therapy: while true {
            t = Double(k) * tick
            let inputs: BootInputs
            do { inputs = try backend.read(at: t) } catch {
                reason = .hardwareError
                detail = "reading inputs failed: \(error)"
                log(SessionEvent(time: t, cycle: controller.cycleNumber, kind: "hardware-error", message: detail))
                break therapy
            }
            let commanded = controller.step(time: t, inputs: inputs)
            let out = supervisor.check(time: t, inputs: inputs, commanded: commanded)
            do { try backend.write(out) } catch {
                reason = .hardwareError
                detail = "writing outputs failed: \(error)"
                log(SessionEvent(time: t, cycle: controller.cycleNumber, kind: "hardware-error", message: detail))
                break therapy
            }
            lastOutputs = out
            for e in controller.events {
                summarizer.handle(e)
                log(SessionEvent(
                    time: e.time, cycle: e.cycle, kind: e.kind.rawValue,
                    chamber: e.chamber >= 0 ? names[e.chamber] : nil,
                    pressure: e.pressure.isNaN ? nil : e.pressure,
                    message: describe(e, names: names)))
            }
            controller.clearEvents()
            summarizer.add(readings: inputs.pressures)
            if !summarizer.completed.isEmpty {
                batch.summaries += summarizer.completed
                allSummaries += summarizer.completed
                summarizer.clearCompleted()
            }
            if k % sampleEvery == 0 { batch.samples.append(SessionSample(time: t, pressures: inputs.pressures, outputs: out)) }
            if let trip = supervisor.trip {
                reason = .safetyTrip
                detail = describe(trip, names: names)
                log(SessionEvent(time: t, cycle: controller.cycleNumber, kind: "safety-trip",
                                 chamber: trip.chamber >= 0 ? names[trip.chamber] : nil,
                                 pressure: trip.pressure.isNaN ? nil : trip.pressure, message: detail))
                break therapy
            }
            if controller.isFinished { break therapy }
            if shouldStop() {
                reason = .stopped
                detail = "stopped by the operator"
                log(SessionEvent(time: t, cycle: controller.cycleNumber, kind: "operator-stop", message: detail))
                break therapy
            }
            if k % flushTicks == 0 { flush() }
            let wall = pacer.elapsed()
            if wall >= nextProgress {
                nextProgress = wall + 0.1
                progress(snapshot(controller, inputs: inputs, outputs: out, time: t))
            }
            k += 1
            pacer.wait(untilSessionTime: Double(k) * tick)
        }
        summarizer.closeCycle()
        batch.summaries += summarizer.completed
        allSummaries += summarizer.completed

        // The venting tail, common to every exit: safe outputs, and wait for the pressures to fall.
        let ventStart = t
        var ventedAfter: Double?
        var belowTicks = 0
        let ventConfirmTicks = max(1, Int((0.2 / tick).rounded()))
        backend.vent()
        lastOutputs = .vented(chamberCount: n)
        k += 1
        while true {
            let tv = Double(k) * tick
            if tv - ventStart > options.ventTimeout { break }
            pacer.wait(untilSessionTime: tv)
            guard let inputs = try? backend.read(at: tv) else { break }
            backend.vent()
            if k % sampleEvery == 0 { batch.samples.append(SessionSample(time: tv, pressures: inputs.pressures, outputs: lastOutputs)) }
            var maxP = -Double.infinity
            for c in 0..<n { maxP = max(maxP, inputs.pressures[c].isNaN ? .infinity : inputs.pressures[c]) }
            // Vented = every chamber below the threshold for `ventConfirmTicks` ticks in a row,
            // so one noisy low reading cannot confirm it.
            belowTicks = maxP < limits.ventedBelow.mmHg ? belowTicks + 1 : 0
            if belowTicks >= ventConfirmTicks {
                ventedAfter = tv - ventStart
                log(SessionEvent(time: tv, cycle: controller.cycleNumber, kind: "vented",
                                 pressure: maxP,
                                 message: "all chambers below \(formatMMHg(limits.ventedBelow.mmHg)) mmHg \(formatFixed(tv - ventStart, decimals: 2)) s after the end"))
                t = tv
                break
            }
            t = tv
            k += 1
        }
        if ventedAfter == nil {
            log(SessionEvent(time: t, cycle: controller.cycleNumber, kind: "vent-unconfirmed",
                             message: "exhausts open, but not every chamber read below \(formatMMHg(limits.ventedBelow.mmHg)) mmHg within \(formatFixed(options.ventTimeout, decimals: 0)) s"))
        }
        backend.vent()
        flush()
        let completedCycles = controller.mainCyclesDone
        let end = SessionEnd(reason: reason, detail: detail, duration: t, cyclesCompleted: completedCycles)
        try sink.end(id, end)
        return SessionResult(sessionID: id, end: end, ventedAfter: ventedAfter, summaries: allSummaries)
    }

    func snapshot(_ c: Controller, inputs: BootInputs, outputs: BootOutputs, time: Double) -> SessionProgress {
        let n = plan.chamberCount
        return SessionProgress(
            time: time, part: c.part, cycle: c.cycleNumber, set: c.setNumber,
            pressures: inputs.pressures.array(count: n),
            setPoints: (0..<n).map { c.setPoint(of: $0) },
            phases: (0..<n).map { c.phase(of: $0) }, outputs: outputs)
    }
}

func describe(_ e: ControlEvent, names: [String]) -> String {
    let chamber = e.chamber >= 0 ? names[e.chamber] : ""
    switch e.kind {
    case .cycleStarted: return "\(e.part.rawValue) cycle \(e.cycle) starts"
    case .inflate: return "\(chamber) inflates to \(formatMMHg(e.pressure)) mmHg"
    case .reached: return "\(chamber) reached target (\(formatMMHg(e.pressure)) mmHg)"
    case .hold: return "\(chamber) settles to \(formatMMHg(e.pressure)) mmHg"
    case .release: return "\(chamber) releases"
    case .cycleEnded: return "cycle \(e.cycle) ends"
    case .overrun: return "cycle \(e.cycle) released later than its period; the next cycle starts late"
    case .setRest: return "rest between sets"
    case .finished: return "protocol finished"
    }
}

func describe(_ trip: SafetyTrip, names: [String]) -> String {
    switch trip.kind {
    case .overPressure:
        "over-pressure: \(names[trip.chamber]) read \(formatMMHg(trip.pressure)) mmHg, above the ceiling of \(formatMMHg(trip.limit)) mmHg; all chambers vented"
    case .invalidReading:
        "invalid pressure reading on \(names[trip.chamber]); all chambers vented"
    case .emergencyStop:
        "emergency stop pressed; all chambers vented"
    }
}
