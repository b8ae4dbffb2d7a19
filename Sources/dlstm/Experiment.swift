import ArgumentParser
import Distributed
import Experiments
import Foundation
import MPI
import Numerics
import Runs

struct Experiment: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Reproduce an experiment of the sources: every algorithm, a table and a figure.",
        discussion: """
            Runs SGD, diffusion SGD, EKF, DEKF, PF, DPF (the paper's simple walk, and a Metropolis walk that \
            mixes), the centralized PF, each PF-family run again with --observation-noise auto (pf-auto, \
            dpf-auto, dpf-metropolis-auto, cpf-auto: Var[eps] estimated from the prediction errors), and the \
            ELM-trained LSTM locally and distributed (M = 64 fixed random \
            units, readout by recursive least squares; delm combines triangles over a spanning tree every 10 steps), \
            one after another in the same MPI job, on the paper's settings (Ergen & Kozat 2018, section 4) with \
            the bundled real data, then writes \
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

            sync: the FGM thesis's comparison, on fx, sentiment and a synthetic teacher (DIR/DATA/RUN/): the same \
            learner (Adam, mu = 0.01) locally, by diffusion SGD, by periodic averaging every b = 1, 4, 16 steps, and \
            by GM and FGM at thresholds 1e-4 to 0.1; per data set a table (final MSE, bytes and messages per node, \
            syncs, rounds, divergence), DIR/DATA/frontier.svg (final MSE against bytes per node) and mse.svg. \
            --hidden sets n (D = 42 at n = 2, 1232 at n = 16). avg, gm and fgm talk over a star around node 0.

              mpirun -np 4 dlstm experiment sync --out results/sync

            convergence: Theorem 1 as a figure, always in one process (each run is bit-identical to its \
            mpirun twin): on a synthetic teacher (n = p = 1, label noise 0.01) over 9 nodes on a ring and a 3x3 \
            torus, the DPF with the simple, lazy and Metropolis walks at s = 1, 2, 3, 5, 10, 20 moves and N = 80 \
            and 320 against the centralized PF with the same K N particles: the mean abs(d_hat DPF - d_hat CPF), \
            the final-MSE gap, and each walk's SLEM^s; DIR/table.md, table.csv and convergence.svg \
            (--samples steps per node, default 300).

              dlstm experiment convergence --out results/convergence
            """
    )

    @Argument(help: "The experiment: fx, sentiment (the paper's), sync (the FGM thesis's) or convergence (Theorem 1).")
    var name: ExperimentName
    @OptionGroup var output: OutputOptions
    @OptionGroup var launch: LaunchOptions

    @Option(help: "Comma-separated runs: \(ExperimentRun.grammar).")
    var algorithms = ExperimentRun.paperRuns.map(\.name).joined(separator: ",")

    @Option(help: "Steps per node (default: all the data: 466 for fx, 1050 for sentiment on 4 nodes).")
    var samples: Int?

    @Option(help: "sync: n, the LSTM's hidden size (default 2).") var hidden: Int?
    @Option(help: "Random seed.", transform: seedValue) var seed: UInt64 = 1
    @Option(help: ArgumentHelp("The directory holding fx/ and sentiment/.", valueName: "DIR"))
    var dataDirectory = "data"

    var runs: [ExperimentRun] {
        algorithms.split(separator: ",").compactMap { ExperimentRun(name: $0.trimmingCharacters(in: .whitespaces)) }
    }

    func validate() throws {
        let names = algorithms.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        if let unknown = names.first(where: { ExperimentRun(name: $0) == nil }) {
            throw ValidationError("--algorithms: unknown run '\(unknown)'; expected some of \(ExperimentRun.grammar)")
        }
        guard !names.isEmpty else { throw ValidationError("--algorithms: name at least one run") }
        if let samples, samples < 1 { throw ValidationError("--samples \(samples): must be at least 1") }
        if let hidden, hidden < 1 || name != .sync {
            throw ValidationError("--hidden \(hidden): the sync experiment's, at least 1 (the paper's use n = 2)")
        }
    }

    /// The plan these options make.
    var plan: ExperimentPlan {
        var plan = ExperimentPlan(name: name)
        (plan.runs, plan.samples, plan.hidden) = (runs, samples, hidden ?? 2)
        (plan.seed, plan.dataDirectory) = (seed, dataDirectory)
        plan.control.progressSeconds = output.quiet ? 0 : launch.progressEvery
        plan.observer = { [quiet = output.quiet] in quiet ? nil : ConsoleObserver(banner: false) }
        return plan
    }

    func run() throws {
        useOneBLASThreadPerProcess()
        let directory = output.out ?? "results/\(name.rawValue)"
        let log: ((String) -> Void)? = output.quiet ? nil : { print($0) }
        let plan = plan
        if name == .convergence {
            try runInProcess { _ = try plan.runConvergence(directory: directory, log: log) }
            return
        }
        let groups = plan.groups(directory: directory)
        if let k = launch.inProcess {
            try runInProcess {
                try plan.run(groups, directory: directory, context: .inProcess, isReporter: true, log: log) {
                    InProcessNetwork(topology: try Topology.ring(k))
                }
            }
        } else {
            runUnderMPI { world in
                try plan.run(
                    groups, directory: directory, context: try RunContext(world: world), isReporter: world.rank == 0,
                    log: log
                ) { try makeMPINetwork(world: world, topology: "ring", seed: seed, nodes: launch.nodes) }
            }
        }
    }
}
