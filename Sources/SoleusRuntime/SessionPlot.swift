import Foundation
import SoleusCore

/// A session drawn as an SVG: pressure per chamber over time with its targets dashed, each
/// chamber's inflate and hold shaded in a lane below (the wave reads as a staircase, distal
/// first), alarms as red lines; the first cycles again in detail; then, per cycle, each chamber's
/// peak against its target and its time to target.
///
/// Elements carry `class` and `data-*` attributes (chamber, phase, times, targets) so a program
/// can check a plot as well as a person can.
public struct SessionPlot: Sendable {
    public var title: String
    public var chambers: [String]
    public var samples: [SessionSample]
    public var events: [SessionEvent]
    public var cycles: [(chamber: String, summary: CycleSummary)]
    /// What each compression did for the limb (simulated limbs; empty otherwise).
    public var compressions: [NumberedCompression]

    public init(title: String, chambers: [String], samples: [SessionSample], events: [SessionEvent], cycles: [(chamber: String, summary: CycleSummary)],
                compressions: [NumberedCompression] = []) {
        self.title = title
        self.chambers = chambers
        self.samples = samples
        self.events = events
        self.cycles = cycles
        self.compressions = compressions
    }

    static let width = 1200.0
    static let left = 70.0
    static let right = 150.0
    /// Distal to proximal: blue → green → orange → red, distinguishable in print and by most colour-blind readers.
    static let palette = ["#1f77b4", "#2ca02c", "#ff7f0e", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f"]

    func colour(_ c: Int) -> String { Self.palette[c % Self.palette.count] }

    /// One chamber's pressurised stretch: inflating until `reached` (NaN: never), then holding.
    struct Phase {
        var chamber: Int
        var start: Double
        var reached: Double
        var end: Double
    }

    /// A prescribed pressure over a stretch of time.
    struct Target {
        var chamber: Int
        var start: Double
        var end: Double
        var mmHg: Double
    }

    var duration: Double { max(samples.last?.time ?? 0, events.compactMap { $0.time.isFinite ? $0.time : nil }.max() ?? 0, 1) }

    /// Inflate → reached → release per chamber, and the targets in force, from the events.
    func phasesAndTargets() -> ([Phase], [Target]) {
        var phases: [Phase] = [], targets: [Target] = []
        var open: [Int: Phase] = [:], target: [Int: Target] = [:]
        func closeTarget(_ c: Int, at t: Double) {
            if var x = target.removeValue(forKey: c) {
                x.end = t
                targets.append(x)
            }
        }
        for e in events where e.time.isFinite {
            guard let name = e.chamber, let c = chambers.firstIndex(of: name) else {
                if e.kind == "cycle-end" || e.kind == "paused" {
                    for c in Array(open.keys) {
                        if var p = open.removeValue(forKey: c) { p.end = e.time; phases.append(p) }
                        closeTarget(c, at: e.time)
                    }
                }
                continue
            }
            switch e.kind {
            case "inflate":
                open[c] = Phase(chamber: c, start: e.time, reached: .nan, end: .nan)
                closeTarget(c, at: e.time)
                target[c] = Target(chamber: c, start: e.time, end: .nan, mmHg: e.pressure ?? 0)
            case "reached": open[c]?.reached = e.time
            case "hold", "boost":
                closeTarget(c, at: e.time)
                target[c] = Target(chamber: c, start: e.time, end: .nan, mmHg: e.pressure ?? 0)
            case "release":
                if var p = open.removeValue(forKey: c) { p.end = e.time; phases.append(p) }
                closeTarget(c, at: e.time)
            default: break
            }
        }
        let end = duration
        for (_, var p) in open { p.end = end; phases.append(p) }
        for c in Array(target.keys) { closeTarget(c, at: end) }
        return (phases.sorted { $0.start < $1.start }, targets)
    }

    /// Alarms raised: time and condition.
    var alarms: [(time: Double, condition: String)] {
        events.filter { $0.kind == "alarm" && $0.time.isFinite }.map { e in
            let afterPriority = e.message.split(separator: ":", maxSplits: 1).dropFirst().first.map(String.init) ?? e.message
            let condition = afterPriority.split(separator: "—").first.map { $0.trimmingCharacters(in: .whitespaces) } ?? "alarm"
            return (e.time, condition)
        }
    }

    public func svg() -> String {
        let (phases, targets) = phasesAndTargets()
        let detailEnd = detailWindow()
        var out = SVGText()
        var y = 58.0
        y = pressurePanel(&out, top: y, from: 0, to: duration, phases: phases, targets: targets, label: "Whole session") + 30
        if detailEnd < duration * 0.8 {
            y = pressurePanel(&out, top: y, from: 0, to: detailEnd, phases: phases, targets: targets, label: "First cycles in detail") + 30
        }
        y = cyclePanel(&out, top: y, value: { $0.peak }, target: { $0.target }, label: "Peak per cycle (mmHg); target dashed", unit: "mmHg") + 30
        y = cyclePanel(&out, top: y, value: { $0.timeToTarget }, target: nil, label: "Time to target per cycle (s)", unit: "s") + 20
        if !compressions.isEmpty {
            y = compressionPanel(&out, top: y + 10, value: \.expelledML, label: "Venous blood expelled per compression (mL, simulated limb)", unit: "mL") + 30
            y = compressionPanel(&out, top: y, value: \.peakVelocityCMPerS, label: "Peak venous velocity proxy per compression (cm/s, simulated limb)", unit: "cm/s") + 20
        }
        var doc = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(Self.width))\" height=\"\(Int(y))\" viewBox=\"0 0 \(Int(Self.width)) \(Int(y))\" font-family=\"DejaVu Sans, Arial, sans-serif\" font-size=\"12\">\n"
        doc += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
        doc += "<text x=\"\(Self.left)\" y=\"24\" font-size=\"16\" font-weight=\"bold\">\(escape(title))</text>\n"
        return doc + out.text + "</svg>\n"
    }

