import Foundation
import Plots
import Runs

/// The order tables and legends use: baselines before their distributed versions, the centralized
/// optimum last.
let algorithmOrder = ["sgd", "dsgd", "ekf", "dekf", "pf", "dpf", "cpf", "elm", "delm"]

func sortedRuns(_ runs: [RunSummary]) -> [RunSummary] {
    func rank(_ run: RunSummary) -> Int { algorithmOrder.firstIndex(of: run.algorithm) ?? algorithmOrder.count }
    return runs.sorted { (rank($0), $0.label) < (rank($1), $1.label) }
}

/// Writes the table and figures for a run, an experiment or a scaling study in `directory`;
/// returns the Markdown table and the files written.
public func plotResults(in directory: String, title: String?) throws -> (table: String?, files: [String]) {
    let manager = FileManager.default
    if manager.fileExists(atPath: directory + "/scaling.json") {
        return try plotScaling(in: directory)
    }
    var runs = [RunSummary]()
    if manager.fileExists(atPath: directory + "/summary.json") {
        runs = [try RunSummary(path: directory + "/summary.json")]
    } else {
        guard let entries = try? manager.contentsOfDirectory(atPath: directory) else {
            throw RunError("\(directory): no such directory")
        }
        for entry in entries.sorted() where manager.fileExists(atPath: "\(directory)/\(entry)/summary.json") {
            runs.append(try RunSummary(path: "\(directory)/\(entry)/summary.json"))
        }
    }
    guard !runs.isEmpty else {
        throw RunError("\(directory): no summary.json, */summary.json or scaling.json to plot")
    }
    runs = sortedRuns(runs)
    let heading =
        title
        ?? "\((directory as NSString).lastPathComponent): \(runs[0].nodes) nodes, \(runs[0].samplesPerNode) samples "
        + "per node"

    let mse = mseFigure(runs, title: heading)
    let communication = Figure(
        title: heading,
        panels: [
            .bars(
                title: "Bytes sent per node per step (log scale; local trainers send none)",
                y: Axis("bytes per node per step", logarithmic: true),
                bars: runs.map { ($0.label, $0.bytesPerNodePerStep, style(of: $0.label)?.colour) })
        ])
    let table = experimentTable(runs)
    try writeAtomically(Data(mse.svg().utf8), to: directory + "/mse.svg")
    try writeAtomically(Data(communication.svg().utf8), to: directory + "/communication.svg")
    try writeAtomically(Data((table.markdown + "\n").utf8), to: directory + "/table.md")
    try writeAtomically(Data(table.csv.utf8), to: directory + "/table.csv")
    var files = ["mse.svg", "communication.svg", "table.md", "table.csv"]
    let filters = runs.filter { !$0.essCurve.isEmpty }
    if !filters.isEmpty {
        let ess = Figure(
            title: heading,
            panels: byDirectLink(filters, "Effective sample size / N before resampling (mean over nodes)").map {
                name, members in
                .lines(
                    title: name, x: Axis("samples per node"), y: Axis("ESS / N", range: 0...1),
                    series: members.map { Series($0.label, points: $0.essCurve, style: style(of: $0.label)) })
            })
        try writeAtomically(Data(ess.svg().utf8), to: directory + "/ess.svg")
        files.append("ess.svg")
    }
    return (table.markdown, files.map { directory + "/" + $0 })
}

/// The time-averaged MSE curves with the baseline's. Runs with and without the direct link side by
/// side on one scale when there are both (one panel of 29 lines cannot be read).
func mseFigure(_ runs: [RunSummary], title: String) -> Figure {
    let baseline =
        runs[0].baseline.map {
            [
                Series(
                    "baseline: \($0.predictor)", points: runs[0].baselineCurve,
                    style: Style(colour: "#999999", dash: "2,4"))
            ]
        } ?? []
    let groups = byDirectLink(runs, "Time-averaged MSE (mean over nodes)")
    let values = (runs.flatMap(\.curve) + baseline.flatMap(\.points)).map(\.y).filter { $0 > 0 && $0.isFinite }
    let range = groups.count > 1 ? values.min().flatMap { low in values.max().map { low...$0 } } : nil
    return Figure(
        title: title,
        panels: groups.map { name, members in
            .lines(
                title: name, x: Axis("samples per node"), y: Axis("MSE", logarithmic: true, range: range),
                series: members.map { Series($0.label, points: $0.curve, style: style(of: $0.label)) } + baseline)
        })
}

