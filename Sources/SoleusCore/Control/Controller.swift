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
    /// Per-step state of the running cycle (sized for the longest cycle of the plan).
    var stepStates: [StepState]
    /// The main part's running phase (index into the plan's phases) and the cycles it has run.
    public private(set) var phaseIndex = 0
    var phaseCycles = 0
    /// The pump share (1 / open inlets) of the last estimator window's ticks, newest at
    /// `shareNext − 1`.
    var shareHistory = InlineArray<8, Double>(repeating: 1)
    var shareNext = 0
    /// The share of the prescribed pressures in this cycle (the build-up; 1 otherwise).
    public private(set) var pressureScale = 1.0
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
    /// Refill-adaptive rests (plans with ``TreatmentPlan/refill``): the meter, whether this cycle
    /// measures, the sensing hold's state, and the rest the last trusted measurement set.
    var refillMeter: RefillMeter?
    var measuring = false
    var sensingSealed = false
    /// The rest of the main cycles now (s): nil while the fixed rest applies.
    public private(set) var adaptiveRest: Double?
    /// The last refill measurement's result.
    public private(set) var lastRefill: RefillResult?

    public init(plan: TreatmentPlan, settings: RegulatorSettings) {
        self.plan = plan
        self.settings = settings
        chambers = Array(repeating: ChamberControl(tickSeconds: settings.tickSeconds), count: maxChambers)
        stepStates = Array(repeating: StepState(), count: plan.allCycles.map(\.steps.count).max() ?? 0)
        events = []
        events.reserveCapacity(64)
        part = plan.prefix != nil ? .prefix : .main
        outputs = .vented(chamberCount: plan.chamberCount)
        if let r = plan.refill { refillMeter = RefillMeter(maxSeconds: r.maxRestSeconds + 5) }
    }

    /// The cycle plan of the running part.
    public var currentCycle: CyclePlan {
        switch part {
        case .prefix: plan.prefix ?? plan.cycle
        case .main: plan.phases[phaseIndex].cycle
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
        if isFinished || isPaused { return .vented(chamberCount: n) }
        if sensingSealed, let r = plan.refill { refillMeter?.add(time: time, pressure: inputs.pressures[r.chamber]) }
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
        // A sensing chamber venting down to its sensing pressure is venting; sealed, it holds it.
        if let r = plan.refill, chambers[r.chamber].phase == .sensing, sensingSealed {
            sp[r.chamber] = r.sensing.mmHg
            due[r.chamber] = chambers[r.chamber].dueAt
        }
        return TherapyCommand(outputs: outputs, setPoints: sp, dueAt: due)
    }

    // MARK: pause

    /// True between ``pause(at:)`` and ``resume(at:)``: every output vented, the program held.
    public private(set) var isPaused = false
    var pausedAt = 0.0

    /// Pauses therapy at `time`: the running cycle is abandoned (it does not count towards the
    /// session length) and every chamber vents until ``resume(at:)``. False if there was nothing
    /// to pause (already paused, or finished).
    @discardableResult
    public mutating func pause(at time: Double) -> Bool {
        guard !isPaused, !isFinished else { return false }
        isPaused = true
        pausedAt = time
        if started && !pendingRest { emit(.cycleEnded, time) }
        emit(.paused, time)
        for i in 0..<maxChambers { chambers[i].resetForCycle() }
        sensingSealed = false
        outputs = .vented(chamberCount: plan.chamberCount)
        return true
    }

    /// Resumes after ``pause(at:)``: a new cycle starts at `time` (a rest between sets goes on for
    /// what was left of it). A session measured in minutes is lengthened by the pause, so the
    /// prescribed therapy time is delivered. False if it was not paused.
    @discardableResult
    public mutating func resume(at time: Double) -> Bool {
        guard isPaused else { return false }
        isPaused = false
        let pause = max(0, time - pausedAt)
        mainStart += pause
        emit(.resumed, time)
        guard started else { return true }
        if pendingRest {
            cycleEnd += pause
        } else {
            beginCycle(at: time)
        }
        return true
    }

    // MARK: sequencing

    mutating func beginCycle(at time: Double) {
        cycleNumber += 1
        cycleStart = time
        cycleEnd = .nan
        allReachedAt = .nan
        for i in 0..<maxChambers { chambers[i].resetForCycle() }
        for i in stepStates.indices { stepStates[i] = StepState() }
        pressureScale = part == .main ? plan.buildUp?.fraction(mainCycle: mainCyclesDone + 1) ?? 1 : 1
        sensingSealed = false
        measuring = plan.refill.map { part == .main && mainCyclesDone % $0.everyCycles == 0 } ?? false
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
            phaseCycles += 1
            if phaseCycles >= plan.phases[phaseIndex].repeatCount {
                phaseIndex = (phaseIndex + 1) % plan.phases.count
                phaseCycles = 0
            }
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
        case .inflated(let i): stepStates[i].inflateAt
        case .reached(let i): stepStates[i].reachedAt
        case .allReached: allReachedAt
        case .released(let i): stepStates[i].releaseAt
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
            for i in steps.indices where advance(step: i, steps[i], time: time) { changed = true }
        }
        for (i, s) in steps.enumerated() where stepStates[i].phase.isPressurised {
            let c = s.chamber
            // Ramps.
            if stepStates[i].phase == .inflating && s.rampSeconds > 0 {
                let f = min(1, (time - stepStates[i].inflateAt) / s.rampSeconds)
                chambers[c].setPoint = chambers[c].rampFrom + (chambers[c].target - chambers[c].rampFrom) * f
            }
            // A required rise time that passed without reaching the target: logged once.
            if let r = s.riseSeconds, stepStates[i].reachedAt.isNaN, !stepStates[i].riseLate,
                time - stepStates[i].inflateAt > r + 1e-9
            {
                stepStates[i].riseLate = true
                emit(.riseLate, time, chamber: c, pressure: chambers[c].estimator.level)
            }
        }
        senseRefill(time: time)
        // Once every step has released (and any refill measurement is done), the next start time
        // is known.
        if cycleEnd.isNaN, !isSensing, stepStates.prefix(steps.count).allSatisfy({ $0.phase == .released }) {
            var lastRelease = cycleStart
            for st in stepStates.prefix(steps.count) { lastRelease = max(lastRelease, st.releaseAt) }
            if part == .main, plan.refill != nil, case .rest(let fixed) = currentCycle.pacing {
                // Never before now: a measurement may have outlasted the rest it sets.
                cycleEnd = max(lastRelease + (adaptiveRest ?? fixed), time)
                return
            }
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

    /// Moves step `i` on if its next trigger has fired. Returns true when it changed.
    mutating func advance(step i: Int, _ s: StepPlan, time: Double) -> Bool {
        let c = s.chamber
        let est = chambers[c].estimator.level
        var changed = false
        switch stepStates[i].phase {
        case .waiting:
            // A chamber's later step waits until its earlier one has released (validation
            // requires that order; event timing could still bring the trigger early).
            guard fired(s.inflate, at: time), !chambers[c].phase.isPressurised else { return false }
            let target = s.target.mmHg * pressureScale
            stepStates[i].phase = .inflating
            stepStates[i].inflateAt = time
            chambers[c].step = i
            chambers[c].phase = .inflating
            chambers[c].boosted = false
            chambers[c].rampFrom = max(est, 0)
            chambers[c].target = target
            chambers[c].prescribed = target
            chambers[c].dueAt = time + s.rampSeconds
            chambers[c].setPoint = s.rampSeconds > 0 ? max(est, 0) : target
            emit(.inflate, time, chamber: c, pressure: target)
            return true
        case .inflating, .holding, .settled:
            if stepStates[i].phase == .inflating, est >= chambers[c].target - settings.reachTolerance {
                stepStates[i].reachedAt = time
                stepStates[i].phase = .holding
                chambers[c].phase = .holding
                chambers[c].setPoint = chambers[c].target
                emit(.reached, time, chamber: c, pressure: est)
                changed = true
                if stepStates.prefix(currentCycle.steps.count).allSatisfy({ !$0.reachedAt.isNaN }) { allReachedAt = time }
            }
            if stepStates[i].phase != .settled, let h = s.hold, let hp = s.holdPressure, fired(h, at: time) {
                let p = hp.mmHg * pressureScale + (chambers[c].boosted ? chambers[c].boostExtra : 0)
                stepStates[i].phase = .settled
                chambers[c].phase = .settled
                chambers[c].setPoint = p
                chambers[c].prescribed = p
                chambers[c].dueAt = time
                emit(.hold, time, chamber: c, pressure: p)
                changed = true
            }
            if boostDue(s, chamber: c, step: i) {
                // The boost zone: extra pressure in the hold, once the wave has passed its distal
                // neighbour (docs/protocols.md, "The gradient rule").
                let extra = s.boost.mmHg * pressureScale
                chambers[c].boosted = true
                chambers[c].boostExtra = extra
                chambers[c].setPoint += extra
                chambers[c].prescribed += extra
                chambers[c].dueAt = time
                emit(.boost, time, chamber: c, pressure: chambers[c].prescribed)
                changed = true
            }
            if fired(s.release, at: time) {
                stepStates[i].phase = .released
                stepStates[i].releaseAt = time
                chambers[c].phase = .released
                emit(.release, time, chamber: c)
                if measuring, let r = plan.refill, r.chamber == c, isLastStep(i, of: c) { beginSensing(c, releasedAt: time) }
                changed = true
            }
        case .released, .sensing:
            break
        }
        return changed
    }

    // MARK: refill sensing

    /// True while the sensing chamber is held for a refill measurement.
    var isSensing: Bool { plan.refill.map { chambers[$0.chamber].phase == .sensing } ?? false }

    /// Whether step `i` is chamber `c`'s last in the running cycle.
    func isLastStep(_ i: Int, of c: Int) -> Bool {
        !currentCycle.steps.indices.contains { $0 > i && currentCycle.steps[$0].chamber == c }
    }

    /// The sensing chamber vents down to its sensing pressure instead of to atmosphere.
    mutating func beginSensing(_ c: Int, releasedAt time: Double) {
        measuring = false
        sensingSealed = false
        chambers[c].phase = .sensing
        chambers[c].dueAt = time
        refillMeter?.begin(releasedAt: time)
    }

    /// Judges the refill trace; once it is decided, the chamber vents and the rest is set.
    mutating func senseRefill(time: Double) {
        guard let r = plan.refill, isSensing, refillMeter != nil else { return }
        var result = refillMeter?.judge(minRest: r.minRestSeconds, deadline: r.maxRestSeconds)
        // A sleeve that never settled at the sensing pressure gives no trace by the deadline.
        if result == nil, let released = refillMeter?.releasedAt, time - released >= r.maxRestSeconds + 1 { result = RefillResult(outcome: .noTrace) }
        guard var result else { return }
        let trusted = result.outcome == .measured
        result.restSeconds = trusted ? r.rest(forRefill: result.refillSeconds) : r.fixedRestSeconds
        adaptiveRest = trusted ? result.restSeconds : nil
        lastRefill = result
        chambers[r.chamber].phase = .released
        sensingSealed = false
        emit(trusted ? .refillMeasured : .refillFallback, time, chamber: r.chamber, refill: result)
    }

    /// True when step `i`'s boost should start now: it has one, it is holding (reached, or
    /// settled), and its distal neighbour is not still inflating.
    func boostDue(_ s: StepPlan, chamber c: Int, step i: Int) -> Bool {
        guard s.boost.mmHg > 0, !chambers[c].boosted, stepStates[i].phase == .holding || stepStates[i].phase == .settled else { return false }
        return c == 0 || chambers[c - 1].phase != .inflating
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
        // A chamber filling continuously predicts its cut-off from its rise rate; a top-up pulse
        // starting or ending elsewhere on the pump changes that rate under it and it overshoots.
        // Small top-ups wait until no chamber is filling (a large deficit refills at once).
        var filling = false
        for c in 0..<n where chambers[c].phase == .inflating && chambers[c].inletOpen && chambers[c].pulseTicksLeft == 0 { filling = true }
        // The rise rate an open inlet sees follows its share of the pump. The estimator's slope is
        // the rate at the shares of its window; if an inlet closed since, the rate is higher now.
        var meanShare = 0.0
        for k in 0..<PressureEstimator.window { meanShare += shareHistory[k] }
        meanShare /= Double(PressureEstimator.window)
        let shareNow = 1 / Double(max(sharing.count, 1))
        let rateScale = meanShare > 0 ? max(1, shareNow / meanShare) : 1
        for c in 0..<n {
            var ch = chambers[c]
            if ch.phase == .sensing {
                regulateSensing(&ch, chamber: c, time: time)
                distalLimit = .infinity
            } else if ch.phase.isPressurised {
                let p = ch.estimator.level
                let r = ch.estimator.slope
                // The gradient guard: not above the distal neighbour by more than the allowance,
                // which lets a chamber whose target equals its neighbour's reach it in normal time.
                // A boost zone in its hold may stand above its neighbour by its boost.
                let limit = min(ch.setPoint, distalLimit + settings.gradientAllowance + (ch.boosted ? ch.boostExtra : 0))
                if ch.inletOpen {
                    if ch.pulseTicksLeft > 0 {
                        // A top-up pulse ends once the air it let in covers the deficit, counted
                        // at the share of the pump this inlet had on each tick: when another inlet
                        // closes mid-pulse, the rest of the pulse is shorter.
                        ch.pulseTicksLeft -= 1
                        ch.pulseNeed -= ch.riseRate / Double(max(sharing.count, 1)) * settings.tickSeconds
                        if ch.pulseTicksLeft == 0 || ch.pulseNeed <= 0 { closeInlet(&ch, time: time) }
                    } else if p + max(r, 0) * rateScale * look >= limit {
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
                    let smallTopUp = ch.phase != .inflating && limit - p <= 4 * settings.lowBand
                    if p < limit - settings.lowBand && !(smallTopUp && filling) {
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
        shareHistory[shareNext] = 1 / Double(max(out.inlets.count, 1))
        shareNext = (shareNext + 1) % PressureEstimator.window
    }

    /// The sensing chamber: exhaust open until it is down to the sensing pressure, then sealed
    /// (both valves shut, nothing regulated) so the limb's refill shows in its pressure.
    mutating func regulateSensing(_ ch: inout ChamberControl, chamber c: Int, time: Double) {
        ch.inletOpen = false
        guard let r = plan.refill else { return }
        if !sensingSealed, ch.estimator.level + min(ch.estimator.slope, 0) * settings.anticipationSeconds <= r.sensing.mmHg {
            sensingSealed = true
            ch.dueAt = time
            refillMeter?.sealed(at: time)
            emit(.refillSensing, time, chamber: c, pressure: ch.estimator.level)
        }
        ch.exhaustOpen = !sensingSealed
    }

    func closeInlet(_ ch: inout ChamberControl, time: Double) {
        ch.inletOpen = false
        ch.pulseTicksLeft = 0
        ch.quietUntil = time + Double(PressureEstimator.window) * settings.tickSeconds
    }

    mutating func emit(_ kind: ControlEvent.Kind, _ time: Double, chamber: Int = -1, pressure: Double = .nan, refill: RefillResult? = nil) {
        events.append(ControlEvent(kind: kind, time: time, cycle: cycleNumber, part: part, chamber: chamber, pressure: pressure, refill: refill))
    }
}

/// Per-chamber controller state.
struct ChamberControl: Sendable {
    var estimator: PressureEstimator
    /// The phase of the step now driving the chamber.
    var phase: Phase = .waiting
    /// That step's index in the cycle (−1: none yet).
    var step = -1
    /// The step's boost has been added, and how much (mmHg).
    var boosted = false
    var boostExtra = 0.0
    /// The step's target in this cycle (after any build-up scaling).
    var target = 0.0
    /// What the regulator aims at now: the ramp's value while ramping, else the prescription.
    var setPoint = 0.0
    /// The protocol's pressure for the current phase (the ramp's end), and when it is due.
    var prescribed = 0.0
    var dueAt = 0.0
    var rampFrom = 0.0
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
        step = -1
        boosted = false
        inletOpen = false
        exhaustOpen = true
        pulseTicksLeft = 0
        exhaustPulse = false
        quietUntil = -.infinity
    }
}

/// Where one step of the running cycle is, and when its events happened (session time).
struct StepState: Sendable {
    var phase: Phase = .waiting
    var inflateAt = Double.nan
    var reachedAt = Double.nan
    var releaseAt = Double.nan
    /// A late rise has been logged.
    var riseLate = false
}
