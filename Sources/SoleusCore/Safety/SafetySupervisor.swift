/// The independent safety layer. Runs every tick *after* the controller and sees only the sensor
/// readings (both channels where the boot has a redundant transducer), the commanded outputs and
/// prescribed set points (``TherapyCommand``), and the tick's lateness: never the controller's
/// state. When a condition whose reaction is ``AlarmReaction/vent`` is present it forces the safe
/// state (pump off, inlets closed, exhausts open, safety relay open), and that latches for the
/// rest of the session, whatever the controller asks.
///
/// Each check is a few lines below; thresholds are ``SafetySettings``; priorities, latching and
/// reactions are ``AlarmCondition/policy``. `docs/safety.md` traces hazard → check → scenario.
/// After `init` a check allocates no memory.
public struct SafetySupervisor: Sendable {
    public let settings: SafetySettings
    public let chamberCount: Int
    let tick: Double

    /// Conditions detected on the last tick.
    public private(set) var present = AlarmSet()
    /// The readings behind each present condition (indexed by condition).
    public private(set) var details: [AlarmDetail]
    /// True once the safe state has been forced. Latched.
    public private(set) var safeState = false
    /// The condition that forced the safe state.
    public private(set) var cause: AlarmCondition?
    /// Chambers whose sensor was judged faulty. Latched.
    public private(set) var faultySensors = ChamberSet()
    /// Chambers found occluded: their sensor sees only the hose, not the bladder. Latched.
    public private(set) var occludedChambers = ChamberSet()
    /// Chambers whose reading is no longer trusted (either of the above): their pressure is
    /// unknown, so venting cannot be confirmed from them.
    public var untrustedSensors: ChamberSet { faultySensors.union(occludedChambers) }

    var watch: [ChamberWatch]
    /// 100 ms boxcar of readings per chamber, and a short history of its means for rates.
    var ring: [Double]
    let window: Int
    var next = 0
    var filled = 0
    var meanHistory: [Double]
    let lagTicks: Int
    var historyNext = 0
    /// Ticks seen; rates are judged only once the mean and its history are full of real readings.
    var ticks = 0
    var pumpOnSince = Double.nan
    var pumpStartMeans = ChamberValues()
    var pumpInletsSeen = ChamberSet()
    var lastOutputs: BootOutputs
    /// Inlets of other limbs sharing this limb's pump on the current tick.
    var otherInlets = 0
    /// Share of recent ticks that started a whole period late (moving average).
    var lateTicks = 0.0
    var lastPresentLate = false

    public init(settings: SafetySettings, chamberCount: Int, tickSeconds: Double) {
        self.settings = settings
        self.chamberCount = chamberCount
        tick = tickSeconds
        details = Array(repeating: AlarmDetail(), count: AlarmCondition.allCases.count)
        watch = Array(repeating: ChamberWatch(), count: maxChambers)
        window = max(1, Int((0.1 / tickSeconds).rounded()))
        ring = Array(repeating: 0, count: window * maxChambers)
        lagTicks = max(1, Int((0.05 / tickSeconds).rounded()))
        meanHistory = Array(repeating: 0, count: (lagTicks + 1) * maxChambers)
        lastOutputs = .vented(chamberCount: chamberCount)
    }

    /// The operator paused therapy: the compressions in progress end on purpose, so one ending
    /// below its target is not an undelivered compression (target-not-reached). Every other check
    /// goes on as before.
    public mutating func compressionsAbandoned() {
        for c in watch.indices {
            watch[c].compressingSince = .nan
            watch[c].reached = false
        }
    }

