/// `s` as a JSON string literal: quotes and backslashes escaped, control characters (and DEL) as
/// `\uXXXX`, everything else as it is. For exports and tools that write JSON by hand.
public func jsonQuoted(_ s: String) -> String {
    var out = "\""
    for u in s.unicodeScalars {
        switch u {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        case _ where u.value < 0x20 || u.value == 0x7F:
            let hex = String(u.value, radix: 16)
            out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
        default: out.unicodeScalars.append(u)
        }
    }
    return out + "\""
}

/// A JSON number with `decimals` fixed decimals, or `null` for nan and infinities, which JSON
/// cannot carry.
public func jsonNumber(_ v: Double, decimals: Int) -> String { v.isFinite ? formatFixed(v, decimals: decimals) : "null" }