    /// The first two cycles (or 120 s), for the detailed view.
    func detailWindow() -> Double {
        let starts = events.filter { $0.kind == "cycle-start" && $0.time.isFinite }.map(\.time)
        return starts.count > 2 ? starts[2] : min(duration, 120)
    }

    // MARK: panels

    /// Pressure against time with targets, phase lanes and alarms; returns the bottom.
    func pressurePanel(_ out: inout SVGText, top: Double, from t0: Double, to t1: Double, phases: [Phase], targets: [Target], label: String) -> Double {
        let h = 260.0, plotW = Self.width - Self.left - Self.right
        let ymax = pressureScale(targets)
        let span = max(t1 - t0, 1e-9)
        func x(_ t: Double) -> Double { Self.left + (min(max(t, t0), t1) - t0) / span * plotW }
        func y(_ p: Double) -> Double { top + h - min(max(p, 0), ymax) / ymax * h }
        out.add("<g class=\"panel\" data-from=\"\(f(t0))\" data-to=\"\(f(t1))\" data-ymax=\"\(f(ymax))\">")
        out.add("<text x=\"\(Self.left)\" y=\"\(f(top - 6))\" font-weight=\"bold\">\(escape(label))</text>")
        axes(&out, top: top, height: h, t0: t0, t1: t1, ymax: ymax, x: x, y: y)
        // Cycle compression windows, lightly shaded.
        for p in phases where p.end > t0 && p.start < t1 {
            out.add("<rect class=\"window\" x=\"\(f(x(p.start)))\" y=\"\(f(top))\" width=\"\(f(max(0.5, x(p.end) - x(p.start))))\" height=\"\(f(h))\" fill=\"#000\" fill-opacity=\"0.025\"/>")
        }
        for tg in targets where tg.end > t0 && tg.start < t1 && tg.mmHg > 0 {
            out.add("<line class=\"target\" data-chamber=\"\(escape(chambers[tg.chamber]))\" data-mmhg=\"\(f(tg.mmHg))\" data-t0=\"\(f(tg.start))\" data-t1=\"\(f(tg.end))\" x1=\"\(f(x(tg.start)))\" y1=\"\(f(y(tg.mmHg)))\" x2=\"\(f(x(tg.end)))\" y2=\"\(f(y(tg.mmHg)))\" stroke=\"\(colour(tg.chamber))\" stroke-width=\"1.5\" stroke-dasharray=\"5,3\"/>")
        }
        for c in chambers.indices {
            out.add("<polyline class=\"pressure\" data-chamber=\"\(escape(chambers[c]))\" fill=\"none\" stroke=\"\(colour(c))\" stroke-width=\"1.6\" points=\"\(points(c, t0: t0, t1: t1, columns: Int(plotW), x: x, y: y))\"/>")
        }
        var lastLabel = -Double.infinity
        for a in alarms where a.time >= t0 && a.time <= t1 {
            out.add("<line class=\"alarm\" data-t=\"\(f(a.time))\" data-condition=\"\(escape(a.condition))\" x1=\"\(f(x(a.time)))\" y1=\"\(f(top))\" x2=\"\(f(x(a.time)))\" y2=\"\(f(top + h))\" stroke=\"#c00\" stroke-width=\"1.5\"/>")
            // Labels only where they do not run into the previous one (the lines all stay).
            if x(a.time) - lastLabel > 90 {
                out.add("<text x=\"\(f(x(a.time) + 3))\" y=\"\(f(top + 12))\" fill=\"#c00\" font-size=\"11\">⚠ \(escape(a.condition))</text>")
                lastLabel = x(a.time)
            }
        }
        legend(&out, top: top)
        // Phase lanes: one per chamber, distal at the top.
        var laneTop = top + h + 46
        out.add("<text x=\"\(Self.left)\" y=\"\(f(laneTop - 6))\" font-size=\"11\" fill=\"#444\">phases: light = inflating, dark = holding</text>")
        for c in chambers.indices {
            out.add("<text x=\"\(f(Self.left - 6))\" y=\"\(f(laneTop + 10))\" text-anchor=\"end\" font-size=\"11\">\(escape(chambers[c]))</text>")
            out.add("<rect x=\"\(Self.left)\" y=\"\(f(laneTop))\" width=\"\(f(plotW))\" height=\"12\" fill=\"#f4f4f4\"/>")
            for p in phases where p.chamber == c && p.end > t0 && p.start < t1 {
                let reached = p.reached.isNaN ? p.end : p.reached
                out.add("<rect class=\"phase\" data-chamber=\"\(escape(chambers[c]))\" data-phase=\"inflating\" data-t0=\"\(f(p.start))\" data-t1=\"\(f(reached))\" x=\"\(f(x(p.start)))\" y=\"\(f(laneTop))\" width=\"\(f(max(0.5, x(reached) - x(p.start))))\" height=\"12\" fill=\"\(colour(c))\" fill-opacity=\"0.35\"/>")
                if reached < p.end {
                    out.add("<rect class=\"phase\" data-chamber=\"\(escape(chambers[c]))\" data-phase=\"holding\" data-t0=\"\(f(reached))\" data-t1=\"\(f(p.end))\" x=\"\(f(x(reached)))\" y=\"\(f(laneTop))\" width=\"\(f(max(0.5, x(p.end) - x(reached))))\" height=\"12\" fill=\"\(colour(c))\" fill-opacity=\"0.85\"/>")
                }
            }
            laneTop += 16
        }
        out.add("</g>")
        return laneTop
    }

