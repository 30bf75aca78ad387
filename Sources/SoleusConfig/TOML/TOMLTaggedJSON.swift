import SoleusCore

/// A TOML document as the "tagged JSON" of the TOML compliance suite (toml-test): tables become
/// objects, arrays arrays, and every scalar `{"type": …, "value": "…"}`. Used by the
/// `soleus-toml-decode` tool, which the differential test against Python's `tomllib` and the
/// compliance suite drive.
public enum TOMLTaggedJSON {
    /// Why a document was not decoded.
    public struct Failure: Error, Sendable {
        /// The message, with line and column.
        public var message: String
        /// True when a resource or range limit refused the document (not the TOML grammar).
        public var isLimit: Bool
    }

    /// Decodes `bytes` as TOML and encodes the result as tagged JSON.
    public static func decode(_ bytes: [UInt8]) throws(Failure) -> String {
        let root: [String: TOMLNode]
        do { root = try TOMLParser.parse(bytes) } catch {
            let at = error.position(in: bytes)
            throw Failure(message: "line \(at.line), column \(at.column): \(error.message)", isLimit: error.isLimit)
        }
        var out = ""
        encode(.table(root), into: &out)
        return out
    }

    static func encode(_ node: TOMLNode, into out: inout String) {
        switch node {
        case .table(let t):
            out += "{"
            for (i, key) in t.keys.sorted().enumerated() {
                if i > 0 { out += "," }
                out += jsonQuoted(key) + ":"
                if let v = t[key] { encode(v, into: &out) }
            }
            out += "}"
        case .array(let a):
            out += "["
            for (i, v) in a.enumerated() {
                if i > 0 { out += "," }
                encode(v, into: &out)
            }
            out += "]"
        case .string(let s): out += scalar("string", s)
        case .int(let i): out += scalar("integer", String(i))
        case .double(let d): out += scalar("float", d.isNaN ? "nan" : "\(d)")
        case .bool(let b): out += scalar("bool", b ? "true" : "false")
        case .datetime(let d):
            let type = switch d.kind {
            case .offsetDateTime: "datetime"
            case .localDateTime: "datetime-local"
            case .localDate: "date-local"
            case .localTime: "time-local"
            }
            out += scalar(type, d.text)
        }
    }

    static func scalar(_ type: String, _ value: String) -> String {
        "{\"type\":\"\(type)\",\"value\":\(jsonQuoted(value))}"
    }
}
