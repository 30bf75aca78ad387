/// The treatment controller: a deterministic step from (session time, sensor readings) to valve
/// and pump commands, following a ``TreatmentPlan``.
///
/// It sequences cycles and phases (inflate → hold → settle → release, by time or by event) and
/// regulates each chamber with its on/off inlet and exhaust valves: hysteresis around the set point,
/// and an inlet cut-off that anticipates overshoot from the estimated rise rate. It also keeps the
/// gradient: a chamber's inlet stays shut while it would exceed its pressurised distal neighbour.
///
/// It knows nothing about safety limits; the ``SafetySupervisor`` checks its output every tick.
/// After `init` a step allocates no memory.
public struct Controller: Sendable {
    public let plan: TreatmentPlan
    public let settings: RegulatorSettings

    /// Per-chamber state for the boot's chambers (fixed size: ``maxChambers``).
    var chambers: [ChamberControl]
    /// Events since the last ``drainEvents(_:)``; capacity reserved up front.
    public private(set) var events: [ControlEvent]

    /// The part of the session running now.
    public private(set) var part: CyclePart
    /// The cycle number within the session (1-based, all parts).
    public private(set) var cycleNumber = 0
    /// Main cycles completed.
    public private(set) var mainCyclesDone = 0
    /// The current set (1-based) when the session is organised in sets.
    public private(set) var setNumber = 1
    var cyclesInSet = 0
    /// When the current cycle started (session time).
    public private(set) var cycleStart = 0.0
    var mainStart = 0.0
    /// When the current cycle ends and the next begins, once known.
    var cycleEnd = Double.nan
    var allReachedAt = Double.nan
    var started = false
    /// True once the last cycle has ended: outputs stay vented from then on.
    public private(set) var isFinished = false
    var outputs: BootOutputs

    public init(plan: TreatmentPlan, settings: RegulatorSettings) {
        self.plan = plan
        self.settings = settings
        chambers = Array(repeating: ChamberControl(tickSeconds: settings.tickSeconds), count: maxChambers)
        events = []
        events.reserveCapacity(64)
        part = plan.prefix != nil ? .prefix : .main
        outputs = .vented(chamberCount: plan.chamberCount)
    }

    /// The cycle plan of the running part.
    public var currentCycle: CyclePlan {
        switch part {
        case .prefix: plan.prefix ?? plan.cycle
        case .main: plan.cycle
        case .suffix: plan.suffix ?? plan.cycle
        }
    }

    /// The phase of chamber `index` in the current cycle.
    public func phase(of index: Int) -> Phase { chambers[index].phase }
    /// The set point chamber `index` is regulated to now (0 when not pressurised).
    public func setPoint(of index: Int) -> Double { chambers[index].phase.isPressurised ? chambers[index].setPoint : 0 }
    /// The estimated pressure of chamber `index` (mmHg).
    public func estimate(of index: Int) -> Double { chambers[index].estimator.level }

    /// Removes the buffered events (keeping the buffer's capacity).
    public mutating func clearEvents() { events.removeAll(keepingCapacity: true) }

    /// One control tick at session time `time` (seconds) with this tick's readings.
    public mutating func step(time: Double, inputs: BootInputs) -> TherapyCommand {
        let n = plan.chamberCount
        for i in 0..<n { chambers[i].estimator.add(inputs.pressures[i]) }
        if isFinished { return .vented(chamberCount: n) }
        if !started {
            started = true
            beginCycle(at: time)
        }
        if pendingRest {
            // Resting between sets: everything vented until the rest is over.
            if time + 1e-9 < cycleEnd {
                regulate(time: time)
                return command
            }
            pendingRest = false
            beginCycle(at: time)
        } else if !cycleEnd.isNaN, time + 1e-9 >= cycleEnd {
            // A cycle ends at its next-start time; the next one begins on the same tick.
            endCycle(at: time)
            if isFinished { return .vented(chamberCount: n) }
            // A rest between sets starts now: vent on this tick, not after the old cycle's steps.
            if pendingRest {
                regulate(time: time)
                return command
            }
        }
        sequence(time: time)
        regulate(time: time)
        return command
    }