    /// The pressure axis: the highest reading or target, rounded up to 10 mmHg, at least 50.
    func pressureScale(_ targets: [Target]) -> Double {
        var top = targets.map(\.mmHg).max() ?? 0
        for s in samples {
            for c in chambers.indices where s.pressures[c].isFinite { top = max(top, s.pressures[c]) }
        }
        return max(50, (top / 10).rounded(.up) * 10 + 10)
    }

    /// A chamber's pressure as points, at most two per pixel column (its lowest and highest
    /// reading there), so peaks survive however long the session.
    func points(_ c: Int, t0: Double, t1: Double, columns: Int, x: (Double) -> Double, y: (Double) -> Double) -> String {
        let inRange = samples.filter { $0.time >= t0 && $0.time <= t1 && $0.pressures[c].isFinite }
        guard !inRange.isEmpty else { return "" }
        var out: [String] = []
        if inRange.count <= columns * 2 {
            out = inRange.map { "\(f(x($0.time))),\(f(y($0.pressures[c])))" }
        } else {
            let span = max(t1 - t0, 1e-9)
            var i = 0
            for col in 0..<columns {
                let end = t0 + span * Double(col + 1) / Double(columns)
                var lo: SessionSample?, hi: SessionSample?
                while i < inRange.count && inRange[i].time <= end {
                    let s = inRange[i]
                    if lo.map({ s.pressures[c] < $0.pressures[c] }) ?? true { lo = s }
                    if hi.map({ s.pressures[c] > $0.pressures[c] }) ?? true { hi = s }
                    i += 1
                }
                guard let lo, let hi else { continue }
                for s in lo.time <= hi.time ? [lo, hi] : [hi, lo] { out.append("\(f(x(s.time))),\(f(y(s.pressures[c])))") }
            }
        }
        return out.joined(separator: " ")
    }

