import Distributed
import Foundation
import Runs

/// `dlstm experiment NAME`: the paper's two, the FGM thesis's comparison of synchronisation
/// protocols, or Theorem 1 as a figure.
public enum ExperimentName: String, CaseIterable, Sendable {
    case fx, sentiment, sync, convergence

    public var paper: PaperExperiment? { PaperExperiment(rawValue: rawValue) }

    public var title: String {
        switch self {
        case .fx, .sentiment: paper!.title
        case .sync: SyncExperiment.title
        case .convergence: ConvergenceExperiment.title
        }
    }
}

/// An experiment's runs, in groups that share a results directory, a table and figures, and how
/// they are run one after another on the same processes. The CLI fills it from its options; a test
/// runs it in one process.
public struct ExperimentPlan {
    public var name: ExperimentName
    /// fx and sentiment: the runs, by name (`ExperimentRun`); the paper's by default.
    public var runs = ExperimentRun.paperRuns
    /// Steps per node (nil: all the data).
    public var samples: Int?
    /// sync: n, the LSTM's hidden size.
    public var hidden = 2
    public var seed: UInt64 = 1
    /// The directory holding fx/ and sentiment/.
    public var dataDirectory = "data"
    /// Each run's control (its results directory is set by the plan) and observer. An experiment
    /// owns its directory: running it again replaces its runs' results (`overwrite`); each run still
    /// locks its own directory, so two experiments at once on one directory stop at the first run.
    public var control = {
        var control = RunControl()
        control.overwrite = true
        return control
    }()
    public var observer: () -> RunObserver? = { nil }

    public init(name: ExperimentName) { self.name = name }

    public struct Group {
        public var directory: String
        public var title: String
        public var runs: [TrainingRun]
    }

    /// The runs of fx, sentiment or sync, their results in `directory` (sync: DIR/DATA/RUN).
    public func groups(directory: String) -> [Group] {
        func training(_ configuration: TrainingConfiguration, label: String, in directory: String) -> TrainingRun {
            var control = control
            control.resultsDirectory = "\(directory)/\(label)"
            return TrainingRun(configuration: configuration, control: control, label: label, observer: observer())
        }
        guard let paper = name.paper else {
            var sync = SyncExperiment()
            (sync.seed, sync.samples, sync.dataDirectory, sync.hidden) = (seed, samples, dataDirectory, hidden)
            return SyncExperiment.DataSet.allCases.map { data in
                let group = "\(directory)/\(data.rawValue)"
                let title = "avg, gm, fgm on \(data.rawValue), n = \(sync.hidden), Adam (mu = \(sync.learningRate))"
                let runs = sync.runs(on: data).map { training($0.configuration, label: $0.label, in: group) }
                return Group(directory: group, title: title, runs: runs)
            }
        }
        var base = TrainingConfiguration.paper(paper, dataDirectory: dataDirectory)
        (base.seed, base.samples) = (seed, samples)
        let runs = runs.map { training($0.applied(to: base), label: $0.name, in: directory) }
        return [Group(directory: directory, title: paper.title, runs: runs)]
    }

    /// Runs every group, each run on a fresh network from `network` (so its traffic counts start at
    /// zero), then writes each group's table and figures at the reporter. Collective. `log` gets the
    /// lines a person reads (the reporter's only), the tables among them.
    public func run(
        _ groups: [Group], directory: String, context: RunContext, isReporter: Bool, log: ((String) -> Void)? = nil,
        network: () throws -> Network
    ) throws {
        let log = isReporter ? log : nil
        let start = DispatchTime.now().uptimeNanoseconds
        log?("dlstm experiment \(name.rawValue): \(name.title)")
        log?("  nodes \(context.placement)")
        for line in context.environmentLines { log?("  " + line) }
        log?(
            "  runs: \(groups[0].runs.map(\.label).joined(separator: ", ")); results in \(directory); "
                + "each run's full configuration in RUN/config.toml there")
        for group in groups {
            if groups.count > 1 { log?("\n" + group.title) }
            for run in group.runs { _ = try run.run(on: network(), context: context) }
            guard isReporter else { continue }
            let table =
                name.paper == nil
                ? try plotSyncResults(in: group.directory, title: group.title)
                : try plotResults(in: group.directory, title: group.title).table
            if let table { log?("\n" + table) }
        }
        let seconds = String(format: "%.1f", Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        let figures =
            name.paper == nil
            ? "Figures: \(directory)/DATA/frontier.svg (final MSE against bytes per node), DATA/mse.svg"
            : "Figure: \(directory)/mse.svg (MSE curves); also \(directory)/communication.svg"
        log?("\n\(groups.map(\.runs.count).reduce(0, +)) runs in \(seconds) s. \(figures); tables in table.md")
    }

    /// Theorem 1 as a figure, always in one process: every run, then the table and figure in
    /// `directory`. Returns the Markdown table.
    public func runConvergence(directory: String, log: ((String) -> Void)? = nil) throws -> String {
        var experiment = ConvergenceExperiment()
        (experiment.seed, experiment.samples) = (seed, samples ?? experiment.samples)
        let start = DispatchTime.now().uptimeNanoseconds
        log?("dlstm experiment convergence: \(ConvergenceExperiment.title)")
        let points = try experiment.measure { log?("  \($0)") }
        let table = try experiment.write(points, to: directory)
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        log?("\n" + table)
        let runs = points.count + experiment.topologies.count * experiment.particles.count
        log?(
            "\(runs) runs in \(String(format: "%.1f", seconds)) s. Figure: \(directory)/convergence.svg; "
                + "tables in table.md")
        return table
    }
}