    /// This tick's outputs with every chamber's prescribed pressure (0 where not pressurised) and
    /// when it is due.
    var command: TherapyCommand {
        var sp = ChamberValues(), due = ChamberValues()
        for c in 0..<plan.chamberCount where chambers[c].phase.isPressurised {
            sp[c] = chambers[c].prescribed
            due[c] = chambers[c].dueAt
        }
        return TherapyCommand(outputs: outputs, setPoints: sp, dueAt: due)
    }

    // MARK: sequencing

    mutating func beginCycle(at time: Double) {
        cycleNumber += 1
        cycleStart = time
        cycleEnd = .nan
        allReachedAt = .nan
        for i in 0..<maxChambers { chambers[i].resetForCycle() }
        for s in currentCycle.steps { chambers[s.chamber].takesPart = true }
        emit(.cycleStarted, time)
        if part == .main && mainCyclesDone == 0 && cyclesInSet == 0 && setNumber == 1 { mainStart = time }
    }

    mutating func endCycle(at time: Double) {
        emit(.cycleEnded, time)
        switch part {
        case .prefix:
            part = .main
            beginCycle(at: time)
        case .main:
            mainCyclesDone += 1
            cyclesInSet += 1
            var more: Bool
            var restUntil = time
            switch plan.length {
            case .minutes(let m): more = time - mainStart < m * 60 - 1e-9
            case .cycles(let c): more = mainCyclesDone < c
            case .sets(let count, let per, let rest):
                more = true
                if cyclesInSet >= per {
                    if setNumber >= count { more = false } else {
                        setNumber += 1
                        cyclesInSet = 0
                        restUntil = time + rest
                    }
                }
            }
            if more {
                if restUntil > time {
                    emit(.setRest, time)
                    // A rest between sets: an empty "cycle" that only waits.
                    cycleEnd = restUntil
                    for i in 0..<maxChambers { chambers[i].resetForCycle() }
                    pendingRest = true
                    return
                }
                beginCycle(at: time)
            } else if plan.suffix != nil {
                part = .suffix
                beginCycle(at: time)
            } else {
                finish(at: time)
            }
        case .suffix:
            finish(at: time)
        }
    }

    /// True while resting between sets (until `cycleEnd`).
    var pendingRest = false

    mutating func finish(at time: Double) {
        isFinished = true
        emit(.finished, time)
        outputs = .vented(chamberCount: plan.chamberCount)
    }

    /// The session time of a plan event in this cycle, or NaN if it has not happened.
    func eventTime(_ e: PlanTrigger.Event) -> Double {
        switch e {
        case .cycleStart: cycleStart
        case .inflated(let c): chambers[c].inflateAt
        case .reached(let c): chambers[c].reachedAt
        case .allReached: allReachedAt
        case .released(let c): chambers[c].releaseAt
        }
    }

    func fired(_ t: PlanTrigger, at time: Double) -> Bool {
        let e = eventTime(t.event)
        return !e.isNaN && time + 1e-9 >= e + t.delay
    }

