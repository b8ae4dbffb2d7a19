import Foundation

/// Small SVG charts for results: line charts (linear or log axes) and bar charts, side by side in
/// one figure. SVG because every browser shows it and it diffs as text; no dependency because
/// what we draw is a few hundred lines and points.

public struct Axis: Sendable {
    public var label: String
    public var logarithmic: Bool
    /// Forced range; nil: from the data.
    public var range: ClosedRange<Double>?

    public init(_ label: String, logarithmic: Bool = false, range: ClosedRange<Double>? = nil) {
        self.label = label
        self.logarithmic = logarithmic
        self.range = range
    }
}

/// A line's colour and dash pattern ("" solid, "6,3" dashed).
public struct Style: Sendable {
    public var colour: String
    public var dash: String
    public init(colour: String, dash: String = "") {
        self.colour = colour
        self.dash = dash
    }
}

public struct Series: Sendable {
    public var name: String
    public var points: [(x: Double, y: Double)]
    /// Draw a marker at every point (for sparse data such as rank counts).
    public var markers: Bool
    /// A dashed grey reference (e.g. ideal speedup) instead of a coloured data series.
    public var isReference: Bool
    /// nil: the next colour of the palette.
    public var style: Style?

    public init(
        _ name: String, points: [(x: Double, y: Double)], markers: Bool = false, isReference: Bool = false,
        style: Style? = nil
    ) {
        self.name = name
        self.points = points
        self.markers = markers
        self.isReference = isReference
        self.style = style
    }
}

public enum Panel: Sendable {
    case lines(title: String, x: Axis, y: Axis, series: [Series])
    /// One bar per entry; values <= 0 are shown as a label only (nothing to draw on a log axis).
    case bars(title: String, y: Axis, bars: [(label: String, value: Double, colour: String?)])
}

/// Okabe-Ito colours (distinguishable with the common colour-vision deficiencies), with dash
/// patterns as a second cue once colours repeat.
let palette = ["#000000", "#E69F00", "#56B4E9", "#009E73", "#0072B2", "#D55E00", "#CC79A7", "#999999"]
let dashes = ["", "6,3", "2,2", "8,3,2,3"]

public struct Figure: Sendable {
    public var title: String
    public var panels: [Panel]
    public var panelWidth = 700.0
    public var panelHeight = 420.0

    public init(title: String, panels: [Panel]) {
        self.title = title
        self.panels = panels
    }

    /// Panels per row: side by side up to two, then a grid of two columns, so that each panel of a
    /// figure shown 1,000 px wide is at least 500 px wide.
    public static let columns = 2

    public func svg() -> String {
        let columns = min(panels.count, Self.columns), rows = (panels.count + columns - 1) / max(columns, 1)
        let width = panelWidth * Double(columns), height = panelHeight * Double(rows) + 40
        var out = """
            <svg xmlns="http://www.w3.org/2000/svg" width="\(f(width))" height="\(f(height))" viewBox="0 0 \
            \(f(width)) \(f(height))" font-family="Helvetica, Arial, sans-serif" font-size="12">
            <rect width="100%" height="100%" fill="white"/>
            <text x="\(f(width / 2))" y="24" text-anchor="middle" font-size="15" \
            font-weight="bold">\(escaped(title))</text>

            """
        for (index, panel) in panels.enumerated() {
            let (row, column) = index.quotientAndRemainder(dividingBy: columns)
            out +=
                "<g transform=\"translate(\(f(Double(column) * panelWidth)),\(f(40 + Double(row) * panelHeight)))\">\n"
            switch panel {
            case let .lines(title, x, y, series): out += lineChart(title: title, x: x, y: y, series: series)
            case let .bars(title, y, bars): out += barChart(title: title, y: y, bars: bars)
            }
            out += "</g>\n"
        }
        return out + "</svg>\n"
    }

    // MARK: layout: the plot area inside a panel, with room for tick labels and a legend.

    private var left: Double { 70 }
    private var top: Double { 24 }
    private var bottom: Double { panelHeight - 50 }

