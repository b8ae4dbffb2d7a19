import Foundation
import Plots
import Runs

/// Strong scaling fixes the samples over the network, weak the samples per node.
public enum ScalingMode: String, CaseIterable, Sendable {
    case strong, weak, both
}

/// The command a scaling study times.
public enum ScaledCommand: String, CaseIterable, Sendable {
    /// `dlstm train`: online training, --samples steps per node.
    case train
    /// `dlstm elm fit`: batch ELM training by TSQR, --samples rows per node.
    case elmFit = "elm-fit"

    /// The command's words; a study owns its runs' directories, so a train run replaces what one holds.
    var words: [String] { self == .train ? ["train", "--overwrite"] : ["elm", "fit"] }
}

/// A scaling study's runs: `dlstm train` (or `elm fit`) once per mode, rank count and repeat, each
/// started through a launcher ("mpirun -np {ranks}") into DIRECTORY/MODE-rR-I.
public struct ScalingStudy {
    public var command = ScaledCommand.train
    public var modes: [ScalingMode]
    public var rankCounts: [Int]
    public var repeats: Int
    public var totalSamples: Int
    public var samplesPerNode: Int
    public var launcher: String
    public var trainArguments: [String]
    public var directory: String
    /// A fixed graph of this many nodes on every rank count (`--nodes`, strong scaling only); nil: one
    /// node per rank.
    public var nodes: Int?

    public init(
        modes: [ScalingMode], rankCounts: [Int], repeats: Int, totalSamples: Int, samplesPerNode: Int,
        launcher: String, trainArguments: [String], directory: String
    ) {
        (self.modes, self.rankCounts, self.repeats) = (modes, rankCounts, repeats)
        (self.totalSamples, self.samplesPerNode, self.launcher) = (totalSamples, samplesPerNode, launcher)
        (self.trainArguments, self.directory) = (trainArguments, directory)
    }

    /// Runs every point with `executable` (dlstm); `log` gets each command line and run time.
    public func run(executable: String, log: ((String) -> Void)?) throws {
        for mode in modes {
            for r in rankCounts {
                for repeat_ in 1...repeats {
                    let steps = mode == .strong ? totalSamples / (nodes ?? r) : samplesPerNode
                    let out = "\(directory)/\(mode.rawValue)-r\(r)-\(repeat_)"
                    let arguments =
                        command.words + trainArguments + ["--samples", "\(steps)", "--out", out, "--quiet"]
                        + (nodes.map { ["--nodes", "\($0)"] } ?? [])
                    let words = launcher.replacingOccurrences(of: "{ranks}", with: "\(r)").split(separator: " ").map(
                        String.init)
                    let command = (words + ["dlstm"] + arguments).joined(separator: " ")
                    log?("$ " + command)
                    let process = Process()
                    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
                    process.arguments = words + [executable] + arguments
                    try process.run()
                    process.waitUntilExit()
                    guard process.terminationStatus == 0 else {
                        throw RunError("\(command): exited with status \(process.terminationStatus)", status: .failure)
                    }
                    let seconds = try ScaledRunFigures(path: out + "/summary.json").wallSeconds
                    log?(
                        "  \(mode.rawValue) R = \(r) run \(repeat_): \(steps) steps per node, "
                            + String(format: "%.3f s", seconds))
                }
            }
        }
    }
}

