import SoleusCore

/// A TOML 1.0 reader written for Soleus's safety needs: no byte sequence can crash it, overflow the
/// stack or make it work more than linearly, and it shares no state, so any number of threads may
/// parse at once. It replaced TOMLKit (toml++ 3.4.0), which aborted the process on headers such as
/// `[[[1]]]`, was not thread-safe and never freed its tables (docs/input-limits.md).
///
/// It follows the TOML 1.0 specification, and where the specification leaves room it behaves as
/// Python's `tomllib` does, which the differential test (`scripts/toml-differential.py`) checks.
/// Deliberate differences, all refusals: nesting deeper than ``TOMLLimits/maxDepth``, integers
/// outside 64 bits, documents over ``TOMLLimits/maxBytes``, and two keys of one table that are the
/// same text in different Unicode normal forms.
struct TOMLParser {
    private let bytes: [UInt8]
    private var pos = 0

    private init(_ bytes: [UInt8]) { self.bytes = bytes }

    /// Parses a whole document into its root table.
    static func parse(_ bytes: [UInt8]) throws(TOMLSyntaxError) -> [String: TOMLNode] {
        guard bytes.count <= TOMLLimits.maxBytes else {
            throw TOMLSyntaxError(offset: 0, "the document is \(bytes.count) bytes; the limit is \(TOMLLimits.maxBytes) bytes", isLimit: true)
        }
        if let bad = firstInvalidUTF8(bytes) {
            throw TOMLSyntaxError(offset: bad, "not valid UTF-8 text")
        }
        var p = TOMLParser(bytes)
        // A UTF-8 byte-order mark (Windows editors write one) is not part of the document.
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { p.pos = 3 }
        let root = try p.document()
        return try root.node()
    }

    // MARK: document structure

    private mutating func document() throws(TOMLSyntaxError) -> TableBuilder {
        let root = TableBuilder(origin: .header, depth: 0)
        var current = root
        while true {
            skipWhitespace()
            guard let c = peek() else { break }
            switch c {
            case UInt8(ascii: "#"), UInt8(ascii: "\n"), UInt8(ascii: "\r"): break
            case UInt8(ascii: "["): current = try header(root)
            default: try keyValue(into: current, inline: false)
            }
            try endOfLine()
        }
        return root
    }

    /// After a statement: optional whitespace and comment, then a newline or the end.
    private mutating func endOfLine() throws(TOMLSyntaxError) {
        skipWhitespace()
        if peek() == UInt8(ascii: "#") { try comment() }
        guard let c = peek() else { return }
        if c == UInt8(ascii: "\n") { pos += 1; return }
        if c == UInt8(ascii: "\r") && peek(1) == UInt8(ascii: "\n") { pos += 2; return }
        if c == UInt8(ascii: "\r") { throw error("a carriage return must be followed by a line feed") }
        throw error("expected the end of the line after a statement, found \(describe(c))")
    }

    private mutating func comment() throws(TOMLSyntaxError) {
        pos += 1
        while let c = peek(), c != UInt8(ascii: "\n") {
            if c == UInt8(ascii: "\r") && peek(1) == UInt8(ascii: "\n") { return }
            if isControl(c) && c != UInt8(ascii: "\t") { throw error("control character \(describe(c)) in a comment") }
            pos += 1
        }
    }

