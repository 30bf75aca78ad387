import ArgumentParser
import SoleusConfig
import SoleusCore
import SoleusRuntime

struct ScenarioCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scenario",
        abstract: "Replay fault scenarios on the simulated boot and check their expected outcome.",
        discussion: "Prints each scenario's trace (faults, alarms, safe state, venting) and a PASS/FAIL line per expectation. Exits 1 if any expectation fails.")

    @Argument(help: "Scenario files (scenarios/*.toml).")
    var files: [String]

    @Flag(name: .long, help: "Also list routine phase changes in the trace.")
    var allEvents = false

    func validate() throws {
        if files.isEmpty { throw ValidationError("give at least one scenario file") }
    }

    func run() throws {
        var failed = 0
        for file in files {
            let scenario: Scenario
            do { scenario = try ScenarioFile.load(path: file) } catch {
                printError(error.description)
                failed += 1
                continue
            }
            print("== \(scenario.name) (\(file))")
            if !scenario.summary.isEmpty { print("   \(scenario.summary)") }
            let outcome: ScenarioRunner.Outcome
            do { outcome = try ScenarioRunner(scenario: scenario).run() } catch {
                printError("\(file): \(error)")
                failed += 1
                continue
            }
            for a in scenario.timeline {
                print("  " + pad(formatFixed(a.at, decimals: 2), 9) + " s  " + "scripted".padding(16) + describe(a))
            }
            let routine: Set<String> = ["cycle-start", "cycle-end", "inflate", "reached", "hold", "release"]
            for e in outcome.log where allEvents || !routine.contains(e.kind) {
                print("  " + pad(formatFixed(e.time, decimals: 2), 9) + " s  " + e.kind.padding(16) + e.message)
            }
            print("  end: \(outcome.result.end.reason.rawValue) — \(outcome.result.end.detail)")
            for c in outcome.checks {
                print("  \(c.passed ? "PASS" : "FAIL")  \(c.what): \(c.detail)")
            }
            if !outcome.passed { failed += 1 }
            print("")
        }
        print("\(files.count - failed) passed, \(failed) failed")
        if failed > 0 { throw ExitCode(1) }
    }

    func describe(_ a: Scenario.TimedAction) -> String {
        let until = a.duration.map { " for \(formatFixed($0, decimals: 2)) s" } ?? ""
        switch a.action {
        case .fault(let f): return "fault \(f)\(until)"
        case .operatorCommand(let c): return "operator: \(c)"
        case .loopStall(let l): return "loop ticks \(formatFixed(l * 1000, decimals: 1)) ms late\(until)"
        case .storageFailure: return "session log storage fails\(until)"
        }
    }
}
