import ArgumentParser
import Foundation
import SoleusRuntime

/// `soleus report`: wear time and adherence per day over a range (local store).
struct Report: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Wear time and adherence: per day, therapy time delivered, sessions, cycles, and sessions that ended early and why.",
        discussion: "Days are the machine's local calendar days (TZ). --csv gives one row per day: date, sessions, completed, ended_early, therapy_min, cycles, protocols, early_reasons.")

    @Option(name: .long, help: "First day (YYYY-MM-DD).")
    var from: String
    @Option(name: .long, help: "Last day (YYYY-MM-DD), included.")
    var to: String
    @Flag(name: .long, help: "CSV, one row per day.")
    var csv = false
    @OptionGroup var data: DataOptions

    func run() throws {
        let (store, _) = try data.open()
        let (entries, unreadable) = try store.wearEntries()
        let report: WearReport
        do { report = try WearReport(entries: entries, from: from, to: to, timeZone: .current, unreadable: unreadable) } catch {
            throw CLIError(error.description)
        }
        print(csv ? report.csv() : report.text(), terminator: "")
    }
}