    /// `[a.b]` or `[[a.b]]`; returns the table that following key/values go into.
    private mutating func header(_ root: TableBuilder) throws(TOMLSyntaxError) -> TableBuilder {
        let start = pos
        pos += 1
        let isArray = peek() == UInt8(ascii: "[")
        if isArray { pos += 1 }
        skipWhitespace()
        let key = try self.key()
        guard peek() == UInt8(ascii: "]") else { throw error("expected ']' to close the table header") }
        pos += 1
        if isArray {
            guard peek() == UInt8(ascii: "]") else { throw error("expected ']]' to close the array-of-tables header") }
            pos += 1
        }
        let name = dotted(key)
        var table = root
        for part in key.dropLast() {
            switch try table.entry(part, at: start) {
            case nil:
                let child = try TableBuilder(origin: .implicit, depth: table.depth + 1, at: start)
                table.entries[part] = .table(child)
                table = child
            case .table(let t): table = t
            case .tableArray(let a): table = a.items[a.items.count - 1]
            case .value:
                throw TOMLSyntaxError(offset: start, "cannot define table [\(name)]: \"\(part)\" already holds a value")
            }
        }
        let stem = key[key.count - 1]
        if isArray { return try appendArrayTable(stem, to: table, name: name, at: start) }
        switch try table.entry(stem, at: start) {
        case nil:
            let child = try TableBuilder(origin: .header, depth: table.depth + 1, at: start)
            table.entries[stem] = .table(child)
            return child
        case .table(let t) where t.origin == .implicit:
            t.origin = .header
            return t
        case .table(let t):
            let how = t.origin == .dotted ? "with dotted keys" : "by an earlier [\(name)] header"
            throw TOMLSyntaxError(offset: start, "table [\(name)] is already defined \(how)")
        case .tableArray:
            throw TOMLSyntaxError(offset: start, "[\(name)] is an array of tables ([[\(name)]]), not a table")
        case .value:
            throw TOMLSyntaxError(offset: start, "cannot define table [\(name)]: the key already holds a value")
        }
    }

    private func appendArrayTable(_ stem: String, to table: TableBuilder, name: String, at start: Int) throws(TOMLSyntaxError) -> TableBuilder {
        let item = try TableBuilder(origin: .header, depth: table.depth + 2, at: start)
        switch try table.entry(stem, at: start) {
        case nil:
            table.entries[stem] = .tableArray(TableArray(item))
        case .tableArray(let a):
            a.items.append(item)
        case .table:
            throw TOMLSyntaxError(offset: start, "[[\(name)]] cannot extend [\(name)], which is a table")
        case .value:
            throw TOMLSyntaxError(offset: start, "[[\(name)]] cannot extend \(name), which already holds a value (a static array cannot be extended)")
        }
        return item
    }

    /// `key = value`, into `table` (a section's table, or an inline table being built).
    private mutating func keyValue(into table: TableBuilder, inline: Bool) throws(TOMLSyntaxError) {
        let start = pos
        let key = try self.key()
        guard peek() == UInt8(ascii: "=") else {
            if peek() == nil || peek() == UInt8(ascii: "\n") || peek() == UInt8(ascii: "\r") {
                throw error("the key \"\(dotted(key))\" has no value: expected '='")
            }
            throw error("expected '=' after the key \"\(dotted(key))\", found \(describe(peek() ?? 0))")
        }
        pos += 1
        skipWhitespace()
        let value = try self.value(depth: table.depth + key.count)
        var parent = table
        for part in key.dropLast() {
            switch try parent.entry(part, at: start) {
            case nil:
                let child = try TableBuilder(origin: .dotted, depth: parent.depth + 1, at: start)
                parent.entries[part] = .table(child)
                parent = child
            case .table(let t) where t.origin == .implicit || t.origin == .dotted:
                t.origin = .dotted
                parent = t
            case .table:
                throw TOMLSyntaxError(offset: start, "\"\(dotted(key))\": table \"\(part)\" was defined by a [header]; dotted keys cannot add to it")
            case .tableArray:
                throw TOMLSyntaxError(offset: start, "\"\(dotted(key))\": \"\(part)\" is an array of tables; dotted keys cannot add to it")
            case .value:
                throw TOMLSyntaxError(offset: start, "\"\(dotted(key))\": \"\(part)\" already holds a value (an inline table or array cannot be extended)")
            }
        }
        let stem = key[key.count - 1]
        if try parent.entry(stem, at: start) != nil {
            throw TOMLSyntaxError(offset: start, "duplicate key \"\(dotted(key))\"" + (inline ? " in an inline table" : ""))
        }
        parent.entries[stem] = .value(value)
    }

    // MARK: keys

    /// A dotted key; leaves `pos` after the whitespace that follows it.
    private mutating func key() throws(TOMLSyntaxError) -> [String] {
        var parts: [String] = []
        while true {
            skipWhitespace()
            // No count limit here: the tables a long key creates meet the depth limit.
            parts.append(try simpleKey())
            skipWhitespace()
            guard peek() == UInt8(ascii: ".") else { return parts }
            pos += 1
        }
    }

