import ArgumentParser
import Distributed
import Foundation
import MPI
import Numerics
import Runs

struct Experiment: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Reproduce one of the paper's experiments: every algorithm, a table and a figure.",
        discussion: """
            Runs SGD, diffusion SGD, EKF, DEKF, PF, DPF (the paper's simple walk, and a Metropolis walk that \
            mixes), and the centralized PF, one after another in the same MPI job, on the paper's settings (Ergen \
            & Kozat 2018, section 4) with the bundled real data, then writes \
            DIR/ALGORITHM/{summary.json,node-K.csv,config.toml}, DIR/table.md and .csv, and the figures \
            DIR/mse.svg (time-averaged MSE against samples, as the paper's Figs. 2 and 3) and \
            DIR/communication.svg. `dlstm plot DIR` redraws them later.

            fx: daily GBP/USD rates 1980-1987 (the stand-in for the paper's Hong Kong dollar series), predict the \
            next day from the previous two (p = 2), min-max scaled to [0, 1] over the whole series (the pound fell \
            from 2.4 to 1.1 dollars: scaled from an early prefix, later values leave any range the LSTM's output \
            reaches); n = 2, N = 80, Cov[gamma] = 0.0004 I, Var[eps] = 0.01, s = 3, mu = 0.1.

            sentiment: 4200 VADER tweets, each word a 2-d vector (the lexicon's mean valence and its standard \
            deviation; unknown words skipped), label = human sentiment / 4 (in [-1, 1]); n = 2, N = 50, \
            Cov[gamma] = 0.025^2 I, Var[eps] = 0.01, s = 3, mu = 0.055.

            The paper's network is a 4-node ring: run under `mpirun -np 4`. Other rank counts run the same on a \
            ring of that size.

              mpirun -np 4 dlstm experiment fx       # writes results/fx
              mpirun -np 4 dlstm experiment sentiment --out runs/sentiment
              dlstm experiment fx --in-process 4     # no MPI: 4 nodes in one process
            """
    )

    @Argument(help: "The experiment.") var name: PaperExperiment
    @OptionGroup var output: OutputOptions
    @OptionGroup var launch: LaunchOptions

    @Option(help: "Comma-separated runs: \(ExperimentRun.allCases.map(\.rawValue).joined(separator: ", ")).")
    var algorithms = ExperimentRun.paperRuns.map(\.rawValue).joined(separator: ",")

    @Option(help: "Steps per node (default: all the data: 466 for fx, 1050 for sentiment on 4 nodes).")
    var samples: Int?

    @Option(help: "Random seed.") var seed: UInt64 = 1
    @Option(help: ArgumentHelp("The directory holding fx/ and sentiment/.", valueName: "DIR"))
    var dataDirectory = "data"

    var runs: [ExperimentRun] {
        algorithms.split(separator: ",").compactMap { ExperimentRun(rawValue: $0.trimmingCharacters(in: .whitespaces)) }
    }

    func validate() throws {
        let names = algorithms.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        if let unknown = names.first(where: { ExperimentRun(rawValue: $0) == nil }) {
            throw ValidationError(
                "--algorithms: unknown run '\(unknown)'; expected some of "
                    + ExperimentRun.allCases.map(\.rawValue).joined(separator: ", "))
        }
        guard !names.isEmpty else { throw ValidationError("--algorithms: name at least one run") }
        if let samples, samples < 1 { throw ValidationError("--samples \(samples): must be at least 1") }
    }

    func run() throws {
        useOneBLASThreadPerProcess()
        let directory = output.out ?? "results/\(name.rawValue)"
        var base = TrainingConfiguration.paper(name, dataDirectory: dataDirectory)
        (base.seed, base.samples) = (seed, samples)
        let runs = self.runs.map { run in
            var control = RunControl()
            control.resultsDirectory = "\(directory)/\(run.rawValue)"
            control.progressSeconds = output.quiet ? 0 : launch.progressEvery
            return TrainingRun(
                configuration: run.applied(to: base), control: control, label: run.rawValue,
                observer: output.quiet ? nil : ConsoleObserver(banner: false))
        }
        if let k = launch.inProcess {
            try runInProcess {
                try experiment(runs, directory: directory, context: .inProcess, isReporter: true) {
                    InProcessNetwork(topology: try Topology.ring(k))
                }
            }
        } else {
            runUnderMPI { world in
                try experiment(
                    runs, directory: directory, context: try RunContext(world: world), isReporter: world.rank == 0
                ) {
                    try makeMPINetwork(world: world, topology: "ring", seed: seed)
                }
            }
        }
    }

    private func experiment(
        _ runs: [TrainingRun], directory: String, context: RunContext, isReporter: Bool,
        network: () throws -> Network
    ) throws {
        let talk = isReporter && !output.quiet
        let start = DispatchTime.now().uptimeNanoseconds
        if talk {
            print("dlstm experiment \(name.rawValue): \(name.title)")
            print("  nodes \(context.placement)")
            for line in context.environmentLines { print("  " + line) }
            print(
                "  runs: \(runs.map(\.label).joined(separator: ", ")); results in \(directory); "
                    + "each run's full configuration in \(directory)/RUN/config.toml")
        }
        // A fresh graph communicator per run, so each run's traffic counts start at zero.
        for run in runs { _ = try run.run(on: network(), context: context) }
        guard isReporter else { return }
        let written = try plotResults(in: directory, title: name.title)
        if talk {
            print("")
            if let table = written.table { print(table) }
            let seconds = String(format: "%.1f", Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
            print(
                "\n\(runs.count) runs in \(seconds) s. Figure: \(directory)/mse.svg (MSE curves); "
                    + "also \(directory)/communication.svg, \(directory)/table.md")
        }
    }
}