    mutating func sequence(time: Double) {
        let steps = currentCycle.steps
        // Events can chain within one tick ("release 0 s after calf.inflate"): settle by passes.
        var changed = true
        var passes = 0
        while changed && passes < 4 {
            changed = false
            passes += 1
            for s in steps {
                let c = s.chamber
                let est = chambers[c].estimator.level
                switch chambers[c].phase {
                case .waiting:
                    if fired(s.inflate, at: time) {
                        chambers[c].phase = .inflating
                        chambers[c].inflateAt = time
                        chambers[c].rampFrom = max(est, 0)
                        chambers[c].target = s.target.mmHg
                        chambers[c].prescribed = s.target.mmHg
                        chambers[c].dueAt = time + s.rampSeconds
                        chambers[c].setPoint = s.rampSeconds > 0 ? max(est, 0) : s.target.mmHg
                        emit(.inflate, time, chamber: c, pressure: s.target.mmHg)
                        changed = true
                    }
                case .inflating, .holding, .settled:
                    if chambers[c].phase == .inflating, chambers[c].reachedAt.isNaN,
                        est >= s.target.mmHg - settings.reachTolerance
                    {
                        chambers[c].reachedAt = time
                        chambers[c].phase = .holding
                        chambers[c].setPoint = s.target.mmHg
                        emit(.reached, time, chamber: c, pressure: est)
                        changed = true
                        if steps.allSatisfy({ !chambers[$0.chamber].reachedAt.isNaN }) { allReachedAt = time }
                    }
                    if chambers[c].phase != .settled, let h = s.hold, let hp = s.holdPressure, fired(h, at: time) {
                        chambers[c].phase = .settled
                        chambers[c].setPoint = hp.mmHg
                        chambers[c].prescribed = hp.mmHg
                        chambers[c].dueAt = time
                        emit(.hold, time, chamber: c, pressure: hp.mmHg)
                        changed = true
                    }
                    if fired(s.release, at: time) {
                        chambers[c].phase = .released
                        chambers[c].releaseAt = time
                        emit(.release, time, chamber: c)
                        changed = true
                    }
                case .released:
                    break
                }
            }
        }
        // Ramps.
        for s in steps where chambers[s.chamber].phase == .inflating && s.rampSeconds > 0 {
            let c = s.chamber
            let f = min(1, (time - chambers[c].inflateAt) / s.rampSeconds)
            chambers[c].setPoint = chambers[c].rampFrom + (s.target.mmHg - chambers[c].rampFrom) * f
        }
        // Once every step has released, the next start time is known.
        if cycleEnd.isNaN, steps.allSatisfy({ chambers[$0.chamber].phase == .released }) {
            var lastRelease = cycleStart
            for s in steps { lastRelease = max(lastRelease, chambers[s.chamber].releaseAt) }
            switch currentCycle.pacing {
            case .period(let p):
                if lastRelease > cycleStart + p + 1e-9 {
                    emit(.overrun, time)
                    cycleEnd = lastRelease
                } else {
                    cycleEnd = cycleStart + p
                }
            case .rest(let r):
                cycleEnd = lastRelease + r
            }
        }
    }

    // MARK: regulation