    private mutating func simpleKey() throws(TOMLSyntaxError) -> String {
        guard let c = peek() else { throw error("expected a key, found the end of the document") }
        if c == UInt8(ascii: "\"") { return try basicString() }
        if c == UInt8(ascii: "'") { return try literalString() }
        let start = pos
        while let b = peek(), isBareKeyByte(b) { pos += 1 }
        guard pos > start else { throw error("expected a key, found \(describe(c))") }
        return String(decoding: bytes[start..<pos], as: UTF8.self)
    }

    // MARK: values

    /// A value whose containers (if any) sit at nesting depth `depth`.
    private mutating func value(depth: Int) throws(TOMLSyntaxError) -> TOMLNode {
        guard let c = peek() else { throw error("expected a value, found the end of the document") }
        switch c {
        case UInt8(ascii: "\""):
            return .string(startsWith("\"\"\"") ? try multilineString(literal: false) : try basicString())
        case UInt8(ascii: "'"):
            return .string(startsWith("'''") ? try multilineString(literal: true) : try literalString())
        case UInt8(ascii: "t") where startsWith("true"):
            pos += 4
            return .bool(true)
        case UInt8(ascii: "f") where startsWith("false"):
            pos += 5
            return .bool(false)
        case UInt8(ascii: "["): return try array(depth: depth)
        case UInt8(ascii: "{"): return try inlineTable(depth: depth)
        default:
            if let d = try dateTime() { return .datetime(d) }
            if let t = try localTime() { return .datetime(t) }
            if let n = try number() { return n }
            for (word, v) in [("inf", Double.infinity), ("nan", Double.nan)] {
                for sign in ["", "+", "-"] where startsWith(sign + word) {
                    pos += sign.utf8.count + 3
                    return .double(sign == "-" ? -v : v)
                }
            }
            throw error("expected a value (string, number, boolean, date, array or inline table), found \(describe(c))")
        }
    }

    private mutating func array(depth: Int) throws(TOMLSyntaxError) -> TOMLNode {
        try checkDepth(depth)
        pos += 1
        var items: [TOMLNode] = []
        try skipArraySpace()
        if peek() == UInt8(ascii: "]") { pos += 1; return .array(items) }
        while true {
            items.append(try value(depth: depth + 1))
            try skipArraySpace()
            switch peek() {
            case UInt8(ascii: "]"):
                pos += 1
                return .array(items)
            case UInt8(ascii: ","):
                pos += 1
                try skipArraySpace()
                if peek() == UInt8(ascii: "]") { pos += 1; return .array(items) }
            case nil: throw error("unterminated array: expected ',' or ']'")
            case let c?: throw error("expected ',' or ']' in an array, found \(describe(c))")
            }
        }
    }

    /// Whitespace, newlines and comments between array items.
    private mutating func skipArraySpace() throws(TOMLSyntaxError) {
        while let c = peek() {
            switch c {
            case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\n"): pos += 1
            case UInt8(ascii: "\r") where peek(1) == UInt8(ascii: "\n"): pos += 2
            case UInt8(ascii: "#"): try comment()
            default: return
            }
        }
    }

    private mutating func inlineTable(depth: Int) throws(TOMLSyntaxError) -> TOMLNode {
        try checkDepth(depth)
        pos += 1
        let table = TableBuilder(origin: .dotted, depth: depth)
        skipWhitespace()
        if peek() == UInt8(ascii: "}") { pos += 1; return .table([:]) }
        while true {
            try keyValue(into: table, inline: true)
            skipWhitespace()
            switch peek() {
            case UInt8(ascii: "}"):
                pos += 1
                return .table(try table.entriesAsNodes())
            case UInt8(ascii: ","):
                pos += 1
                skipWhitespace()
                if peek() == UInt8(ascii: "}") { throw error("a trailing comma is not allowed in an inline table") }
            case nil: throw error("unterminated inline table: expected ',' or '}'")
            case let c?: throw error("expected ',' or '}' in an inline table (which must fit on one line), found \(describe(c))")
            }
        }
    }

    private func checkDepth(_ depth: Int) throws(TOMLSyntaxError) {
        if depth > TOMLLimits.maxDepth {
            throw error("tables and arrays nested more than \(TOMLLimits.maxDepth) deep", isLimit: true)
        }
    }

    // MARK: strings

