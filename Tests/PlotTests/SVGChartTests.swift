import Foundation
import Testing

@testable import Plots

#if canImport(FoundationXML)
    import FoundationXML
#endif

/// Counts the elements of an SVG document; fails on malformed XML.
final class ElementCounter: NSObject, XMLParserDelegate {
    var counts = [String: Int]()
    var texts = [String]()
    private var inText = false
    func parser(
        _ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
        attributes: [String: String] = [:]
    ) {
        counts[name, default: 0] += 1
        inText = name == "text"
        if inText { texts.append("") }
    }
    func parser(_ parser: XMLParser, foundCharacters string: String) { if inText { texts[texts.count - 1] += string } }
    func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
        inText = false
    }
}

func parse(_ svg: String) -> ElementCounter? {
    let counter = ElementCounter()
    let parser = XMLParser(data: Data(svg.utf8))
    parser.delegate = counter
    return parser.parse() ? counter : nil
}

@Suite struct SVGChartTests {
    @Test func lineChartIsWellFormedWithOneLinePerSeriesAndLegend() throws {
        let figure = Figure(
            title: "MSE <&> curves",
            panels: [
                .lines(
                    title: "MSE", x: Axis("samples per node"), y: Axis("MSE", logarithmic: true),
                    series: [
                        Series("dpf", points: (1...100).map { (x: Double($0), y: 1 / Double($0)) }),
                        Series("pf", points: (1...100).map { (x: Double($0), y: 2 / Double($0)) }),
                        Series("ideal", points: [(1, 1), (100, 0.01)], isReference: true),
                    ])
            ])
        let counter = try #require(parse(figure.svg()))
        #expect(counter.counts["polyline"] == 3)
        #expect(counter.texts.contains("dpf") && counter.texts.contains("pf") && counter.texts.contains("ideal"))
        #expect(counter.texts.contains("MSE <&> curves"))  // escaped, then read back
        // A log axis over two decades is labelled at the decades.
        #expect(counter.texts.contains("0.01") && counter.texts.contains("0.1") && counter.texts.contains("1"))
        #expect(counter.texts.contains("samples per node"))
    }

    @Test func barChartSkipsNonPositiveBarsOnALogAxis() throws {
        let figure = Figure(
            title: "bytes",
            panels: [
                .bars(
                    title: "bytes per step", y: Axis("bytes", logarithmic: true),
                    bars: [("sgd", 0, nil), ("dpf", 84_000, nil), ("dekf", 18_000, "#123456")])
            ])
        let counter = try #require(parse(figure.svg()))
        #expect(counter.counts["rect"] == 2 + 1)  // background + two bars
        #expect(counter.texts.contains("84K") && counter.texts.contains("18K") && counter.texts.contains("sgd"))
    }

    @Test func panelsSitSideBySide() throws {
        let panel = Panel.lines(
            title: "p", x: Axis("x"), y: Axis("y"), series: [Series("a", points: [(1, 1), (2, 2)], markers: true)])
        let svg = Figure(title: "two", panels: [panel, panel]).svg()
        let counter = try #require(parse(svg))
        #expect(counter.counts["g"] == 2)
        #expect(counter.counts["circle"] == 4)
        #expect(svg.contains("width=\"1400.0\""))
    }

    /// Five panels in one row are thumbnails at the 1,000 px a page shows them: past two, a grid.
    @Test func manyPanelsMakeAGrid() throws {
        let panel = Panel.lines(
            title: "p", x: Axis("x"), y: Axis("y"), series: [Series("a", points: [(1, 1), (2, 2)])])
        let svg = Figure(title: "five", panels: Array(repeating: panel, count: 5)).svg()
        let counter = try #require(parse(svg))
        #expect(counter.counts["g"] == 5)
        #expect(svg.contains("width=\"1400.0\"") && svg.contains("height=\"1300.0\""))
        for (column, row) in [(0, 0), (700, 0), (0, 420), (700, 420), (0, 840)] {
            #expect(svg.contains("translate(\(Double(column)),\(Double(40 + row)))"), "panel at \(column), \(row)")
        }
        #expect(!svg.contains("translate(1400.0"))
    }

    @Test func emptyDataSaysSoInsteadOfCrashing() throws {
        let svg = Figure(
            title: "none",
            panels: [
                .lines(
                    title: "p", x: Axis("x"), y: Axis("y", logarithmic: true),
                    series: [Series("a", points: [(1, 0), (2, -1)])])
            ]
        ).svg()
        let counter = try #require(parse(svg))
        #expect(counter.texts.contains("no data"))
    }

    @Test func scalesMapEndsAndTicksAreRound() {
        let linear = Scale(axis: Axis("x", range: 0...10), values: [], from: 100, to: 200)
        #expect(linear.map(0) == 100 && linear.map(10) == 200)
        #expect(linear.ticks().map(\.value) == [0, 2, 4, 6, 8, 10])
        let log = Scale(axis: Axis("y", logarithmic: true), values: [0.001, 10], from: 300, to: 0)
        #expect(abs(log.map(0.001) - 300) < 1e-9 && abs(log.map(10)) < 1e-9)
        #expect(log.ticks().map(\.label) == ["0.001", "0.01", "0.1", "1", "10"])
        #expect(niceStep(0.13) == 0.2 && niceStep(7) == 10 && niceStep(2) == 2)
        #expect(compact(1_234_567) == "1.23M" && compact(0.5) == "0.5")
    }
}

@Suite struct SVGLegendTests {
    @Test("a long series name gets a legend wide enough: its text ends inside the panel")
    func longNamesFit() throws {
        let name = "dpf-metropolis-auto, N = 320"
        let figure = Figure(
            title: "t",
            panels: [.lines(title: "p", x: Axis("x"), y: Axis("y"), series: [Series(name, points: [(0, 1), (1, 2)])])])
        let svg = figure.svg()
        let entry = try #require(svg.split(separator: "\n").first { $0.contains(">\(name)</text>") })
        let x = try #require(Double(entry.split(separator: "\"")[1]))
        // About 7 px a character at 12 px.
        #expect(x + 7 * Double(name.count) <= figure.panelWidth, "legend text starts at \(x)")
    }
}
