import Foundation
import Testing
@testable import SoleusRuntime

@Suite struct WearReportTests {
    let utc = TimeZone(identifier: "UTC") ?? .current
    func at(_ iso: String) -> Date {
        let f = ISO8601DateFormatter()
        return f.date(from: iso) ?? Date(timeIntervalSince1970: 0)
    }
    func entry(_ id: Int64, _ iso: String, minutes: Double, cycles: Int, end: String?, detail: String? = nil, protocolName: String = "DVT") -> WearReport.Entry {
        WearReport.Entry(id: id, started: at(iso), seconds: minutes * 60, cycles: cycles, endReason: end, endDetail: detail, protocolName: protocolName, simulated: false)
    }

    @Test func perDayTherapyTimeWithMissingDaysAndEarlyEndingsNamed() throws {
        let entries = [
            entry(1, "2026-11-01T08:00:00Z", minutes: 30, cycles: 30, end: "completed"),
            entry(2, "2026-11-01T20:00:00Z", minutes: 12, cycles: 12, end: "stopped"),
            entry(3, "2026-11-03T09:00:00Z", minutes: 5, cycles: 4, end: "safety-trip", detail: "leak: leak — calf took 40 % of the pump's air"),
            entry(4, "2026-11-03T10:00:00Z", minutes: 2, cycles: 1, end: nil),
            entry(5, "2026-10-31T23:59:00Z", minutes: 30, cycles: 30, end: "completed"),
        ]
        let r = try WearReport(entries: entries, from: "2026-11-01", to: "2026-11-03", timeZone: utc, unreadable: 1)
        #expect(r.days.map(\.date) == ["2026-11-01", "2026-11-02", "2026-11-03"])
        #expect(r.days.map(\.sessions) == [2, 0, 2])
        #expect(r.days.map(\.completed) == [1, 0, 0])
        #expect(r.days[0].seconds == 42 * 60)
        #expect(r.days[2].early.map(\.reason) == ["safety trip (leak)", "no end recorded"])
        #expect(r.daysWithTherapy == 2)
        let text = r.text()
        #expect(text.contains("2026-11-02         0          0            0     0 min       0  no therapy"))
        #expect(text.contains("2 of 3 days with therapy; 49 min delivered in 4 sessions, 47 cycles"))
        #expect(text.contains("3 ended early: stopped, safety trip (leak), no end recorded"))
        #expect(text.contains("1 session record could not be read"))
    }

    @Test func aSessionBelongsToTheLocalDayItStarted() throws {
        // 23:30 UTC on the 1st is the 2nd in Berlin.
        let e = [entry(1, "2026-11-01T23:30:00Z", minutes: 30, cycles: 30, end: "completed")]
        let berlin = try #require(TimeZone(identifier: "Europe/Berlin"))
        let r = try WearReport(entries: e, from: "2026-11-01", to: "2026-11-02", timeZone: berlin)
        #expect(r.days.map(\.sessions) == [0, 1])
    }

    @Test func csvQuotesFieldsWithCommasAndQuotes() throws {
        let e = [entry(1, "2026-11-01T08:00:00Z", minutes: 10, cycles: 9, end: "stopped", protocolName: "DVT, \"sequential\"")]
        let csv = try WearReport(entries: e, from: "2026-11-01", to: "2026-11-01", timeZone: utc).csv()
        let lines = csv.split(separator: "\n")
        #expect(lines.first == "date,sessions,completed,ended_early,therapy_min,cycles,protocols,early_reasons")
        #expect(lines.last == "2026-11-01,1,0,1,10.0,9,\"DVT, \"\"sequential\"\"\",stopped")
    }

    @Test(arguments: [("2026-13-01", "2026-11-30", "--from 2026-13-01 is not a date"), ("2026-11-01", "2026-02-30", "--to 2026-02-30 is not a date"),
                      ("2026-11-02", "2026-11-01", "--from 2026-11-02 is after --to 2026-11-01"), ("2025-01-01", "2026-11-01", "spans 670 days"),
                      ("11/01/2026", "2026-11-01", "give YYYY-MM-DD")])
    func badRangesAreRefusedNamingTheOption(from: String, to: String, message: String) {
        do {
            _ = try WearReport(entries: [], from: from, to: to, timeZone: utc)
            Issue.record("accepted \(from)…\(to)")
        } catch {
            #expect(error.description.contains(message), "\(error.description)")
        }
    }
}
