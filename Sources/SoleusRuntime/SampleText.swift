import SoleusCore

/// A session's samples and events as text: the export formats `soleus export` writes and the
/// daemon's API streams (one definition, so both give the same bytes).
///
/// CSV columns: t_s, one <chamber>_mmHg per chamber, pump, then <chamber>_inlet and
/// <chamber>_exhaust (1 = open) per chamber. JSON Lines: one object per sample, then one per
/// event with "event".
public struct SampleText: Sendable {
    public let names: [String]
    let quoted: [String]

    public init(chambers: [String]) {
        names = chambers
        quoted = chambers.map(jsonQuoted)
    }

    public var csvHeader: String {
        (["t_s"] + names.map { "\($0)_mmHg" } + ["pump"] + names.flatMap { ["\($0)_inlet", "\($0)_exhaust"] }).joined(separator: ",")
    }

    public func csv(_ x: SessionSample) -> String {
        var cols = [formatFixed(x.time, decimals: 3)]
        for c in names.indices { cols.append(formatFixed(x.pressures[c], decimals: 2)) }
        cols.append(x.outputs.pump ? "1" : "0")
        for c in names.indices {
            cols.append(x.outputs.inlets.contains(index: c) ? "1" : "0")
            cols.append(x.outputs.exhausts.contains(index: c) ? "1" : "0")
        }
        return cols.joined(separator: ",")
    }

    public func json(_ x: SessionSample) -> String {
        let p = names.indices.map { "\(quoted[$0]):\(jsonNumber(x.pressures[$0], decimals: 2))" }.joined(separator: ",")
        let inl = names.indices.filter { x.outputs.inlets.contains(index: $0) }.map { quoted[$0] }.joined(separator: ",")
        let exh = names.indices.filter { x.outputs.exhausts.contains(index: $0) }.map { quoted[$0] }.joined(separator: ",")
        return "{\"t_s\":\(jsonNumber(x.time, decimals: 3)),\"mmHg\":{\(p)},\"pump\":\(x.outputs.pump),\"inlets_open\":[\(inl)],\"exhausts_open\":[\(exh)]}"
    }

    /// One event as a JSON object. JSON has no nan or infinity: a damaged stored value is null.
    public static func json(_ e: SessionEvent) -> String {
        var fields = ["\"event\":\(jsonQuoted(e.kind))", "\"t_s\":\(jsonNumber(e.time, decimals: 3))", "\"cycle\":\(e.cycle)"]
        if let c = e.chamber { fields.append("\"chamber\":\(jsonQuoted(c))") }
        if let p = e.pressure { fields.append("\"mmHg\":\(jsonNumber(p, decimals: 2))") }
        fields.append("\"message\":\(jsonQuoted(e.message))")
        return "{" + fields.joined(separator: ",") + "}"
    }
}