    /// A per-cycle view: each chamber's `value` over the main cycles, its target dashed.
    func cyclePanel(_ out: inout SVGText, top: Double, value: (CycleSummary) -> Double, target: ((CycleSummary) -> Double)?, label: String, unit: String) -> Double {
        let h = 150.0, plotW = Self.width - Self.left - Self.right
        let main = cycles.filter { $0.summary.part == .main }
        let numbers = main.map { value($0.summary) }.filter(\.isFinite) + main.compactMap { s in target.map { $0(s.summary) } }
        let ymax = max(1, ((numbers.max() ?? 1) * 1.15 / 5).rounded(.up) * 5)
        let first = main.map(\.summary.cycle).min() ?? 1, last = max(main.map(\.summary.cycle).max() ?? 1, first + 1)
        func x(_ cycle: Double) -> Double { Self.left + (cycle - Double(first)) / Double(last - first) * plotW }
        func y(_ v: Double) -> Double { top + h - min(max(v, 0), ymax) / ymax * h }
        frame(&out, group: "cycles", unit: unit, label: label, top: top, height: h, ymax: ymax, y: y)
        let step = max(1, Int((Double(last - first) / 8).rounded(.up)))
        for cycle in stride(from: first, through: last, by: step) {
            let v = Double(cycle)
            out.add("<text x=\"\(f(x(v)))\" y=\"\(f(top + h + 14))\" text-anchor=\"middle\" font-size=\"11\">\(Int(v))</text>")
        }
        out.add("<text x=\"\(f(Self.left + plotW / 2))\" y=\"\(f(top + h + 28))\" text-anchor=\"middle\" font-size=\"11\">cycle</text>")
        for c in chambers.indices {
            let rows = main.filter { $0.chamber == chambers[c] }.map(\.summary).sorted { $0.cycle < $1.cycle }
            let pts = rows.filter { value($0).isFinite }.map { "\(f(x(Double($0.cycle)))),\(f(y(value($0))))" }
            out.add("<polyline class=\"per-cycle\" data-chamber=\"\(escape(chambers[c]))\" fill=\"none\" stroke=\"\(colour(c))\" stroke-width=\"1.5\" points=\"\(pts.joined(separator: " "))\"/>")
            for p in pts.prefix(400) {
                let xy = p.split(separator: ",")
                out.add("<circle cx=\"\(xy[0])\" cy=\"\(xy[1])\" r=\"2.5\" fill=\"\(colour(c))\"/>")
            }
            if let target {
                let tp = rows.map { "\(f(x(Double($0.cycle)))),\(f(y(target($0))))" }
                out.add("<polyline class=\"per-cycle-target\" data-chamber=\"\(escape(chambers[c]))\" fill=\"none\" stroke=\"\(colour(c))\" stroke-dasharray=\"4,3\" points=\"\(tp.joined(separator: " "))\"/>")
            }
        }
        legend(&out, top: top)
        out.add("</g>")
        return top + h + 32
    }