    /// Checks one tick. Returns the outputs to apply: the commanded ones, or the safe state.
    /// `sharedInlets`: inlets of other limbs open on the same pump this tick (they share its air).
    public mutating func check(time: Double, inputs: BootInputs, command: TherapyCommand, lateness: Double = 0, sharedInlets: Int = 0) -> BootOutputs {
        present = AlarmSet()
        otherInlets = sharedInlets
        let out = command.outputs
        if inputs.emergencyStop { raise(.emergencyStop, AlarmDetail()) }
        if inputs.age > settings.staleAfter { raise(.staleReadings, AlarmDetail(value: inputs.age, limit: settings.staleAfter)) }
        checkLateness(lateness)
        updateMeans(inputs.pressures)
        for c in 0..<chamberCount {
            checkSensor(c, time: time, reading: inputs.pressures[c], out: out, setPoint: command.setPoints[c])
            if inputs.hasRedundant { checkRedundant(c, time: time, primary: inputs.pressures[c], second: inputs.redundant[c]) }
            // A chamber whose pressure is unknown (its sensor judged faulty, or occluded) has
            // already forced the safe state; its last good mean must not raise more alarms (a
            // vent failure from a frozen mean) on a limb vented alone while another carries on.
            if untrustedSensors.contains(index: c) { continue }
            checkPressure(c, time: time, setPoint: command.setPoints[c], due: command.dueAt[c])
            checkValves(c, time: time, out: out, setPoint: command.setPoints[c])
            if c > 0 && !untrustedSensors.contains(index: c - 1) { checkGradient(c, time: time, setPoints: command.setPoints) }
        }
        checkPump(time: time, out: out)
        lastOutputs = out
        // The first tick with a venting condition forces the safe state; its cause is the
        // highest-priority one present then.
        if !safeState {
            for condition in AlarmCondition.allCases where present.contains(condition) && condition.policy.reaction == .vent {
                if condition.policy.priority > (cause?.policy.priority ?? .low) || cause == nil { cause = condition }
            }
            safeState = cause != nil
        }
        if safeState { return .vented(chamberCount: chamberCount) }
        var powered = out
        powered.power = true
        return powered
    }

    /// Lateness (docs/safety.md, "Loop lateness"): less than a period is harmless; ticks that keep
    /// missing their period are a low alarm (an overloaded computer); one tick later than
    /// ``SafetySettings/overrunAfter`` a medium one; later than the stale-readings limit, nothing
    /// watched the chambers for that long: vent.
    mutating func checkLateness(_ lateness: Double) {
        let missed: Double = lateness >= tick ? 1 : 0
        lateTicks += (missed - lateTicks) * min(1, tick / settings.lateAveraging)
        // Half the threshold to clear it, so a share hovering at the limit does not flap.
        let wasLate = lastPresentLate
        lastPresentLate = lateTicks > settings.lateShare || (wasLate && lateTicks > settings.lateShare / 2)
        if lastPresentLate { raise(.loopLate, AlarmDetail(value: lateTicks, limit: settings.lateShare)) }
        if lateness > settings.overrunAfter { raise(.loopOverrun, AlarmDetail(value: lateness, limit: settings.overrunAfter)) }
        if lateness > settings.staleAfter { raise(.loopStall, AlarmDetail(value: lateness, limit: settings.staleAfter)) }
    }

    mutating func raise(_ c: AlarmCondition, _ d: AlarmDetail) {
        if !present.contains(c) { details[c.rawValue] = d }
        present.insert(c)
        if c == .sensorFault || c == .sensorDisagreement, (0..<chamberCount).contains(d.chamber) { faultySensors.set(d.chamber, true) }
        if c == .occlusion, (0..<chamberCount).contains(d.chamber) { occludedChambers.set(d.chamber, true) }
    }

    /// The 100 ms mean of chamber `c`'s readings.
    func mean(_ c: Int) -> Double { watch[c].mean }

    mutating func updateMeans(_ p: ChamberValues) {
        ticks += 1
        for c in 0..<chamberCount {
            // A non-finite reading is a sensor fault; keep it out of the means.
            let v = p[c].isFinite ? p[c] : watch[c].mean
            let slot = c * window + next
            watch[c].sum += v - ring[slot]
            ring[slot] = v
        }
        next = (next + 1) % window
        if filled < window { filled += 1 }
        let rows = lagTicks + 1
        for c in 0..<chamberCount {
            watch[c].mean = watch[c].sum / Double(filled)
            meanHistory[historyNext * maxChambers + c] = watch[c].mean
        }
        historyNext = (historyNext + 1) % rows
    }

