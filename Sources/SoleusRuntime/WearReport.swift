import Foundation

/// Wear time and adherence over a range of days (`soleus report`): per calendar day the sessions
/// started, the therapy time delivered, the compressions given and the sessions that ended early
/// and why, because clinicians and payers ask for pressure, frequency, duration and wear time.
/// Pure: built from the store's session records; days are those of `timeZone`.
public struct WearReport: Sendable {
    /// One session as the report counts it.
    public struct Entry: Sendable {
        public var id: Int64
        /// When it started (UTC).
        public var started: Date
        /// Therapy time (s): the recorded duration, or for a session that never recorded its end,
        /// its last stored sample.
        public var seconds: Double
        public var cycles: Int
        /// The end reason, nil if none was recorded; and its detail.
        public var endReason: String?
        public var endDetail: String?
        public var protocolName: String
        public var simulated: Bool

        public init(id: Int64, started: Date, seconds: Double, cycles: Int, endReason: String?, endDetail: String?, protocolName: String, simulated: Bool) {
            self.id = id
            self.started = started
            self.seconds = seconds
            self.cycles = cycles
            self.endReason = endReason
            self.endDetail = endDetail
            self.protocolName = protocolName
            self.simulated = simulated
        }

        /// Ended as prescribed.
        public var completed: Bool { endReason == "completed" }
        /// Why it ended early, in a few words (the reason, and for a safety trip its alarm).
        public var earlyReason: String {
            guard let r = endReason else { return "no end recorded" }
            if r == "safety-trip", let d = endDetail, let alarm = d.split(separator: ":").first { return "safety trip (\(alarm))" }
            return r.replacingOccurrences(of: "-", with: " ")
        }
    }

    /// One calendar day.
    public struct Day: Sendable, Equatable {
        public var date: String
        public var sessions = 0
        public var completed = 0
        public var seconds = 0.0
        public var cycles = 0
        public var protocols: [String] = []
        /// Early endings: reason → count, in the order first seen.
        public var early: [(reason: String, count: Int)] = []

        public var endedEarly: Int { early.reduce(0) { $0 + $1.count } }

        public static func == (a: Day, b: Day) -> Bool {
            a.date == b.date && a.sessions == b.sessions && a.completed == b.completed && a.seconds == b.seconds && a.cycles == b.cycles
                && a.protocols == b.protocols && a.early.map(\.reason) == b.early.map(\.reason) && a.early.map(\.count) == b.early.map(\.count)
        }
    }

    public var from: String
    public var to: String
    public var days: [Day]
    /// Session records that could not be read (counted, never hidden).
    public var unreadable: Int
    public var simulatedSessions: Int

    /// The report for the days `from`…`to` (YYYY-MM-DD, inclusive) of `timeZone`.
    public init(entries: [Entry], from: String, to: String, timeZone: TimeZone, unreadable: Int = 0) throws(ReportError) {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        let first = try Self.day(from, option: "--from", calendar: calendar)
        let last = try Self.day(to, option: "--to", calendar: calendar)
        guard first <= last else { throw ReportError("--from \(from) is after --to \(to)") }
        let count = (calendar.dateComponents([.day], from: first, to: last).day ?? 0) + 1
        guard count <= 366 else { throw ReportError("--from \(from) --to \(to) spans \(count) days; a report covers at most 366") }
        var days: [Day] = []
        var index: [String: Int] = [:]
        for k in 0..<count {
            guard let d = calendar.date(byAdding: .day, value: k, to: first) else { continue }
            let name = Self.name(d, calendar: calendar)
            index[name] = days.count
            days.append(Day(date: name))
        }
        var simulated = 0
        for e in entries.sorted(by: { $0.started < $1.started }) {
            guard let i = index[Self.name(e.started, calendar: calendar)] else { continue }
            days[i].sessions += 1
            days[i].seconds += max(e.seconds, 0)
            days[i].cycles += e.cycles
            if !days[i].protocols.contains(e.protocolName) { days[i].protocols.append(e.protocolName) }
            if e.simulated { simulated += 1 }
            if e.completed {
                days[i].completed += 1
            } else if let j = days[i].early.firstIndex(where: { $0.reason == e.earlyReason }) {
                days[i].early[j].count += 1
            } else {
                days[i].early.append((e.earlyReason, 1))
            }
        }
        self.from = from
        self.to = to
        self.days = days
        self.unreadable = unreadable
        simulatedSessions = simulated
    }

