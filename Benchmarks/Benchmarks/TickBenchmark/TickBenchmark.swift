import Benchmark
import SoleusCore

/// One control tick as the session loop runs it: the controller's step, then the supervisor's
/// check, on a sequential gradient program of `n` chambers mid-cycle (chambers filling, holding
/// and waiting), with noisy readings that follow the set points. Allocations are counted by the
/// malloc interposer; the target is zero per tick.
func tickBenchmark(chambers n: Int) -> (Benchmark) -> Void {
    { benchmark in
        let names = (0..<n).map { "c\($0)" }
        let steps = names.enumerated().map { i, name in
            ChamberStep(
                chamber: name, target: .absolute(Pressure(mmHg: 50 - Double(i) * 0.5)),
                inflate: i == 0 ? .at(0) : Trigger(.reached(names[i - 1])),
                release: Trigger(.allReached, delay: 5))
        }
        let proto = TreatmentProtocol(
            name: "bench", chambers: names, length: .minutes(60),
            cycle: CycleDefinition(pacing: .period(60), steps: steps))
        let plan: TreatmentPlan
        do { plan = try ProtocolValidator.plan(proto, for: BootDescription(chambers: names, limits: BootLimits())) } catch {
            fatalError("the benchmark's protocol does not validate: \(error)")
        }
        var controller = Controller(plan: plan, settings: RegulatorSettings())
        var supervisor = SafetySupervisor(settings: SafetySettings(), chamberCount: n, tickSeconds: 0.01)
        var readings = ChamberValues()
        var t = 0.0
        var seed: UInt64 = 1
        func tick() {
            seed = seed &* 6364136223846793005 &+ 1442695040888963407
            let noise = Double(seed >> 40) / Double(1 << 24) * 0.4 - 0.2
            for c in 0..<n {
                // The readings approach the set point, as a garment would (about 30 mmHg/s).
                let sp = controller.setPoint(of: c)
                readings[c] += max(-0.3, min(0.3, sp - readings[c])) + noise
            }
            let inputs = BootInputs(pressures: readings, age: 0.005)
            let command = controller.step(time: t, inputs: inputs)
            blackHole(supervisor.check(time: t, inputs: inputs, command: command))
            controller.clearEvents()
            t += 0.01
        }
        // Warm up into the cycle: some chambers holding, some filling, some waiting.
        for _ in 0..<300 { tick() }
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations { tick() }
    }
}

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .cpuTotal, .mallocCountTotal, .throughput],
        scalingFactor: .kilo,
        maxDuration: .seconds(3))
    for n in [3, 8, 24, 32] {
        Benchmark("control tick, \(n) chambers", closure: tickBenchmark(chambers: n))
    }
}