    private func lineChart(title: String, x: Axis, y: Axis, series: [Series]) -> String {
        // Room for the longest name (about 7 px a character at 12 px), so "dpf-metropolis-auto" is not cut.
        let longest = Double(series.map(\.name.count).max() ?? 0)
        let legendWidth = min(max(150, 58 + 7 * longest), panelWidth / 2)
        let right = panelWidth - legendWidth - 10
        let all = series.flatMap(\.points).filter {
            $0.x.isFinite && $0.y.isFinite && (!x.logarithmic || $0.x > 0) && (!y.logarithmic || $0.y > 0)
        }
        guard !all.isEmpty else {
            return frame(title: title)
                + "<text x=\"\(f(panelWidth / 2))\" y=\"\(f(panelHeight / 2))\" text-anchor=\"middle\">no data</text>\n"
        }
        let xScale = Scale(axis: x, values: all.map(\.x), from: left, to: right)
        let yScale = Scale(axis: y, values: all.map(\.y), from: bottom, to: top)
        var out = frame(title: title)
        out += axes(xScale: xScale, yScale: yScale, right: right, x: x, y: y)
        var colour = 0
        for (index, one) in series.enumerated() {
            let stroke: String, dash: String, widthAttribute: String
            if one.isReference {
                (stroke, dash, widthAttribute) = ("#888888", "4,4", "1.2")
            } else if let style = one.style {
                (stroke, dash, widthAttribute) = (style.colour, style.dash, "1.8")
            } else {
                (stroke, dash, widthAttribute) = (
                    palette[colour % palette.count], dashes[(colour / palette.count) % dashes.count], "1.8"
                )
                colour += 1
            }
            let visible = one.points.filter {
                $0.x.isFinite && $0.y.isFinite && (!x.logarithmic || $0.x > 0) && (!y.logarithmic || $0.y > 0)
            }
            let path = visible.map { "\(f(xScale.map($0.x))),\(f(yScale.map($0.y)))" }.joined(separator: " ")
            let dashAttribute = dash.isEmpty ? "" : " stroke-dasharray=\"\(dash)\""
            out +=
                "<polyline fill=\"none\" stroke=\"\(stroke)\" stroke-width=\"\(widthAttribute)\"\(dashAttribute) "
                + "points=\"\(path)\"/>\n"
            if one.markers {
                for point in visible {
                    out +=
                        "<circle cx=\"\(f(xScale.map(point.x)))\" cy=\"\(f(yScale.map(point.y)))\" r=\"3.2\" "
                        + "fill=\"\(stroke)\"/>\n"
                }
            }
            // Legend entry.
            let ly = top + 8 + Double(index) * 18
            out +=
                "<line x1=\"\(f(right + 14))\" y1=\"\(f(ly))\" x2=\"\(f(right + 42))\" y2=\"\(f(ly))\" "
                + "stroke=\"\(stroke)\" stroke-width=\"\(widthAttribute)\"\(dashAttribute)/>\n"
            out += "<text x=\"\(f(right + 48))\" y=\"\(f(ly + 4))\">\(escaped(one.name))</text>\n"
        }
        return out
    }

    private func barChart(title: String, y: Axis, bars: [(label: String, value: Double, colour: String?)]) -> String {
        let right = panelWidth - 20
        let positive = bars.map(\.value).filter { $0 > 0 && $0.isFinite }
        var out = frame(title: title)
        guard !positive.isEmpty else {
            return out
                + "<text x=\"\(f(panelWidth / 2))\" y=\"\(f(panelHeight / 2))\" text-anchor=\"middle\">no data</text>\n"
        }
        var axis = y
        if !axis.logarithmic && axis.range == nil { axis.range = 0...(positive.max()! * 1.08) }
        let yScale = Scale(axis: axis, values: positive, from: bottom, to: top)
        out += yAxis(yScale, right: right, label: y.label)
        out += "<line x1=\"\(f(left))\" y1=\"\(f(bottom))\" x2=\"\(f(right))\" y2=\"\(f(bottom))\" stroke=\"black\"/>\n"
        let slot = (right - left) / Double(bars.count)
        for (index, bar) in bars.enumerated() {
            let centre = left + slot * (Double(index) + 0.5)
            if bar.value > 0 && bar.value.isFinite {
                let topY = yScale.map(bar.value)
                out +=
                    "<rect x=\"\(f(centre - slot * 0.32))\" y=\"\(f(topY))\" width=\"\(f(slot * 0.64))\" "
                    + "height=\"\(f(max(0, bottom - topY)))\" "
                    + "fill=\"\(bar.colour ?? palette[index % palette.count])\"/>\n"
                out +=
                    "<text x=\"\(f(centre))\" y=\"\(f(topY - 4))\" text-anchor=\"middle\" "
                    + "font-size=\"11\">\(escaped(compact(bar.value)))</text>\n"
            } else {
                out +=
                    "<text x=\"\(f(centre))\" y=\"\(f(bottom - 6))\" text-anchor=\"middle\" font-size=\"11\">0</text>\n"
            }
            out +=
                "<text x=\"\(f(centre))\" y=\"\(f(bottom + 16))\" text-anchor=\"middle\">\(escaped(bar.label))</text>\n"
        }
        return out
    }

    private func frame(title: String) -> String {
        "<text x=\"\(f(panelWidth / 2))\" y=\"12\" text-anchor=\"middle\" font-size=\"14\">\(escaped(title))</text>\n"
    }

    private func axes(xScale: Scale, yScale: Scale, right: Double, x: Axis, y: Axis) -> String {
        var out =
            "<rect x=\"\(f(left))\" y=\"\(f(top))\" width=\"\(f(right - left))\" height=\"\(f(bottom - top))\" "
            + "fill=\"none\" stroke=\"black\"/>\n"
        for tick in xScale.ticks() {
            let px = xScale.map(tick.value)
            out += "<line x1=\"\(f(px))\" y1=\"\(f(top))\" x2=\"\(f(px))\" y2=\"\(f(bottom))\" stroke=\"#e4e4e4\"/>\n"
            out +=
                "<line x1=\"\(f(px))\" y1=\"\(f(bottom))\" x2=\"\(f(px))\" y2=\"\(f(bottom + 5))\" stroke=\"black\"/>\n"
            out += "<text x=\"\(f(px))\" y=\"\(f(bottom + 18))\" text-anchor=\"middle\">\(escaped(tick.label))</text>\n"
        }
        out +=
            "<text x=\"\(f((left + right) / 2))\" y=\"\(f(bottom + 38))\" "
            + "text-anchor=\"middle\">\(escaped(x.label))</text>\n"
        return out + yAxis(yScale, right: right, label: y.label)
    }