    /// Opens a panel's group: its label, its box and its horizontal grid with the value ticks.
    func frame(_ out: inout SVGText, group: String, unit: String, label: String, top: Double, height h: Double, ymax: Double, y: (Double) -> Double) {
        let plotW = Self.width - Self.left - Self.right
        out.add("<g class=\"\(group)\" data-unit=\"\(unit)\">")
        out.add("<text x=\"\(Self.left)\" y=\"\(f(top - 6))\" font-weight=\"bold\">\(escape(label))</text>")
        out.add("<rect x=\"\(Self.left)\" y=\"\(f(top))\" width=\"\(f(plotW))\" height=\"\(f(h))\" fill=\"none\" stroke=\"#999\"/>")
        for v in ticks(0, ymax, count: 4) {
            out.add("<line x1=\"\(Self.left)\" y1=\"\(f(y(v)))\" x2=\"\(f(Self.left + plotW))\" y2=\"\(f(y(v)))\" stroke=\"#eee\"/>")
            out.add("<text x=\"\(f(Self.left - 6))\" y=\"\(f(y(v) + 4))\" text-anchor=\"end\" font-size=\"11\">\(fmtTick(v))</text>")
        }
    }

    /// A per-compression view of one limb figure, a bar per compression (limbs side by side).
    func compressionPanel(_ out: inout SVGText, top: Double, value: KeyPath<LimbCompression, Double>, label: String, unit: String) -> Double {
        let h = 120.0, plotW = Self.width - Self.left - Self.right
        let values = compressions.map { $0.compression[keyPath: value] }.filter(\.isFinite)
        let ymax = max(1, ((values.max() ?? 1) * 1.15 / 5).rounded(.up) * 5)
        let count = max(compressions.map(\.number).max() ?? 1, 1)
        let limbs = max((compressions.map(\.compression.limb).max() ?? 0) + 1, 1)
        let slot = plotW / Double(count), bar = max(1, slot * 0.7 / Double(limbs))
        func y(_ v: Double) -> Double { top + h - min(max(v, 0), ymax) / ymax * h }
        frame(&out, group: "compressions", unit: unit, label: label, top: top, height: h, ymax: ymax, y: y)
        for n in compressions {
            let v = n.compression[keyPath: value]
            guard v.isFinite else { continue }
            let x = Self.left + (Double(n.number) - 1) * slot + slot * 0.15 + Double(n.compression.limb) * bar
            out.add("<rect class=\"compression\" data-number=\"\(n.number)\" data-limb=\"\(n.compression.limb)\" x=\"\(f(x))\" y=\"\(f(y(v)))\" width=\"\(f(bar))\" height=\"\(f(top + h - y(v)))\" fill=\"\(colour(n.compression.limb))\"/>")
        }
        let step = max(1, Int((Double(count) / 10).rounded(.up)))
        for k in stride(from: 1, through: count, by: step) {
            out.add("<text x=\"\(f(Self.left + (Double(k) - 0.5) * slot))\" y=\"\(f(top + h + 14))\" text-anchor=\"middle\" font-size=\"11\">\(k)</text>")
        }
        out.add("<text x=\"\(f(Self.left + plotW / 2))\" y=\"\(f(top + h + 28))\" text-anchor=\"middle\" font-size=\"11\">compression</text>")
        out.add("</g>")
        return top + h + 32
    }

