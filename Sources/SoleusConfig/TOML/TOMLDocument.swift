import SoleusCore

/// A parsed TOML document as plain Swift values (parsed by ``TOMLParser``).
indirect enum TOMLNode: Sendable, Equatable {
    case table([String: TOMLNode])
    case array([TOMLNode])
    case string(String)
    case int(Int)
    case double(Double)
    case bool(Bool)
    /// Dates and times: valid TOML, never valid in Soleus files.
    case datetime(TOMLDateTime)

    var typeName: String {
        switch self {
        case .table: "a table"
        case .array: "an array"
        case .string: "a string"
        case .int: "an integer"
        case .double(let d): d.isNaN ? "nan" : d.isFinite ? "a number" : "\(d) (out of range)"
        case .bool: "a boolean"
        case .datetime(let d): d.kind.description
        }
    }

    var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    /// An integer or a finite float: TOML's `nan` and `inf` are never valid Soleus values.
    var numberValue: Double? {
        switch self {
        case .int(let i): Double(i)
        case .double(let d): d.isFinite ? d : nil
        default: nil
        }
    }

    var intValue: Int? {
        if case .int(let i) = self { return i }
        return nil
    }

    var boolValue: Bool? {
        if case .bool(let b) = self { return b }
        return nil
    }

    /// Parses a document; errors name `file`, and the line and column for syntax errors.
    static func parse(_ text: String, file: String) throws(ConfigError) -> [String: TOMLNode] {
        try parse(Array(text.utf8), file: file)
    }

    static func parse(_ bytes: [UInt8], file: String) throws(ConfigError) -> [String: TOMLNode] {
        do {
            return try TOMLParser.parse(bytes)
        } catch {
            let at = error.position(in: bytes)
            throw ConfigError(file: file, issues: [ConfigIssue(
                keyPath: "", message: (error.isLimit ? "refused: " : "TOML syntax error: ") + error.message,
                line: at.line, column: at.column)])
        }
    }
}

/// A TOML date, time or date-time, in a canonical text form (ISO 8601 as Python prints it:
/// `Z` becomes `+00:00`, fractions kept to microseconds and omitted when zero).
struct TOMLDateTime: Sendable, Equatable {
    enum Kind: Sendable, Equatable, CustomStringConvertible {
        case offsetDateTime, localDateTime, localDate, localTime

        var description: String {
            switch self {
            case .offsetDateTime: "a date-time"
            case .localDateTime: "a local date-time"
            case .localDate: "a date"
            case .localTime: "a time of day"
            }
        }
    }

    var kind: Kind
    var text: String
}

/// Collects issues while reading a file.
final class IssueCollector {
    var issues: [ConfigIssue] = []
    func add(_ path: String, _ message: String) { issues.append(ConfigIssue(keyPath: path, message: message)) }
}

/// Reads the keys of one TOML table, checking types, and reports keys nobody asked for.
struct TableReader {
    let path: String
    let values: [String: TOMLNode]
    let issues: IssueCollector
    private(set) var used: Set<String> = []

    init(_ values: [String: TOMLNode], path: String, issues: IssueCollector) {
        self.values = values
        self.path = path
        self.issues = issues
    }

