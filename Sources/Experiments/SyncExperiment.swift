import Distributed
import Foundation
import Plots
import Runs
import Trainers

/// The FGM thesis's comparison (`docs/design/sync-protocols.md`, "How they are evaluated"):
/// on each data set, the same learner (Adam by default) trained locally, by diffusion SGD, by
/// periodic averaging at several periods b, and by GM and FGM at several thresholds; final MSE
/// against the bytes each node sent (the accuracy-communication frontier).
public struct SyncExperiment: Sendable {
    public enum DataSet: String, CaseIterable, Sendable {
        /// The paper's FX series (next-day GBP/USD, p = 2) and tweets (2-d word vectors), and a
        /// synthetic teacher LSTM of the learner's size.
        case fx, sentiment, teacher
    }

    public var hidden = 2
    public var optimizer = Optimizer.adam
    public var learningRate = 0.01
    public var periods = [1, 4, 16]
    /// Delta for gm and Theta for fgm, in squared parameter units.
    public var thresholds = [1e-4, 1e-3, 1e-2, 1e-1]
    public var seed: UInt64 = 1
    public var samples: Int?
    public var dataDirectory = "data"

    public init() {}

    public static let title = "Synchronisation: local, dsgd, periodic averaging, GM and FGM with the same learner"

    /// The learner and the data of `dataSet`: the paper's data settings, the thesis's learner.
    public func baseConfiguration(_ dataSet: DataSet) -> TrainingConfiguration {
        var configuration: TrainingConfiguration
        switch dataSet {
        case .fx: configuration = .paper(.fx, dataDirectory: dataDirectory)
        case .sentiment: configuration = .paper(.sentiment, dataDirectory: dataDirectory)
        case .teacher: configuration = TrainingConfiguration()
        }
        (configuration.hidden, configuration.optimizer, configuration.learningRate) = (hidden, optimizer, learningRate)
        (configuration.seed, configuration.samples) = (seed, samples)
        return configuration
    }

    /// Every run on `dataSet`, labelled as in the table: local, dsgd, avg-bB, gm-DELTA, fgm-THETA.
    public func runs(on dataSet: DataSet) -> [(label: String, configuration: TrainingConfiguration)] {
        let base = baseConfiguration(dataSet)
        func with(_ algorithm: Algorithm, _ change: (inout TrainingConfiguration) -> Void = { _ in })
            -> TrainingConfiguration
        {
            var configuration = base
            configuration.algorithm = algorithm
            change(&configuration)
            return configuration
        }
        // Local: the same learners from the same common start, never synchronised (GM at Delta = inf).
        var runs = [("local", with(.gm) { $0.threshold = .infinity }), ("dsgd", with(.dsgd))]
        runs += periods.map { b in ("avg-b\(b)", with(.avg) { $0.syncEvery = b }) }
        for algorithm in [Algorithm.gm, .fgm] {
            runs += thresholds.map { t in ("\(algorithm.rawValue)-\(compact(t))", with(algorithm) { $0.threshold = t })
            }
        }
        return runs
    }
}

/// DIR/table.md and .csv, DIR/frontier.svg (final MSE against bytes per node) and DIR/mse.svg for
/// the runs of a sync experiment in DIR/RUN/; returns the Markdown table.
public func plotSyncResults(in directory: String, title: String) throws -> String {
    let manager = FileManager.default
    let entries = ((try? manager.contentsOfDirectory(atPath: directory)) ?? []).sorted()
    let runs = try entries.filter { manager.fileExists(atPath: "\(directory)/\($0)/summary.json") }.map {
        try RunSummary(path: "\(directory)/\($0)/summary.json")
    }
    guard !runs.isEmpty else { throw RunError("\(directory): no */summary.json to plot") }
    /// The runs of one protocol, by their setting (b, or the threshold) ascending.
    func family(_ prefix: String) -> [RunSummary] {
        func setting(_ run: RunSummary) -> Double {
            Double(run.label.dropFirst(prefix.count + 1).trimmingCharacters(in: CharacterSet(charactersIn: "b"))) ?? 0
        }
        return runs.filter { $0.label.hasPrefix(prefix + "-") }.sorted { setting($0) < setting($1) }
    }
    var series = ["avg", "gm", "fgm"].map { name in
        Series(
            name, points: family(name).map { (x: $0.meanBytesPerNode, y: $0.finalMSE) }.sorted { $0.x < $1.x },
            markers: true)
    }
    let bytes = runs.map(\.meanBytesPerNode).filter { $0 > 0 }
    for run in runs where run.label == "dsgd" {
        series.append(Series("dsgd", points: [(run.meanBytesPerNode, run.finalMSE)], markers: true))
    }
    for run in runs where run.label == "local" && !bytes.isEmpty {
        series.append(
            Series(
                "local", points: [(bytes.min()!, run.finalMSE), (bytes.max()!, run.finalMSE)],
                isReference: true))
    }
    // The differences are a few per cent: a range around the values, not from zero.
    let values = series.flatMap { $0.points.map(\.y) }
    let margin = max((values.max()! - values.min()!) * 0.1, values.max()! * 0.01)
    let mseRange = (values.min()! - margin)...(values.max()! + margin)
    let frontier = Figure(
        title: title,
        panels: [
            .lines(
                title: "Final MSE (last 10%) against bytes sent per node", x: Axis("bytes per node", logarithmic: true),
                y: Axis("final MSE", range: mseRange), series: series)
        ])
    let mse = Figure(
        title: title,
        panels: [
            .lines(
                title: "Time-averaged MSE (mean over nodes)", x: Axis("samples per node"),
                y: Axis("MSE", logarithmic: true), series: runs.map { Series($0.label, points: $0.curve) })
        ])
    let ordered =
        runs.filter { $0.label == "local" } + runs.filter { $0.label == "dsgd" }
        + ["avg", "gm", "fgm"].flatMap { family($0) }
    var table = ResultTable(
        headings: [
            "run", "final MSE", "bytes per node", "messages per node", "full syncs", "balancing syncs", "rounds",
            "subrounds", "mean divergence",
        ],
        csvHeadings: [
            "run", "final_mse", "bytes_per_node", "messages_per_node", "full_syncs", "balancing_syncs", "rounds",
            "subrounds", "divergence",
        ])
    for run in ordered {
        let counts = [\.fullSyncs, \.balancingSyncs, \.rounds, \.subrounds].map {
            (count: KeyPath<RunSummary.SyncSummary, Int>) in
            run.sync.map { compact(Double($0[keyPath: count])) } ?? ""
        }
        let divergence = run.sync?.divergenceMean
        table.append(
            [
                run.label, String(format: "%.4g", run.finalMSE), compact(run.meanBytesPerNode),
                compact(run.meanMessagesPerNode),
            ] + counts + [divergence.map { String(format: "%.3g", $0) } ?? ""],
            csv: [run.label, exact(run.finalMSE), exact(run.meanBytesPerNode), exact(run.meanMessagesPerNode)]
                + counts + [divergence.map(exact) ?? ""])
    }
    let markdown = table.markdown
    try writeAtomically(Data(frontier.svg().utf8), to: directory + "/frontier.svg")
    try writeAtomically(Data(mse.svg().utf8), to: directory + "/mse.svg")
    try writeAtomically(Data((markdown + "\n").utf8), to: directory + "/table.md")
    try writeAtomically(Data(table.csv.utf8), to: directory + "/table.csv")
    return markdown
}