    /// Mean rise rate over the last `lagTicks` (mmHg/s).
    func riseRate(_ c: Int) -> Double {
        let rows = lagTicks + 1
        let oldest = historyNext % rows // the row about to be overwritten: lagTicks ago
        let past = meanHistory[oldest * maxChambers + c]
        return (watch[c].mean - past) / (Double(lagTicks) * tick)
    }

    // MARK: checks

    /// Sensor out of range, invalid, or frozen; and the ceiling, on the raw reading (no delay).
    mutating func checkSensor(_ c: Int, time: Double, reading r: Double, out: BootOutputs, setPoint: Double) {
        if !r.isFinite || r < settings.sensorMin || r > settings.sensorMax {
            raise(.sensorFault, AlarmDetail(chamber: c, value: r, limit: r < settings.sensorMin ? settings.sensorMin : settings.sensorMax))
        }
        if r > settings.ceiling { raise(.overPressure, AlarmDetail(chamber: c, value: r, limit: settings.ceiling)) }
        // Frozen: air is moving in or out of the chamber, yet the reading does not change at all.
        let active = out.inlets.contains(index: c) || (setPoint > 0 && out.exhausts.contains(index: c))
        // Frozen whatever the valves do: a noisy sensor never repeats one value for long.
        if r == watch[c].lastReading {
            if active { watch[c].frozenTicks += 1 }
            watch[c].sameTicks += 1
            if Double(watch[c].frozenTicks) * tick >= settings.frozenActivity {
                raise(.sensorFault, AlarmDetail(chamber: c, value: r, limit: settings.frozenActivity, check: 1))
            }
            if settings.frozenQuiet > 0 && Double(watch[c].sameTicks) * tick >= settings.frozenQuiet {
                raise(.sensorFault, AlarmDetail(chamber: c, value: r, limit: settings.frozenQuiet, check: 2))
            }
        } else {
            watch[c].frozenTicks = 0
            watch[c].sameTicks = 0
            watch[c].lastReading = r
        }
    }

    /// The redundant transducer: in range, under the ceiling, and agreeing with the first channel.
    /// When they disagree neither is trusted: the chamber's pressure is unknown.
    mutating func checkRedundant(_ c: Int, time: Double, primary: Double, second r: Double) {
        if !r.isFinite || r < settings.sensorMin || r > settings.sensorMax {
            raise(.sensorFault, AlarmDetail(chamber: c, value: r, limit: r < settings.sensorMin ? settings.sensorMin : settings.sensorMax, check: 3))
        }
        if r > settings.ceiling { raise(.overPressure, AlarmDetail(chamber: c, value: r, limit: settings.ceiling)) }
        let gap = abs(primary - r)
        if primary.isFinite && r.isFinite && gap > settings.disagreementBand {
            if watch[c].disagreeSince.isNaN { watch[c].disagreeSince = time }
            if time - watch[c].disagreeSince >= settings.disagreementDebounce {
                raise(.sensorDisagreement, AlarmDetail(chamber: c, value: gap, limit: settings.disagreementBand))
            }
        } else {
            watch[c].disagreeSince = .nan
        }
    }