    func keyPath(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    func has(_ key: String) -> Bool { values[key] != nil }

    mutating func node(_ key: String) -> TOMLNode? {
        used.insert(key)
        return values[key]
    }

    /// Reads `key` with `extract`; reports a missing required key or a value of another type,
    /// naming what was expected (`what`, e.g. "a number").
    mutating func value<T>(_ key: String, _ what: String, required: Bool, _ extract: (TOMLNode) -> T?) -> T? {
        guard let n = node(key) else {
            if required { issues.add(keyPath(key), "is required (\(what))") }
            return nil
        }
        guard let v = extract(n) else {
            issues.add(keyPath(key), "must be \(what), found \(n.typeName)")
            return nil
        }
        return v
    }

    /// Reads an array whose every item `extract` accepts; reports the first item that is not, or
    /// an array longer than `maxCount` (before looking at any item).
    mutating func array<T>(_ key: String, of what: String, required: Bool, maxCount: Int = .max, _ extract: (TOMLNode) -> T?) -> [T]? {
        guard let items = value(key, "an array of \(what)s", required: required, { n -> [TOMLNode]? in
            if case .array(let a) = n { return a }
            return nil
        }) else { return nil }
        guard items.count <= maxCount else {
            issues.add(keyPath(key), "lists \(items.count) items; at most \(maxCount) are allowed")
            return nil
        }
        var out: [T] = []
        for (i, item) in items.enumerated() {
            guard let v = extract(item) else {
                issues.add("\(keyPath(key))[\(i)]", "must be a \(what), found \(item.typeName)")
                return nil
            }
            out.append(v)
        }
        return out
    }

    mutating func string(_ key: String, required: Bool = false) -> String? { value(key, "a string", required: required, \.stringValue) }
    mutating func number(_ key: String, required: Bool = false) -> Double? { value(key, "a number", required: required, \.numberValue) }
    mutating func integer(_ key: String, required: Bool = false) -> Int? { value(key, "an integer", required: required, \.intValue) }
    mutating func bool(_ key: String, required: Bool = false) -> Bool? { value(key, "true or false", required: required, \.boolValue) }
    mutating func strings(_ key: String, required: Bool = false, maxCount: Int = .max) -> [String]? {
        array(key, of: "string", required: required, maxCount: maxCount, \.stringValue)
    }

    /// A number no larger in magnitude than `limit` (`unit` names it in the message). The sign
    /// and finer ranges are the validator's; this bound keeps absurd magnitudes out of every
    /// later computation.
    mutating func number(_ key: String, upTo limit: Double, _ unit: String, required: Bool = false) -> Double? {
        guard let v = number(key, required: required) else { return nil }
        guard abs(v) <= limit else {
            issues.add(keyPath(key), "\(formatFixed(v, decimals: 3)) is out of range: at most \(formatFixed(limit, decimals: 0)) \(unit)")
            return nil
        }
        return v
    }

    /// A number within `range`.
    mutating func number(_ key: String, in range: ClosedRange<Double>, _ unit: String, required: Bool = false) -> Double? {
        guard let v = number(key, required: required) else { return nil }
        guard range.contains(v) else {
            issues.add(keyPath(key), "must be between \(formatFixed(range.lowerBound, decimals: 3)) and \(formatFixed(range.upperBound, decimals: 3)) \(unit), got \(formatFixed(v, decimals: 3))")
            return nil
        }
        return v
    }

    /// An integer no larger than `limit` (the validator checks the lower bound).
    mutating func integer(_ key: String, upTo limit: Int, required: Bool = false) -> Int? {
        guard let v = integer(key, required: required) else { return nil }
        guard v <= limit else {
            issues.add(keyPath(key), "\(v) is out of range: at most \(limit)")
            return nil
        }
        return v
    }

    /// Numbers each no larger in magnitude than `limit`, at most `maxCount` of them.
    mutating func numbers(_ key: String, required: Bool = false, maxCount: Int, upTo limit: Double, _ unit: String) -> [Double]? {
        guard let items = array(key, of: "number", required: required, maxCount: maxCount, \.numberValue) else { return nil }
        for (i, v) in items.enumerated() where abs(v) > limit {
            issues.add("\(keyPath(key))[\(i)]", "\(formatFixed(v, decimals: 3)) is out of range: at most \(formatFixed(limit, decimals: 0)) \(unit)")
            return nil
        }
        return items
    }

    mutating func table(_ key: String, required: Bool = false) -> TableReader? {
        guard let n = node(key) else {
            if required { issues.add(keyPath(key), "is required (a table, [\(keyPath(key))])") }
            return nil
        }
        guard case .table(let t) = n else {
            issues.add(keyPath(key), "must be a table, found \(n.typeName)")
            return nil
        }
        return TableReader(t, path: keyPath(key), issues: issues)
    }

    /// An array of tables (`[[key]]`), at most `maxCount` of them.
    mutating func tables(_ key: String, maxCount: Int) -> [TableReader] {
        guard let n = node(key) else { return [] }
        guard case .array(let items) = n else {
            issues.add(keyPath(key), "must be an array of tables ([[\(keyPath(key))]]), found \(n.typeName)")
            return []
        }
        guard items.count <= maxCount else {
            issues.add(keyPath(key), "has \(items.count) entries; at most \(maxCount) are allowed")
            return []
        }
        var out: [TableReader] = []
        for (i, item) in items.enumerated() {
            guard case .table(let t) = item else {
                issues.add("\(keyPath(key))[\(i)]", "must be a table, found \(item.typeName)")
                continue
            }
            out.append(TableReader(t, path: "\(keyPath(key))[\(i)]", issues: issues))
        }
        return out
    }

    /// Reports every key that was not read, suggesting the closest known one.
    func rejectUnknownKeys(known extra: [String] = []) {
        let known = Array(used) + extra
        for key in values.keys.sorted() where !used.contains(key) && !extra.contains(key) {
            var msg = "unknown key"
            if let guess = closest(to: key, in: known) { msg += "; did you mean \"\(guess)\"?" }
            else if !known.isEmpty { msg += " (known keys: \(known.sorted().joined(separator: ", ")))" }
            issues.add(keyPath(key), msg)
        }
    }
}

/// The candidate within edit distance 3 of `word`, if any.
func closest(to word: String, in candidates: [String]) -> String? {
    var best: (String, Int)?
    for c in candidates {
        let d = editDistance(word, c)
        if d <= 3, d < (best?.1 ?? .max) { best = (c, d) }
    }
    return best?.0
}

func editDistance(_ a: String, _ b: String) -> Int {
    let a = Array(a), b = Array(b)
    if a.isEmpty { return b.count }
    if b.isEmpty { return a.count }
    var prev = Array(0...b.count)
    var cur = prev
    for i in 1...a.count {
        cur[0] = i
        for j in 1...b.count {
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
        }
        swap(&prev, &cur)
    }
    return prev[b.count]
}