/// Reads DIR/MODE-rR-I/summary.json (the runs of a scaling study) into DIR/scaling.json; returns DIR.
public func writeScalingTable(directory: String) throws -> String {
    guard let entries = try? FileManager.default.contentsOfDirectory(atPath: directory) else {
        throw RunError("\(directory): no such directory")
    }
    var points = [String: [Int: [ScaledRunFigures]]]()
    for entry in entries {
        let parts = entry.split(separator: "-")
        guard parts.count == 3, ["strong", "weak"].contains(parts[0]), parts[1].hasPrefix("r"),
            let r = Int(parts[1].dropFirst()),
            let figures = try? ScaledRunFigures(path: "\(directory)/\(entry)/summary.json")
        else { continue }
        points[String(parts[0]), default: [:]][r, default: []].append(figures)
    }
    guard !points.isEmpty else {
        throw RunError("\(directory): no runs named strong-rR-I or weak-rR-I with a summary.json")
    }
    var study = [String: Any]()
    for (mode, byRanks) in points {
        let r0 = byRanks.keys.min()!
        func mean(_ xs: [Double]) -> Double { xs.reduce(0, +) / Double(xs.count) }
        let baseline = mean(byRanks[r0]!.map(\.wallSeconds))
        study[mode] = byRanks.keys.sorted().map { r -> [String: Any] in
            let runs = byRanks[r]!
            let steps = Double(runs[0].samplesPerNode)
            let perStep = runs.map { $0.wallSeconds / steps }
            let wall = mean(runs.map(\.wallSeconds))
            let efficiency = mode == "strong" ? Double(r0) * baseline / wall / Double(r) : baseline / wall
            let bytes = runs.map { mean($0.bytesPerNode.map(Double.init)) }
            return [
                "ranks": r, "nodes": runs[0].nodes, "repeats": runs.count, "samples_per_node": steps,
                "seconds_per_step": ["min": perStep.min()!, "mean": mean(perStep), "max": perStep.max()!],
                "compute_seconds_per_step": mean(runs.map { $0.computeSeconds.mean / steps }),
                "communication_seconds_per_step": mean(runs.map { $0.communicationSeconds.mean / steps }),
                "wall_seconds": wall,
                "speedup": efficiency * Double(r), "efficiency": efficiency,
                "bytes_per_node": mean(bytes),
            ]
        }
    }
    let json = try JSONSerialization.data(withJSONObject: study, options: [.prettyPrinted, .sortedKeys])
    try writeAtomically(json, to: directory + "/scaling.json")
    return directory
}

