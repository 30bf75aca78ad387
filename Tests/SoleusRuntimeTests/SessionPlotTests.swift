import Foundation
import SoleusConfig
import SoleusCore
import SoleusRuntime
import Testing

#if canImport(FoundationXML)
import FoundationXML
#endif

/// The plot of a simulated DVT session shows the graduated wave: the ankle inflates first, then
/// the calf, then the thigh, each held at a lower target than the one distal to it.
struct SessionPlotTests {
    @Test func theSVGShowsTheGraduatedWave() throws {
        let prepared = try PreparedSession.load(protocolPath: root + "/protocols/dvt-3-chamber.toml", profilePath: root + "/hardware/sim-3-dvt.toml")
        var p = prepared
        p.plan.length = .cycles(3)
        let log = MemorySessionLog()
        let backend = try p.makeBackend()
        _ = try p.runner(backend: backend, sink: log, options: .init(speed: .max)).run()
        let summaries = log.summaries.map { (p.profile.boot.chambers[$0.chamber], $0) }
        let svg = SessionPlot(title: "test", chambers: p.profile.boot.chambers, samples: log.samples, events: log.events, cycles: summaries).svg()
        let elements = try SVGElements(svg)

        let pressure = elements.filter { $0["class"] == "pressure" }
        #expect(Set(pressure.compactMap { $0["data-chamber"] }) == ["ankle", "calf", "thigh"])
        #expect(pressure.allSatisfy { ($0["points"]?.split(separator: " ").count ?? 0) > 100 })

        // First inflation per chamber, from the phase lanes: distal first.
        func firstInflate(_ c: String) -> Double {
            elements.filter { $0["class"] == "phase" && $0["data-chamber"] == c && $0["data-phase"] == "inflating" }.compactMap { $0["data-t0"].flatMap(Double.init) }.min() ?? .nan
        }
        #expect(firstInflate("ankle") < firstInflate("calf") && firstInflate("calf") < firstInflate("thigh"))
        // Targets step down from distal to proximal.
        func target(_ c: String) -> Double {
            elements.filter { $0["class"] == "target" && $0["data-chamber"] == c }.compactMap { $0["data-mmhg"].flatMap(Double.init) }.max() ?? .nan
        }
        #expect(target("ankle") > target("calf") && target("calf") > target("thigh"))
        // Two per-cycle panels (peaks, times to target), a line per chamber in each.
        #expect(elements.filter { $0["class"] == "per-cycle" }.count == 6)
        #expect(elements.filter { $0["class"] == "alarm" }.isEmpty)
    }

    var root: String {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }
}

/// Every element's attributes, with its name under "element".
func SVGElements(_ svg: String) throws -> [[String: String]] {
    final class Collector: NSObject, XMLParserDelegate {
        var elements: [[String: String]] = []
        func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?, attributes: [String: String] = [:]) {
            var a = attributes
            a["element"] = name
            elements.append(a)
        }
    }
    let parser = XMLParser(data: Data(svg.utf8))
    let c = Collector()
    parser.delegate = c
    guard parser.parse() else { throw StoreError("the SVG is not well-formed XML") }
    return c.elements
}