    private mutating func basicString() throws(TOMLSyntaxError) -> String {
        pos += 1
        var out: [UInt8] = []
        while true {
            guard let c = peek() else { throw error("unterminated string: expected a closing '\"'") }
            switch c {
            case UInt8(ascii: "\""):
                pos += 1
                return String(decoding: out, as: UTF8.self)
            case UInt8(ascii: "\\"): try escape(into: &out, multiline: false)
            case UInt8(ascii: "\n"), UInt8(ascii: "\r"):
                throw error("unterminated string: a single-line string cannot contain a newline (use \"\"\" for several lines)")
            default:
                if isControl(c) && c != UInt8(ascii: "\t") { throw error("control character \(describe(c)) in a string: escape it") }
                out.append(c)
                pos += 1
            }
        }
    }

    private mutating func literalString() throws(TOMLSyntaxError) -> String {
        pos += 1
        let start = pos
        while true {
            guard let c = peek() else { throw error("unterminated literal string: expected a closing \"'\"") }
            if c == UInt8(ascii: "'") {
                pos += 1
                return String(decoding: bytes[start..<(pos - 1)], as: UTF8.self)
            }
            if c == UInt8(ascii: "\n") || c == UInt8(ascii: "\r") {
                throw error("unterminated literal string: a single-line string cannot contain a newline (use ''' for several lines)")
            }
            if isControl(c) && c != UInt8(ascii: "\t") { throw error("control character \(describe(c)) in a literal string") }
            pos += 1
        }
    }