/// Table and figure of DIR/scaling.json.
public func plotScaling(in directory: String) throws -> (table: String?, files: [String]) {
    guard let data = FileManager.default.contents(atPath: directory + "/scaling.json"),
        let study = try? JSONSerialization.jsonObject(with: data) as? [String: [[String: Any]]]
    else {
        throw RunError("\(directory)/scaling.json: cannot read it as a scaling study")
    }
    var table = ResultTable(
        headings: [
            "mode", "ranks", "nodes", "ms/step min", "mean", "max", "compute ms/step", "communication ms/step",
            "speedup", "efficiency", "bytes per node",
        ],
        csvHeadings: [
            "mode", "ranks", "nodes", "repeats", "seconds_per_step_min", "seconds_per_step_mean",
            "seconds_per_step_max", "compute_seconds_per_step", "communication_seconds_per_step", "speedup",
            "efficiency", "bytes_per_node",
        ])
    var speedups = [Series](), efficiencies = [Series]()
    var allRanks = Set<Double>()
    for mode in study.keys.sorted() {
        let rows = study[mode]!
        for row in rows {
            let r = Int(number(row, "ranks"))
            allRanks.insert(Double(r))
            let cells = [
                number(row, "seconds_per_step", "min"), number(row, "seconds_per_step", "mean"),
                number(row, "seconds_per_step", "max"),
                number(row, "compute_seconds_per_step"), number(row, "communication_seconds_per_step"),
            ]
            let nodes = wholeOrExact(number(row, "nodes"))
            let (speedup, efficiency, bytes) = (
                number(row, "speedup"), number(row, "efficiency"), number(row, "bytes_per_node")
            )
            table.append(
                [mode, "\(r)", nodes] + cells.map { String(format: "%.3g", $0 * 1000) }
                    + [String(format: "%.2f", speedup), String(format: "%.2f", efficiency), compact(bytes)],
                csv: [mode, "\(r)", nodes, "\(Int(number(row, "repeats")))"] + cells.map(exact)
                    + [exact(speedup), exact(efficiency), exact(bytes)])
        }
        let points = rows.map { (x: number($0, "ranks"), y: number($0, "speedup")) }
        speedups.append(
            Series(mode == "strong" ? "strong: speedup" : "weak: scaled speedup", points: points, markers: true))
        efficiencies.append(
            Series(mode, points: rows.map { (x: number($0, "ranks"), y: number($0, "efficiency")) }, markers: true))
    }
    let ranks = allRanks.sorted()
    speedups.append(Series("ideal", points: ranks.map { (x: $0, y: $0) }, isReference: true))
    efficiencies.append(Series("ideal", points: ranks.map { (x: $0, y: 1) }, isReference: true))
    let figure = Figure(
        title: "Scaling: \((directory as NSString).lastPathComponent)",
        panels: [
            .lines(
                title: "Speedup", x: Axis("MPI ranks"),
                y: Axis(
                    "speedup (x)",
                    range: 0...max(ranks.last ?? 1, speedups.flatMap(\.points).map(\.y).filter(\.isFinite).max() ?? 1)
                        * 1.05), series: speedups),
            .lines(
                title: "Parallel efficiency", x: Axis("MPI ranks"),
                y: Axis(
                    "efficiency",
                    range: 0...max(1.1, efficiencies.flatMap(\.points).map(\.y).filter(\.isFinite).max() ?? 1) * 1.05),
                series: efficiencies),
        ])
    try writeAtomically(Data(figure.svg().utf8), to: directory + "/scaling.svg")
    let markdown =
        table.markdown + "\n" + """

            T(R): mean wall time of the repeats at R ranks; R0: the smallest rank count.
            strong (fixed samples over the network): speedup S(R) = R0 T(R0) / T(R), efficiency E(R) = S(R) / R.
            weak (fixed samples per node): efficiency E(R) = T(R0) / T(R), scaled speedup S(R) = R E(R).

            """
    try writeAtomically(Data(markdown.utf8), to: directory + "/scaling.md")
    try writeAtomically(Data(table.csv.utf8), to: directory + "/scaling.csv")
    return (
        markdown.trimmingCharacters(in: .newlines),
        ["scaling.svg", "scaling.md", "scaling.csv"].map { directory + "/" + $0 }
    )
}

/// A number of a summary.json or scaling.json object, `object[key]` or `object[key][field]`;
/// NaN when absent, so a missing figure shows as such in the table instead of stopping it.
private func number(_ object: [String: Any], _ key: String, _ field: String? = nil) -> Double {
    if let field { return ((object[key] as? [String: Any])?[field] as? NSNumber)?.doubleValue ?? .nan }
    return (object[key] as? NSNumber)?.doubleValue ?? .nan
}

/// The figures a scaling study tabulates from each run's summary.json: the fields a `RunSummary` and
/// `dlstm elm fit`'s summary share.
struct ScaledRunFigures: Decodable {
    var nodes: Int
    var samplesPerNode: Int
    var wallSeconds: Double
    var bytesPerNode: [Int]
    var computeSeconds: RunSummary.Spread
    var communicationSeconds: RunSummary.Spread

    enum CodingKeys: String, CodingKey {
        case nodes, samplesPerNode = "samples_per_node", wallSeconds = "wall_seconds", bytesPerNode = "bytes_per_node"
        case computeSeconds = "compute_seconds", communicationSeconds = "communication_seconds"
    }

    init(path: String) throws {
        guard let data = FileManager.default.contents(atPath: path) else { throw RunError("\(path): cannot read it") }
        do {
            self = try JSONDecoder().decode(Self.self, from: data)
        } catch {
            throw RunError("\(path): not a summary.json of dlstm train or elm fit: \(error)")
        }
    }
}