    static func day(_ text: String, option: String, calendar: Calendar) throws(ReportError) -> Date {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].count == 4, parts[1].count == 2, parts[2].count == 2,
              let y = Int(parts[0]), let m = Int(parts[1]), let d = Int(parts[2]),
              let date = calendar.date(from: DateComponents(year: y, month: m, day: d)),
              Self.name(date, calendar: calendar) == text
        else { throw ReportError("\(option) \(text) is not a date: give YYYY-MM-DD, e.g. 2026-11-01") }
        return date
    }

    static func name(_ date: Date, calendar: Calendar) -> String {
        let c = calendar.dateComponents([.year, .month, .day], from: date)
        return String(format: "%04d-%02d-%02d", c.year ?? 0, c.month ?? 0, c.day ?? 0)
    }

    public var totalSeconds: Double { days.reduce(0) { $0 + $1.seconds } }
    public var daysWithTherapy: Int { days.filter { $0.seconds > 0 }.count }

    /// The report as text: a line per day, then the totals.
    public func text() -> String {
        var lines = ["Wear time and adherence, \(from) to \(to)", "",
                     "date        sessions  completed  ended early  therapy   cycles  protocols / why ended early"]
        for d in days {
            var why = d.protocols.joined(separator: "; ")
            if !d.early.isEmpty { why += (why.isEmpty ? "" : " — ") + "ended early: " + Self.reasons(d.early) }
            if d.sessions == 0 { why = "no therapy" }
            lines.append(d.date + "  " + Self.pad("\(d.sessions)", 8) + "  " + Self.pad("\(d.completed)", 9) + "  " + Self.pad("\(d.endedEarly)", 11)
                         + "  " + Self.pad(Self.duration(d.seconds), 8) + "  " + Self.pad("\(d.cycles)", 6) + "  " + why)
        }
        let early = days.flatMap(\.early).reduce(into: [(reason: String, count: Int)]()) { acc, e in
            if let j = acc.firstIndex(where: { $0.reason == e.reason }) { acc[j].count += e.count } else { acc.append(e) }
        }
        let sessions = days.reduce(0) { $0 + $1.sessions }
        lines.append("")
        lines.append("\(daysWithTherapy) of \(days.count) days with therapy; \(Self.duration(totalSeconds)) delivered in \(sessions) session\(sessions == 1 ? "" : "s"), \(days.reduce(0) { $0 + $1.cycles }) cycles")
        lines.append(early.isEmpty ? "no session ended early" : "\(early.reduce(0) { $0 + $1.count }) ended early: " + Self.reasons(early))
        if simulatedSessions > 0 { lines.append("\(simulatedSessions) of the sessions ran on the simulated boot (at its speed, their therapy time is simulated time)") }
        if unreadable > 0 { lines.append("\(unreadable) session record\(unreadable == 1 ? "" : "s") could not be read and \(unreadable == 1 ? "is" : "are") not counted (see `soleus sessions`)") }
        return lines.joined(separator: "\n") + "\n"
    }

    /// The report as CSV, a row per day.
    public func csv() -> String {
        var out = "date,sessions,completed,ended_early,therapy_min,cycles,protocols,early_reasons\n"
        for d in days {
            let fields = [d.date, "\(d.sessions)", "\(d.completed)", "\(d.endedEarly)", String(format: "%.1f", d.seconds / 60), "\(d.cycles)",
                          Self.quote(d.protocols.joined(separator: "; ")), Self.quote(Self.reasons(d.early))]
            out += fields.joined(separator: ",") + "\n"
        }
        return out
    }

    static func reasons(_ list: [(reason: String, count: Int)]) -> String {
        list.map { $0.count == 1 ? $0.reason : "\($0.reason) ×\($0.count)" }.joined(separator: ", ")
    }

    /// RFC 4180: a field with a comma, quote or line break is quoted, its quotes doubled.
    static func quote(_ s: String) -> String {
        guard s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return s }
        return "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    static func duration(_ s: Double) -> String {
        let m = Int((s / 60).rounded())
        return m >= 60 ? "\(m / 60) h \(String(format: "%02d", m % 60)) min" : "\(m) min"
    }

    static func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s : String(repeating: " ", count: n - s.count) + s }
}

/// A report's range or dates are wrong: the message names the option and the value.
public struct ReportError: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ d: String) { description = d }
}

extension SessionStore {
    /// The report's entries for every readable session, and how many records could not be read.
    public func wearEntries() throws -> (entries: [WearReport.Entry], unreadable: Int) {
        var entries: [WearReport.Entry] = [], unreadable = 0
        let iso = ISO8601DateFormatter()
        iso.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        for r in try sessions() {
            guard case .success(let s) = r, let started = iso.date(from: s.startedAt) else { unreadable += 1; continue }
            let seconds = try s.duration ?? lastSampleTime(s.id) ?? 0
            entries.append(WearReport.Entry(id: s.id, started: started, seconds: seconds, cycles: s.cyclesCompleted ?? 0, endReason: s.endReason,
                                            endDetail: s.endDetail, protocolName: s.protocolName, simulated: s.backend.hasPrefix("simulated")))
        }
        return (entries, unreadable)
    }

    /// The session time of session `id`'s last stored sample, if any.
    func lastSampleTime(_ id: Int64) throws -> Double? {
        try reading("read the samples of session \(id) from") { db in
            try Double.fetchOne(db, sql: "SELECT MAX(t) FROM sample WHERE session_id = ?", arguments: [id])
        }
    }
}