    private func yAxis(_ yScale: Scale, right: Double, label: String) -> String {
        var out = ""
        for tick in yScale.ticks() {
            let py = yScale.map(tick.value)
            out += "<line x1=\"\(f(left))\" y1=\"\(f(py))\" x2=\"\(f(right))\" y2=\"\(f(py))\" stroke=\"#e4e4e4\"/>\n"
            out += "<line x1=\"\(f(left - 5))\" y1=\"\(f(py))\" x2=\"\(f(left))\" y2=\"\(f(py))\" stroke=\"black\"/>\n"
            out += "<text x=\"\(f(left - 8))\" y=\"\(f(py + 4))\" text-anchor=\"end\">\(escaped(tick.label))</text>\n"
        }
        out += "<line x1=\"\(f(left))\" y1=\"\(f(top))\" x2=\"\(f(left))\" y2=\"\(f(bottom))\" stroke=\"black\"/>\n"
        let middle = (top + bottom) / 2
        return out
            + "<text x=\"16\" y=\"\(f(middle))\" text-anchor=\"middle\" transform=\"rotate(-90 16 "
            + "\(f(middle)))\">\(escaped(label))</text>\n"
    }
}

/// Data to pixels along one axis, and where its ticks go.
struct Scale {
    let logarithmic: Bool
    let low: Double, high: Double
    let from: Double, to: Double

    init(axis: Axis, values: [Double], from: Double, to: Double) {
        logarithmic = axis.logarithmic
        var low = axis.range?.lowerBound ?? values.min()!
        var high = axis.range?.upperBound ?? values.max()!
        if logarithmic {
            // Whole decades when the data spans several; otherwise a little margin.
            low = log10(low)
            high = log10(high)
            if high - low >= 2 {
                low = low.rounded(.down)
                high = high.rounded(.up)
            } else {
                low -= 0.05
                high += 0.05
            }
        } else if axis.range == nil {
            let margin = (high - low) * 0.04
            low -= margin
            high += margin
        }
        if high - low < 1e-12 {
            low -= 0.5
            high += 0.5
        }
        (self.low, self.high, self.from, self.to) = (low, high, from, to)
    }

    func map(_ value: Double) -> Double {
        let v = logarithmic ? log10(value) : value
        return from + (v - low) / (high - low) * (to - from)
    }

    func ticks() -> [(value: Double, label: String)] {
        if logarithmic {
            let decades = Int(high.rounded(.down)) - Int(low.rounded(.up)) + 1
            // With few decades, 2 and 5 between them; with many, every decade.
            let mantissas: [Double] = decades >= 3 ? [1] : decades >= 1 ? [1, 2, 5] : [1, 1.5, 2, 3, 4, 5, 6, 7, 8, 9]
            var ticks = [(Double, String)]()
            for exponent in Int(low.rounded(.down))...Int(high.rounded(.up)) {
                for m in mantissas {
                    let value = m * pow(10, Double(exponent))
                    let l = log10(value)
                    if l >= low - 1e-9 && l <= high + 1e-9 { ticks.append((value, compact(value))) }
                }
            }
            return ticks
        }
        let step = niceStep((high - low) / 6)
        var ticks = [(Double, String)]()
        var value = (low / step).rounded(.up) * step
        while value <= high + step * 1e-9 {
            ticks.append((value, compact(abs(value) < step * 1e-9 ? 0 : value)))
            value += step
        }
        return ticks
    }
}

/// 1, 2 or 5 times a power of ten, at least `raw`.
func niceStep(_ raw: Double) -> Double {
    let power = pow(10, (log10(raw)).rounded(.down))
    for m in [1.0, 2, 5, 10] where m * power >= raw { return m * power }
    return 10 * power
}

/// A tick or bar label: 3 significant digits, with K/M/G for large counts.
public func compact(_ value: Double) -> String {
    let magnitude = abs(value)
    if magnitude >= 1e9 { return trimmed(value / 1e9) + "G" }
    if magnitude >= 1e6 { return trimmed(value / 1e6) + "M" }
    if magnitude >= 1e3 { return trimmed(value / 1e3) + "K" }
    if magnitude != 0 && magnitude < 1e-3 { return String(format: "%.0e", value) }
    return trimmed(value)
}

private func trimmed(_ value: Double) -> String {
    String(format: "%.3g", value)
}

private func f(_ value: Double) -> String { String(format: "%.1f", value) }

func escaped(_ text: String) -> String {
    text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(
        of: ">", with: "&gt;")
}