    /// Over target, not reached, sustained pressure, occlusion (too fast a rise or fall).
    mutating func checkPressure(_ c: Int, time: Double, setPoint sp: Double, due: Double) {
        let m = mean(c)
        var w = watch[c]
        defer { watch[c] = w }
        if sp > 0 {
            if w.compressingSince.isNaN {
                w.compressingSince = time
                w.reached = false
            } else if sp > w.lastSetPoint + settings.reachBand {
                // Prescribed well above the last set point (a boost in the hold, the next pulse of
                // a chamber that inflates twice): a new rise to reach, not a top-up.
                w.reached = false
            }
            if m > sp + settings.overTargetBand {
                if w.overTargetSince.isNaN { w.overTargetSince = time }
                if time - w.overTargetSince >= settings.overTargetDebounce {
                    raise(.overTarget, AlarmDetail(chamber: c, value: m, limit: sp + settings.overTargetBand))
                }
            } else {
                w.overTargetSince = .nan
            }
            if !w.reached && m >= sp - settings.reachBand { w.reached = true }
            // Counted from when the set point is due: the end of its ramp, if it has one.
            if !w.reached && time - max(w.compressingSince, due) > settings.reachTimeout {
                raise(.targetNotReached, AlarmDetail(chamber: c, value: m, limit: sp - settings.reachBand))
            }
        } else {
            // A compression that ended without ever reaching its target was not delivered.
            if !w.compressingSince.isNaN && !w.reached && time - w.compressingSince >= settings.minCompression {
                raise(.targetNotReached, AlarmDetail(chamber: c, value: m, limit: w.lastSetPoint - settings.reachBand))
            }
            w.compressingSince = .nan
            w.overTargetSince = .nan
            w.reached = false
        }
        if sp > 0 { w.lastSetPoint = sp }
        if m > settings.ventedAbove {
            if w.aboveSince.isNaN { w.aboveSince = time }
            if time - w.aboveSince > settings.maxCompression {
                raise(.sustainedPressure, AlarmDetail(chamber: c, value: time - w.aboveSince, limit: settings.maxCompression))
            }
        } else {
            w.aboveSince = .nan
        }
        // No bladder fills or empties this fast; a sensor cut off from it by a kinked hose does.
        let rate = riseRate(c)
        if ticks > window + lagTicks && rate > settings.maxRiseRate { raise(.occlusion, AlarmDetail(chamber: c, value: rate, limit: settings.maxRiseRate)) }
        if ticks > window + lagTicks && -rate > settings.maxFallRate {
            raise(.occlusion, AlarmDetail(chamber: c, value: -rate, limit: settings.maxFallRate, check: 1))
        }
    }

    /// Leak (frequent top-ups), inlet stuck open (rise while sealed, frequent trims), vent failure.
    mutating func checkValves(_ c: Int, time: Double, out: BootOutputs, setPoint sp: Double) {
        let inlet = out.inlets.contains(index: c), exhaust = out.exhausts.contains(index: c)
        let m = mean(c)
        var w = watch[c]
        defer { watch[c] = w }
        let holding = sp > 0 && w.reached
        if holding && exhaust && !lastOutputs.exhausts.contains(index: c) { w.trims.record(time) }
        // The hold proper starts when the first inflation's inlet closes.
        if holding && !inlet { w.inflated = true }
        if holding && w.inflated {
            // Leak: the pump keeps compensating. The air admitted, as a share of the whole pump's
            // flow (inlets open together share it), averaged over time.
            let admitted = inlet && out.pump ? 1 / Double(out.inlets.count + otherInlets) : 0
            w.topUpDuty += (admitted - w.topUpDuty) * tick / settings.leakAveraging
            // Hysteresis: on above the limit, off only below half of it, so the alarm does not
            // flicker around the threshold.
            if w.topUpDuty > settings.leakDuty { w.leaking = true } else if w.topUpDuty < settings.leakDuty / 2 { w.leaking = false }
            if w.leaking {
                raise(.leak, AlarmDetail(chamber: c, value: w.topUpDuty * 100, limit: settings.leakDuty * 100))
            }
            // Far more air than a leak explains: the bladder is torn, or the sensor reads low while
            // the chamber fills. One sensor cannot tell which; either way, vent.
            if w.topUpDuty > settings.unexplainedAirDuty {
                raise(.unexplainedAir, AlarmDetail(chamber: c, value: w.topUpDuty * 100, limit: settings.unexplainedAirDuty * 100))
            }
            let trims = w.trims.countRecent(time, window: settings.trimWindow)
            if trims >= settings.holdTrims {
                raise(.riseInletClosed, AlarmDetail(chamber: c, value: Double(trims), limit: Double(settings.holdTrims), check: 1))
            }
        }
        if !holding {
            w.trims.clear()
            w.topUpDuty = 0
            w.inflated = false
            w.leaking = false
        }
        // Sealed: both valves closed. Skip the first 0.1 s (valve response and sensor latency).
        if !inlet && !exhaust {
            if w.sealedSince.isNaN {
                w.sealedSince = time
                w.sealedMin = .infinity
            }
            if time - w.sealedSince >= 0.1 {
                w.sealedMin = min(w.sealedMin, m)
                if m - w.sealedMin > settings.closedRise {
                    if w.closedRiseSince.isNaN { w.closedRiseSince = time }
                    if time - w.closedRiseSince >= settings.closedRiseDebounce {
                        raise(.riseInletClosed, AlarmDetail(chamber: c, value: m - w.sealedMin, limit: settings.closedRise))
                    }
                } else {
                    w.closedRiseSince = .nan
                }
            }
        } else {
            w.sealedSince = .nan
            w.closedRiseSince = .nan
        }
        // Venting: the exhaust has been open with nothing prescribed; the pressure must go.
        if sp == 0 && exhaust {
            if w.ventingSince.isNaN { w.ventingSince = time }
            if time - w.ventingSince >= settings.ventTimeout && m > settings.ventedAbove {
                raise(.ventFailure, AlarmDetail(chamber: c, value: m, limit: settings.ventedAbove))
            }
        } else {
            w.ventingSince = .nan
        }
    }

