import Benchmark
#if canImport(Glibc)
import Glibc
#endif
import SoleusConfig
import SoleusCore
@_spi(Benchmarks) import SoleusRuntime

/// The repository's root, from this file's path.
let root: String = {
    var parts = #filePath.split(separator: "/", omittingEmptySubsequences: false)
    parts.removeLast(4)
    return parts.joined(separator: "/")
}()

/// The session loop's whole tick as the loop thread runs it, on a shipped protocol and its
/// simulated boot: physics and sensors, controller, supervisor, outputs, records handed to the
/// ring. 1000 ticks per iteration, at most 100 iterations (well inside the 30-minute session).
func sessionTickBenchmark(protocolFile: String, profile: String) -> (Benchmark) -> Void {
    { benchmark in
        let ticker: SessionTicker
        do {
            ticker = try SessionTicker(try PreparedSession.load(protocolPath: root + "/" + protocolFile, profilePath: root + "/" + profile))
        } catch {
            fatalError("cannot prepare \(protocolFile): \(error)")
        }
        // Into the session: cycles running, summaries and events flowing.
        for _ in 0..<6000 { _ = ticker.tick() }
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations { blackHole(ticker.tick()) }
    }
}

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

/// A refill measurement's worst case: a sealed sleeve's 60 s trace at 100 Hz (a limb refilling
/// in 25 s, with sensor noise), then the one judgement at the longest rest that fits it.
func refillBenchmark() -> (Benchmark) -> Void {
    { benchmark in
        var meter = RefillMeter(maxSeconds: 65)
        var seed: UInt64 = 7
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            meter.begin(releasedAt: 0)
            meter.sealed(at: 1.5)
            var result: RefillResult?
            var t = 1.5
            while t < 60.3 {
                seed = seed &* 6364136223846793005 &+ 1442695040888963407
                let noise = Double(seed >> 40) / Double(1 << 24) * 0.5 - 0.25
                meter.add(time: t, pressure: 5 + 4 * (1 - exp(-t / 10.86)) + noise)
                if t >= 60 { result = meter.judge(minRest: 60, deadline: 60) }
                t += 0.01
            }
            blackHole(result)
        }
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
    let sessions = [("protocols/dvt-3-chamber.toml", "hardware/sim-3-dvt.toml", "3 chambers"), ("protocols/lymphoedema-8-chamber.toml", "hardware/sim-8-lymph.toml", "8 chambers"),
                    ("protocols/dvt-refill-adaptive.toml", "hardware/sim-3-dvt.toml", "3 chambers, refill-adaptive")]
    for (p, h, name) in sessions {
        Benchmark("session loop tick, \(name)", configuration: .init(maxDuration: .seconds(3), maxIterations: 100),
                  closure: sessionTickBenchmark(protocolFile: p, profile: h))
    }
    Benchmark("refill measurement, 60 s trace + judgement", configuration: .init(scalingFactor: .one, maxDuration: .seconds(3)),
              closure: refillBenchmark())
}