/// A figure's panels: the runs under `title`, or when some have the direct link and some not, those
/// without and those with it side by side.
func byDirectLink(_ runs: [RunSummary], _ title: String) -> [(String, [RunSummary])] {
    let linked = runs.filter { $0.label.hasSuffix("-direct") }, plain = runs.filter { !$0.label.hasSuffix("-direct") }
    return linked.isEmpty || plain.isEmpty
        ? [(title, runs)] : [(title, plain), ("... with the direct link (-direct)", linked)]
}

/// One colour per family (SGD, EKF, PF), dashed for the local trainer and solid for its
/// distributed version, the centralized optimum in black: the pairs the paper compares stand out.
func style(of label: String) -> Style? {
    // With the direct link (`-direct`) in its run's colour, dash-dotted (sparse dots if also `-auto`).
    if label.hasSuffix("-direct"), let base = style(of: String(label.dropLast("-direct".count))) {
        return Style(colour: base.colour, dash: base.dash == "2,2" ? "1,4" : "8,3,2,3")
    }
    // A calibrated run (`-auto`) in its algorithm's colour, dotted.
    if label.hasSuffix("-auto"), let base = style(of: String(label.dropLast("-auto".count))) {
        return Style(colour: base.colour, dash: "2,2")
    }
    switch label {
    case "sgd": return Style(colour: "#E69F00", dash: "6,3")
    case "dsgd": return Style(colour: "#E69F00")
    case "ekf": return Style(colour: "#0072B2", dash: "6,3")
    case "dekf": return Style(colour: "#0072B2")
    case "pf": return Style(colour: "#D55E00", dash: "6,3")
    case "dpf": return Style(colour: "#D55E00")
    case "dpf-metropolis": return Style(colour: "#CC79A7")
    case "dpf-lazy": return Style(colour: "#009E73")
    case "cpf": return Style(colour: "#000000")
    case "elm": return Style(colour: "#56B4E9", dash: "6,3")
    case "delm": return Style(colour: "#56B4E9")
    default: return nil
    }
}

/// The experiment's table: one row a run, the trivial predictor's last.
func experimentTable(_ runs: [RunSummary]) -> ResultTable {
    var table = ResultTable(
        headings: [
            "algorithm", "final MSE (last 10%)", "/ baseline's", "time-averaged MSE", "samples to within 10%",
            "bytes per node", "bytes per node per step", "seconds",
        ],
        csvHeadings: [
            "algorithm", "final_mse", "final_mse_over_baseline", "time_averaged_mse", "samples_to_within_10pct",
            "bytes_per_node", "bytes_per_node_per_step", "seconds",
        ])
    // Every run of a table sees the same data, so the first run's baseline is every run's.
    let baseline = runs.first?.baseline
    for run in runs {
        let ratio = baseline.map { run.finalMSE / $0.finalMSE }
        table.append(
            [
                run.label, String(format: "%.4g", run.finalMSE), ratio.map { String(format: "%.2f", $0) } ?? "-",
                String(format: "%.4g", run.timeAveragedMSE), "\(run.samplesToWithin10Percent)",
                compact(run.meanBytesPerNode), compact(run.bytesPerNodePerStep),
                String(format: "%.2f", run.wallSeconds),
            ],
            csv: [
                run.label, exact(run.finalMSE), ratio.map(exact) ?? "", exact(run.timeAveragedMSE),
                "\(run.samplesToWithin10Percent)", exact(run.meanBytesPerNode), exact(run.bytesPerNodePerStep),
                exact(run.wallSeconds),
            ])
    }
    if let baseline {
        table.append(
            [
                "baseline: \(baseline.predictor)", String(format: "%.4g", baseline.finalMSE), "1.00",
                String(format: "%.4g", baseline.timeAveragedMSE), "-", "0", "0", "-",
            ],
            csv: [
                "baseline: \(baseline.predictor)", exact(baseline.finalMSE), "1", exact(baseline.timeAveragedMSE), "",
                "0", "0", "",
            ])
    }
    return table
}