    /// Reverse gradient between chamber `c` and its distal neighbour while both are compressing:
    /// the proximal one above the distal one by more than the band plus what the prescription
    /// allows, which is the boost zone's excess in the hold and never more than
    /// ``SafetySettings/boostAllowance``.
    mutating func checkGradient(_ c: Int, time: Double, setPoints sp: ChamberValues) {
        let d = c - 1
        let allowed = min(max(0, sp[c] - sp[d]), settings.boostAllowance)
        if sp[c] > 0 && sp[d] > 0 && mean(c) > mean(d) + settings.gradientBand + allowed {
            if watch[c].gradientSince.isNaN { watch[c].gradientSince = time }
            if time - watch[c].gradientSince >= settings.gradientDebounce {
                raise(.reverseGradient, AlarmDetail(chamber: c, value: mean(c) - mean(d), limit: settings.gradientBand + allowed))
            }
        } else {
            watch[c].gradientSince = .nan
        }
    }

    /// Pump on for a while and no chamber it feeds has risen.
    mutating func checkPump(time: Double, out: BootOutputs) {
        guard out.pump else {
            pumpOnSince = .nan
            return
        }
        if pumpOnSince.isNaN {
            pumpOnSince = time
            pumpInletsSeen = []
            for c in 0..<chamberCount { pumpStartMeans[c] = mean(c) }
        }
        pumpInletsSeen.formUnion(out.inlets)
        guard time - pumpOnSince >= settings.pumpNoRiseTime else { return }
        var best = -Double.infinity
        for c in 0..<chamberCount where pumpInletsSeen.contains(index: c) { best = max(best, mean(c) - pumpStartMeans[c]) }
        if best < settings.pumpMinRise {
            raise(.noPressureRise, AlarmDetail(value: best, limit: settings.pumpMinRise))
        }
    }
}

/// What the supervisor remembers about one chamber.
struct ChamberWatch: Sendable {
    var sum = 0.0
    var mean = 0.0
    var lastReading = Double.nan
    var frozenTicks = 0
    var sameTicks = 0
    var disagreeSince = Double.nan
    var compressingSince = Double.nan
    var lastSetPoint = 0.0
    var reached = false
    var overTargetSince = Double.nan
    var aboveSince = Double.nan
    var sealedSince = Double.nan
    var sealedMin = Double.infinity
    var closedRiseSince = Double.nan
    var ventingSince = Double.nan
    var gradientSince = Double.nan
    var topUpDuty = 0.0
    var inflated = false
    var leaking = false
    var trims = EventTimes()
}

/// The times of the last 16 events (inline, no allocation), to count events in a window.
struct EventTimes: Sendable {
    static let capacity = 16
    var times = InlineArray<16, Double>(repeating: -.infinity)
    var next = 0

    mutating func record(_ time: Double) {
        times[next] = time
        next = (next + 1) % Self.capacity
    }

    /// How many recorded events fell within the last `window` seconds.
    func countRecent(_ time: Double, window: Double) -> Int {
        var n = 0
        for i in 0..<Self.capacity where time - times[i] <= window { n += 1 }
        return n
    }

    mutating func clear() { times = InlineArray(repeating: -.infinity) }
}