    mutating func regulate(time: Double) {
        let n = plan.chamberCount
        var out = BootOutputs(pump: false, inlets: [], exhausts: [])
        let look = settings.anticipationSeconds
        // After a valve closes, wait one estimator window before deciding again.
        let settle = Double(PressureEstimator.window) * settings.tickSeconds
        // Nearest pressurised distal neighbour's estimate, for the gradient guard.
        var distalLimit = Double.infinity
        // Inlets open on the last tick share the pump: a chamber's rise rate depends on how many.
        let sharing = outputs.inlets
        for c in 0..<n {
            var ch = chambers[c]
            if ch.phase.isPressurised {
                let p = ch.estimator.level
                let r = ch.estimator.slope
                // The gradient guard: not above the distal neighbour by more than the allowance,
                // which lets a chamber whose target equals its neighbour's reach it in normal time.
                let limit = min(ch.setPoint, distalLimit + settings.gradientAllowance)
                if ch.inletOpen {
                    if ch.pulseTicksLeft > 0 {
                        // A top-up pulse ends once the air it let in covers the deficit, counted
                        // at the share of the pump this inlet had on each tick: when another inlet
                        // closes mid-pulse, the rest of the pulse is shorter.
                        ch.pulseTicksLeft -= 1
                        ch.pulseNeed -= ch.riseRate / Double(max(sharing.count, 1)) * settings.tickSeconds
                        if ch.pulseTicksLeft == 0 || ch.pulseNeed <= 0 { closeInlet(&ch, time: time) }
                    } else if p + max(r, 0) * look >= limit {
                        // Continuous inflation: cut off where the predicted pressure meets the
                        // limit, and remember the rise rate for later top-up pulses.
                        // Only a long opening gives the estimator time to see the true rate.
                        // Stored per whole pump, as the inlets open now share it.
                        if r > 1, time - ch.openedAt >= settle { ch.riseRate = r * Double(max(sharing.count, 1)) }
                        closeInlet(&ch, time: time)
                    }
                } else if ch.exhaustOpen {
                    if ch.exhaustPulse || p + min(r, 0) * look <= ch.setPoint {
                        ch.exhaustPulse = false
                        ch.exhaustOpen = false
                        ch.quietUntil = time + settle
                    }
                } else if time + 1e-9 >= ch.quietUntil {
                    if p < limit - settings.lowBand {
                        ch.inletOpen = true
                        ch.openedAt = time
                        // Topping up a held chamber a little: a pulse. A large deficit (a leak the
                        // pulses cannot keep up with, a limb that moved) refills continuously.
                        if ch.phase != .inflating, ch.riseRate > 0, limit - p <= 4 * settings.lowBand {
                            // The pulse is sized from the known rise rate (see the pulse branch
                            // above): a short opening is too brief for the estimator to see the
                            // rise, so the continuous cut-off would overshoot. At most 10 ticks.
                            ch.pulseNeed = limit - p
                            ch.pulseTicksLeft = 10
                        }
                    } else if p > ch.setPoint + settings.highBand {
                        ch.exhaustOpen = true
                        // A small excess in a held chamber: one tick of exhaust, then look again.
                        // Large drops (settling to a lower hold pressure) vent continuously.
                        if ch.phase != .inflating, p - ch.setPoint < 3 * settings.highBand { ch.exhaustPulse = true }
                    }
                }
                distalLimit = p
            } else {
                ch.inletOpen = false
                ch.exhaustOpen = true
                distalLimit = .infinity
            }
            if ch.inletOpen { out.inlets.set(c, true) }
            if ch.exhaustOpen { out.exhausts.set(c, true) }
            chambers[c] = ch
        }
        out.pump = !out.inlets.isEmpty
        outputs = out
    }

    func closeInlet(_ ch: inout ChamberControl, time: Double) {
        ch.inletOpen = false
        ch.pulseTicksLeft = 0
        ch.quietUntil = time + Double(PressureEstimator.window) * settings.tickSeconds
    }

    mutating func emit(_ kind: ControlEvent.Kind, _ time: Double, chamber: Int = -1, pressure: Double = .nan) {
        events.append(ControlEvent(kind: kind, time: time, cycle: cycleNumber, part: part, chamber: chamber, pressure: pressure))
    }
}

/// Per-chamber controller state.
struct ChamberControl: Sendable {
    var estimator: PressureEstimator
    var phase: Phase = .waiting
    var takesPart = false
    var target = 0.0
    /// What the regulator aims at now: the ramp's value while ramping, else the prescription.
    var setPoint = 0.0
    /// The protocol's pressure for the current phase (the ramp's end), and when it is due.
    var prescribed = 0.0
    var dueAt = 0.0
    var rampFrom = 0.0
    var inflateAt = Double.nan
    var reachedAt = Double.nan
    var releaseAt = Double.nan
    var inletOpen = false
    var exhaustOpen = true
    /// Ticks left in a top-up pulse at most (0: not pulsing), and the rise it still has to give.
    var pulseTicksLeft = 0
    var pulseNeed = 0.0
    /// The open exhaust is a one-tick trim pulse.
    var exhaustPulse = false
    /// No new valve decision before this time (the estimator is settling).
    var quietUntil = -Double.infinity
    /// Rise rate seen at the last continuous cut-off, scaled to the whole pump (mmHg/s × inlets
    /// sharing it then), for sizing top-up pulses.
    var riseRate = 0.0
    /// When the inlet last opened.
    var openedAt = 0.0

    init(tickSeconds: Double) { estimator = PressureEstimator(tickSeconds: tickSeconds) }

    mutating func resetForCycle() {
        phase = .waiting
        takesPart = false
        inflateAt = .nan
        reachedAt = .nan
        releaseAt = .nan
        inletOpen = false
        exhaustOpen = true
        pulseTicksLeft = 0
        exhaustPulse = false
        quietUntil = -.infinity
    }
}