    /// `"""…"""` or `'''…'''`. A newline right after the opening delimiter is dropped; CRLF reads
    /// as LF; one or two quotes may stand right before the closing delimiter.
    private mutating func multilineString(literal: Bool) throws(TOMLSyntaxError) -> String {
        let quote = literal ? UInt8(ascii: "'") : UInt8(ascii: "\"")
        pos += 3
        if peek() == UInt8(ascii: "\n") { pos += 1 } else if peek() == UInt8(ascii: "\r") && peek(1) == UInt8(ascii: "\n") { pos += 2 }
        var out: [UInt8] = []
        while true {
            guard let c = peek() else { throw error("unterminated multi-line string: expected a closing \(literal ? "'''" : "\"\"\"")") }
            if c == quote && peek(1) == quote && peek(2) == quote {
                pos += 3
                for _ in 0..<2 where peek() == quote {
                    out.append(quote)
                    pos += 1
                }
                return String(decoding: out, as: UTF8.self)
            }
            if c == UInt8(ascii: "\\") && !literal {
                try escape(into: &out, multiline: true)
                continue
            }
            if c == UInt8(ascii: "\r") {
                guard peek(1) == UInt8(ascii: "\n") else { throw error("a carriage return must be followed by a line feed") }
                pos += 1
                continue
            }
            if isControl(c) && c != UInt8(ascii: "\t") && c != UInt8(ascii: "\n") {
                throw error("control character \(describe(c)) in a string: escape it")
            }
            out.append(c)
            pos += 1
        }
    }

    private mutating func escape(into out: inout [UInt8], multiline: Bool) throws(TOMLSyntaxError) {
        let start = pos
        pos += 1
        if multiline, let w = peek(), w == UInt8(ascii: " ") || w == UInt8(ascii: "\t") || w == UInt8(ascii: "\n") || w == UInt8(ascii: "\r") {
            try lineEndingBackslash(start)
            return
        }
        guard let c = peek() else { throw error("unterminated string after '\\'") }
        pos += 1
        switch c {
        case UInt8(ascii: "b"): out.append(0x08)
        case UInt8(ascii: "t"): out.append(0x09)
        case UInt8(ascii: "n"): out.append(0x0A)
        case UInt8(ascii: "f"): out.append(0x0C)
        case UInt8(ascii: "r"): out.append(0x0D)
        case UInt8(ascii: "\""), UInt8(ascii: "\\"): out.append(c)
        case UInt8(ascii: "u"), UInt8(ascii: "U"):
            let name = c == UInt8(ascii: "u") ? "u" : "U"
            let count = c == UInt8(ascii: "u") ? 4 : 8
            var v: UInt32 = 0
            for _ in 0..<count {
                guard let h = peek(), let d = hexValue(h) else {
                    throw TOMLSyntaxError(offset: start, "\\\(name) needs \(count) hexadecimal digits")
                }
                v = v << 4 | UInt32(d)
                pos += 1
            }
            guard let scalar = Unicode.Scalar(v) else {
                throw TOMLSyntaxError(offset: start, "escape \\\(name)\(String(v, radix: 16, uppercase: true)) is not a Unicode scalar value")
            }
            out.append(contentsOf: String(Character(scalar)).utf8)
        default:
            throw TOMLSyntaxError(offset: start, "invalid escape \\\(describeRaw(c)) (TOML has \\b \\t \\n \\f \\r \\\" \\\\ \\uXXXX \\UXXXXXXXX)")
        }
    }

    /// `\` at the end of a line in a multi-line basic string: drops the whitespace and newlines up
    /// to the next text. Only whitespace may stand between the backslash and the newline.
    private mutating func lineEndingBackslash(_ start: Int) throws(TOMLSyntaxError) {
        skipWhitespace()
        if peek() == UInt8(ascii: "\r") && peek(1) == UInt8(ascii: "\n") { pos += 1 }
        guard peek() == UInt8(ascii: "\n") || peek() == nil else {
            throw TOMLSyntaxError(offset: start, "a '\\' followed by whitespace must end the line")
        }
        while let w = peek() {
            if w == UInt8(ascii: " ") || w == UInt8(ascii: "\t") || w == UInt8(ascii: "\n") { pos += 1 }
            else if w == UInt8(ascii: "\r") && peek(1) == UInt8(ascii: "\n") { pos += 2 }
            else { break }
        }
    }

    // MARK: numbers

    /// An integer or float, matched exactly as TOML's grammar (and tomllib's pattern) allows.
    private mutating func number() throws(TOMLSyntaxError) -> TOMLNode? {
        let start = pos
        if peek() == UInt8(ascii: "0"), let radix = radixPrefix(peek(1)) {
            var i = pos + 2
            if let end = digitRun(from: i, radix: radix) {
                i = end
                pos = i
                return try radixInteger(from: start + 2, to: i, radix: radix)
            }
        }
        var i = pos
        if peek() == UInt8(ascii: "+") || peek() == UInt8(ascii: "-") { i += 1 }
        guard i < bytes.count, isDigit(bytes[i]) else { return nil }
        if bytes[i] == UInt8(ascii: "0") { i += 1 } else if let end = digitRun(from: i, radix: 10) { i = end }
        var isFloat = false
        if i + 1 < bytes.count, bytes[i] == UInt8(ascii: "."), let end = digitRun(from: i + 1, radix: 10) {
            i = end
            isFloat = true
        }
        if i < bytes.count, bytes[i] == UInt8(ascii: "e") || bytes[i] == UInt8(ascii: "E") {
            var j = i + 1
            if j < bytes.count, bytes[j] == UInt8(ascii: "+") || bytes[j] == UInt8(ascii: "-") { j += 1 }
            if let end = digitRun(from: j, radix: 10) {
                i = end
                isFloat = true
            }
        }
        pos = i
        let text = String(decoding: bytes[start..<i].filter { $0 != UInt8(ascii: "_") }, as: UTF8.self)
        if isFloat {
            guard let d = Double(text) else { throw TOMLSyntaxError(offset: start, "invalid float \(text)") }
            return .double(d)
        }
        guard let n = Int(text) else {
            throw TOMLSyntaxError(offset: start, "integer \(text) is outside the 64-bit range", isLimit: true)
        }
        return .int(n)
    }

    /// End of `digit (_? digit)*` starting at `i`, or nil when no digit is there.
    private func digitRun(from i: Int, radix: Int) -> Int? {
        guard i < bytes.count, digitValue(bytes[i], radix: radix) != nil else { return nil }
        var j = i + 1
        while j < bytes.count {
            if digitValue(bytes[j], radix: radix) != nil { j += 1 }
            else if bytes[j] == UInt8(ascii: "_"), j + 1 < bytes.count, digitValue(bytes[j + 1], radix: radix) != nil { j += 2 }
            else { break }
        }
        return j
    }

    private func radixInteger(from: Int, to: Int, radix: Int) throws(TOMLSyntaxError) -> TOMLNode {
        var v: UInt64 = 0
        for b in bytes[from..<to] {
            guard let d = digitValue(b, radix: radix) else { continue }
            let (m, o1) = v.multipliedReportingOverflow(by: UInt64(radix))
            let (s, o2) = m.addingReportingOverflow(UInt64(d))
            guard !o1, !o2, s <= UInt64(Int.max) else {
                throw TOMLSyntaxError(offset: from - 2, "integer \(String(decoding: bytes[(from - 2)..<to], as: UTF8.self)) is outside the 64-bit range", isLimit: true)
            }
            v = s
        }
        return .int(Int(v))
    }

    // MARK: dates and times

    /// `YYYY-MM-DD`, optionally followed by a time and an offset.
    private mutating func dateTime() throws(TOMLSyntaxError) -> TOMLDateTime? {
        let start = pos
        guard let year = digits(at: pos, 4), byte(at: pos + 4) == UInt8(ascii: "-"),
              let month = digits(at: pos + 5, 2), byte(at: pos + 7) == UInt8(ascii: "-"),
              let day = digits(at: pos + 8, 2), (1...12).contains(month), (1...31).contains(day)
        else { return nil }
        pos += 10
        guard year >= 1, day <= daysIn(month: month, year: year) else {
            throw TOMLSyntaxError(offset: start, "\(String(decoding: bytes[start..<pos], as: UTF8.self)) is not a calendar date")
        }
        let date = pad(year, 4) + "-" + pad(month, 2) + "-" + pad(day, 2)
        guard let sep = peek(), sep == UInt8(ascii: "T") || sep == UInt8(ascii: "t") || sep == UInt8(ascii: " "),
              let time = timeOfDay(at: pos + 1)
        else { return TOMLDateTime(kind: .localDate, text: date) }
        pos = time.end
        let local = date + "T" + time.text
        if let z = peek(), z == UInt8(ascii: "Z") || z == UInt8(ascii: "z") {
            pos += 1
            return TOMLDateTime(kind: .offsetDateTime, text: local + "+00:00")
        }
        if let s = peek(), s == UInt8(ascii: "+") || s == UInt8(ascii: "-"),
           let h = digits(at: pos + 1, 2), byte(at: pos + 3) == UInt8(ascii: ":"), let m = digits(at: pos + 4, 2),
           h <= 23, m <= 59 {
            pos += 6
            let negative = s == UInt8(ascii: "-") && (h != 0 || m != 0)
            return TOMLDateTime(kind: .offsetDateTime, text: local + (negative ? "-" : "+") + pad(h, 2) + ":" + pad(m, 2))
        }
        return TOMLDateTime(kind: .localDateTime, text: local)
    }

    private mutating func localTime() throws(TOMLSyntaxError) -> TOMLDateTime? {
        guard let time = timeOfDay(at: pos) else { return nil }
        pos = time.end
        return TOMLDateTime(kind: .localTime, text: time.text)
    }

    /// `HH:MM:SS[.fraction]` at `i` (fraction kept to microseconds, as tomllib does).
    private func timeOfDay(at i: Int) -> (text: String, end: Int)? {
        guard let h = digits(at: i, 2), byte(at: i + 2) == UInt8(ascii: ":"), let m = digits(at: i + 3, 2),
              byte(at: i + 5) == UInt8(ascii: ":"), let s = digits(at: i + 6, 2), h <= 23, m <= 59, s <= 59
        else { return nil }
        var end = i + 8
        var text = pad(h, 2) + ":" + pad(m, 2) + ":" + pad(s, 2)
        if byte(at: end) == UInt8(ascii: "."), let b = byte(at: end + 1), isDigit(b) {
            var j = end + 1
            var micros = 0, count = 0
            while let d = byte(at: j), isDigit(d) {
                if count < 6 { micros = micros * 10 + Int(d - UInt8(ascii: "0")) }
                count += 1
                j += 1
            }
            for _ in count..<max(count, 6) { micros *= 10 }
            if micros != 0 { text += "." + pad(micros, 6) }
            end = j
        }
        return (text, end)
    }

    private func digits(at i: Int, _ n: Int) -> Int? {
        guard i + n <= bytes.count else { return nil }
        var v = 0
        for b in bytes[i..<(i + n)] {
            guard isDigit(b) else { return nil }
            v = v * 10 + Int(b - UInt8(ascii: "0"))
        }
        return v
    }

    // MARK: bytes

    private func peek(_ ahead: Int = 0) -> UInt8? { byte(at: pos + ahead) }
    private func byte(at i: Int) -> UInt8? { i < bytes.count ? bytes[i] : nil }

    private func startsWith(_ s: String) -> Bool {
        var i = pos
        for b in s.utf8 {
            guard i < bytes.count, bytes[i] == b else { return false }
            i += 1
        }
        return true
    }

    private mutating func skipWhitespace() {
        while let c = peek(), c == UInt8(ascii: " ") || c == UInt8(ascii: "\t") { pos += 1 }
    }

    private func error(_ message: String, isLimit: Bool = false) -> TOMLSyntaxError {
        TOMLSyntaxError(offset: pos, message, isLimit: isLimit)
    }

    private func describe(_ c: UInt8) -> String {
        switch c {
        case UInt8(ascii: "\n"): "the end of the line"
        case 0x20...0x7E: "'\(Character(Unicode.Scalar(c)))'"
        case 0x80...: "'\(String(decoding: bytes[pos..<min(bytes.count, pos + utf8Length(c))], as: UTF8.self))'"
        default: "byte 0x" + String(c, radix: 16, uppercase: true)
        }
    }

    private func describeRaw(_ c: UInt8) -> String {
        (0x21...0x7E).contains(c) ? String(Character(Unicode.Scalar(c))) : "(byte 0x\(String(c, radix: 16, uppercase: true)))"
    }
}

/// Resource limits of the TOML reader (listed with their reasons in docs/input-limits.md).
public enum TOMLLimits {
    /// Largest document read, in bytes: the same bound as for files, so it also holds for text
    /// that does not come from a file (an upload).
    public static let maxBytes = InputLimits.maxFileBytes
    /// Deepest nesting of tables and arrays (the root table is depth 0). Soleus's files nest 4
    /// deep; the bound keeps every recursive walk of a document far from the stack's limit.
    public static let maxDepth = 32
}

/// A TOML syntax error at a byte offset, or a document refused by a limit.
struct TOMLSyntaxError: Error {
    var offset: Int
    var message: String
    /// Refused by one of ``TOMLLimits`` (or a 64-bit integer bound), not by the TOML grammar.
    var isLimit: Bool

    init(offset: Int, _ message: String, isLimit: Bool = false) {
        self.offset = offset
        self.message = message
        self.isLimit = isLimit
    }

    /// 1-based line and column (in Unicode scalars) of the offset in `bytes`.
    func position(in bytes: [UInt8]) -> (line: Int, column: Int) {
        var line = 1, column = 1
        for b in bytes[0..<min(offset, bytes.count)] {
            if b == UInt8(ascii: "\n") { line += 1; column = 1 }
            else if b & 0xC0 != 0x80 { column += 1 }
        }
        return (line, column)
    }
}

// MARK: - building tables

/// A table while the document is read. A class, so that headers and dotted keys can reach a table
/// deep in the tree and change it in place (a tree of values would copy on every change).
private final class TableBuilder {
    enum Origin {
        /// Created as the parent of a header (`a` of `[a.b]`): may still be defined once.
        case implicit
        /// Defined by a header, or the root.
        case header
        /// Created by a dotted key (or inside an inline table).
        case dotted
    }

    var origin: Origin
    let depth: Int
    var entries: [String: Entry] = [:]

    init(origin: Origin, depth: Int) {
        self.origin = origin
        self.depth = depth
    }

    init(origin: Origin, depth: Int, at offset: Int) throws(TOMLSyntaxError) {
        guard depth <= TOMLLimits.maxDepth else {
            throw TOMLSyntaxError(offset: offset, "tables and arrays nested more than \(TOMLLimits.maxDepth) deep", isLimit: true)
        }
        self.origin = origin
        self.depth = depth
    }

    func node() throws(TOMLSyntaxError) -> [String: TOMLNode] { try entriesAsNodes() }

    /// The entry under `key`. Swift compares strings by canonical equivalence, TOML by code
    /// points: two keys that are the same text in different Unicode forms are distinct in TOML
    /// but one key here, so such a document is refused rather than silently merged.
    func entry(_ key: String, at offset: Int) throws(TOMLSyntaxError) -> Entry? {
        guard let i = entries.index(forKey: key) else { return nil }
        let existing = entries[i].key
        guard existing.unicodeScalars.elementsEqual(key.unicodeScalars) else {
            throw TOMLSyntaxError(offset: offset, "keys \"\(existing)\" and \"\(key)\" are the same text in different Unicode forms", isLimit: true)
        }
        return entries[i].value
    }

    /// The table as plain values (recursion bounded by ``TOMLLimits/maxDepth``).
    func entriesAsNodes() throws(TOMLSyntaxError) -> [String: TOMLNode] {
        var out: [String: TOMLNode] = [:]
        out.reserveCapacity(entries.count)
        for (key, entry) in entries {
            let node: TOMLNode
            switch entry {
            case .value(let v): node = v
            case .table(let t): node = .table(try t.entriesAsNodes())
            case .tableArray(let a):
                var items: [TOMLNode] = []
                items.reserveCapacity(a.items.count)
                for t in a.items { items.append(.table(try t.entriesAsNodes())) }
                node = .array(items)
            }
            out[key] = node
        }
        return out
    }
}

private enum Entry {
    case value(TOMLNode)
    case table(TableBuilder)
    case tableArray(TableArray)
}

private final class TableArray {
    var items: [TableBuilder]
    init(_ first: TableBuilder) { items = [first] }
}

// MARK: - character classes

private func isDigit(_ b: UInt8) -> Bool { b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9") }

private func isControl(_ b: UInt8) -> Bool { b < 0x20 || b == 0x7F }

private func isBareKeyByte(_ b: UInt8) -> Bool {
    switch b {
    case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
         UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"), UInt8(ascii: "-"): true
    default: false
    }
}

private func hexValue(_ b: UInt8) -> Int? { digitValue(b, radix: 16) }

private func digitValue(_ b: UInt8, radix: Int) -> Int? {
    let v: Int
    switch b {
    case UInt8(ascii: "0")...UInt8(ascii: "9"): v = Int(b - UInt8(ascii: "0"))
    case UInt8(ascii: "a")...UInt8(ascii: "f"): v = Int(b - UInt8(ascii: "a")) + 10
    case UInt8(ascii: "A")...UInt8(ascii: "F"): v = Int(b - UInt8(ascii: "A")) + 10
    default: return nil
    }
    return v < radix ? v : nil
}

private func radixPrefix(_ b: UInt8?) -> Int? {
    switch b {
    case UInt8(ascii: "x"): 16
    case UInt8(ascii: "o"): 8
    case UInt8(ascii: "b"): 2
    default: nil
    }
}

private func daysIn(month: Int, year: Int) -> Int {
    switch month {
    case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
    case 4, 6, 9, 11: 30
    default: 31
    }
}

private func pad(_ v: Int, _ width: Int) -> String {
    var s = String(v)
    while s.utf8.count < width { s = "0" + s }
    return s
}

private func dotted(_ key: [String]) -> String { key.joined(separator: ".") }

private func utf8Length(_ lead: UInt8) -> Int {
    switch lead {
    case 0xF0...: 4
    case 0xE0...: 3
    case 0xC0...: 2
    default: 1
    }
}

/// Offset of the first byte that is not part of well-formed UTF-8, or nil.
func firstInvalidUTF8(_ bytes: [UInt8]) -> Int? {
    var i = 0
    while i < bytes.count {
        let b = bytes[i]
        if b < 0x80 { i += 1; continue }
        let (n, low, high): (Int, UInt8, UInt8)
        switch b {
        case 0xC2...0xDF: (n, low, high) = (2, 0x80, 0xBF)
        case 0xE0: (n, low, high) = (3, 0xA0, 0xBF)
        case 0xE1...0xEC, 0xEE...0xEF: (n, low, high) = (3, 0x80, 0xBF)
        case 0xED: (n, low, high) = (3, 0x80, 0x9F)
        case 0xF0: (n, low, high) = (4, 0x90, 0xBF)
        case 0xF1...0xF3: (n, low, high) = (4, 0x80, 0xBF)
        case 0xF4: (n, low, high) = (4, 0x80, 0x8F)
        default: return i
        }
        guard i + n <= bytes.count, (low...high).contains(bytes[i + 1]) else { return i }
        for k in 2..<n where bytes[i + k] & 0xC0 != 0x80 { return i }
        i += n
    }
    return nil
}