    func axes(_ out: inout SVGText, top: Double, height h: Double, t0: Double, t1: Double, ymax: Double, x: (Double) -> Double, y: (Double) -> Double) {
        let plotW = Self.width - Self.left - Self.right
        out.add("<rect x=\"\(Self.left)\" y=\"\(f(top))\" width=\"\(f(plotW))\" height=\"\(f(h))\" fill=\"none\" stroke=\"#999\"/>")
        for v in ticks(0, ymax, count: 5) {
            out.add("<line x1=\"\(Self.left)\" y1=\"\(f(y(v)))\" x2=\"\(f(Self.left + plotW))\" y2=\"\(f(y(v)))\" stroke=\"#eee\"/>")
            out.add("<text x=\"\(f(Self.left - 6))\" y=\"\(f(y(v) + 4))\" text-anchor=\"end\" font-size=\"11\">\(fmtTick(v))</text>")
        }
        out.add("<text x=\"16\" y=\"\(f(top + h / 2))\" font-size=\"11\" transform=\"rotate(-90 16 \(f(top + h / 2)))\" text-anchor=\"middle\">mmHg</text>")
        // Long spans in minutes, on round minutes.
        let minutes = t1 - t0 > 600
        let unit = minutes ? 60.0 : 1.0
        for v in ticks(t0 / unit, t1 / unit, count: 10) {
            out.add("<line x1=\"\(f(x(v * unit)))\" y1=\"\(f(top + h))\" x2=\"\(f(x(v * unit)))\" y2=\"\(f(top + h + 4))\" stroke=\"#999\"/>")
            out.add("<text x=\"\(f(x(v * unit)))\" y=\"\(f(top + h + 15))\" text-anchor=\"middle\" font-size=\"11\">\(fmtTick(v))</text>")
        }
        out.add("<text x=\"\(f(Self.left + plotW / 2))\" y=\"\(f(top + h + 29))\" text-anchor=\"middle\" font-size=\"11\" fill=\"#444\">time (\(minutes ? "min" : "s"))</text>")
    }

    func legend(_ out: inout SVGText, top: Double) {
        let x0 = Self.width - Self.right + 14
        for c in chambers.indices {
            let yy = top + 10 + Double(c) * 16
            out.add("<line x1=\"\(f(x0))\" y1=\"\(f(yy))\" x2=\"\(f(x0 + 18))\" y2=\"\(f(yy))\" stroke=\"\(colour(c))\" stroke-width=\"3\"/>")
            out.add("<text x=\"\(f(x0 + 24))\" y=\"\(f(yy + 4))\" font-size=\"11\">\(escape(chambers[c]))</text>")
        }
    }

    /// About `count` round tick values from `a` to `b`.
    func ticks(_ a: Double, _ b: Double, count: Int) -> [Double] {
        let span = max(b - a, 1e-9)
        let raw = span / Double(count)
        let mag = pow(10, floor(Foundation.log10(raw)))
        let step = [1.0, 2, 5, 10].map { $0 * mag }.first { $0 >= raw } ?? raw
        var v = (a / step).rounded(.up) * step, out: [Double] = []
        while v <= b + 1e-9 && out.count < 50 {
            out.append(v)
            v += step
        }
        return out
    }

    func fmtTick(_ v: Double) -> String { v == v.rounded() ? "\(Int(v))" : formatFixed(v, decimals: 1) }
    func f(_ v: Double) -> String { formatFixed(v, decimals: 2) }
    func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}

/// SVG elements, one per line.
struct SVGText {
    var text = ""
    mutating func add(_ line: String) { text += line + "\n" }
}
