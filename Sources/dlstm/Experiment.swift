import ArgumentParser
import Distributed
import Foundation
import MPI
import Numerics

struct Experiment: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Reproduce one of the paper's experiments: every algorithm, a table and a figure.",
        discussion: """
            Runs SGD, diffusion SGD, EKF, DEKF, PF, DPF (the paper's simple walk, and a Metropolis walk that mixes), and the centralized PF, one after another in the same MPI job, on the paper's settings (Ergen & Kozat 2018, section 4) with the bundled real data, then writes DIR/ALGORITHM/{summary.json,node-K.csv,config.toml}, DIR/table.md and .csv, and the figures DIR/mse.svg (time-averaged MSE against samples, as the paper's Figs. 2 and 3) and DIR/communication.svg. `dlstm plot DIR` redraws them later.

            fx: daily GBP/USD rates 1980-1987 (the stand-in for the paper's Hong Kong dollar series), predict the next day from the previous two (p = 2), min-max scaled to [0, 1] over the whole series (the pound fell from 2.4 to 1.1 dollars: scaled from an early prefix, later values leave any range the LSTM's output reaches); n = 2, N = 80, Cov[gamma] = 0.0004 I, Var[eps] = 0.01, s = 3, mu = 0.1.

            sentiment: 4200 VADER tweets, each word a 2-d vector (the lexicon's mean valence and its standard deviation; unknown words skipped), label = human sentiment / 4 (in [-1, 1]); n = 2, N = 50, Cov[gamma] = 0.025^2 I, Var[eps] = 0.01, s = 3, mu = 0.055.

            The paper's network is a 4-node ring: run under `mpirun -np 4`. Other rank counts run the same on a ring of that size.

              mpirun -np 4 dlstm experiment fx       # writes results/fx
              mpirun -np 4 dlstm experiment sentiment --out runs/sentiment
              dlstm experiment fx --in-process 4     # no MPI: 4 nodes in one process
            """
    )

    @Argument(help: "fx or sentiment.")
    var name: String

    @Option(help: ArgumentHelp("Where to write the results (default: results/NAME).", valueName: "DIR"))
    var out: String?

    @Option(help: "Comma-separated runs: sgd, dsgd, ekf, dekf, pf, dpf, dpf-metropolis, dpf-lazy, cpf.")
    var algorithms = "sgd,dsgd,ekf,dekf,pf,dpf,dpf-metropolis,cpf"

    @Option(help: "Steps per node (default: all the data: 466 for fx, 1050 for sentiment on 4 nodes).")
    var samples: Int?

    @Option(help: "Random seed.")
    var seed: UInt64 = 1

    @Option(help: ArgumentHelp("The directory holding fx/ and sentiment/.", valueName: "DIR"))
    var dataDirectory = "data"

    @Option(help: ArgumentHelp("Simulate K nodes in one process instead of one per MPI rank.", valueName: "K"))
    var inProcess: Int?

    @Option(help: ArgumentHelp("Progress lines about every this many seconds (0: never).", valueName: "SECONDS"))
    var progressEvery = 5.0

    @Flag(help: "Print nothing but errors.")
    var quiet = false

    @Option(help: ArgumentHelp("A TOML or JSON file of these options (e.g. algorithms = \"pf,dpf\").", valueName: "FILE"))
    var config: String?

    static let variants = ["sgd", "dsgd", "ekf", "dekf", "pf", "dpf", "dpf-metropolis", "dpf-lazy", "cpf"]

    var runs: [String] { algorithms.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } }

    func validate() throws {
        guard ["fx", "sentiment"].contains(name) else { throw ValidationError("experiment \(name): expected fx or sentiment") }
        if let unknown = runs.first(where: { !Experiment.variants.contains($0) }) {
            throw ValidationError("--algorithms: unknown run '\(unknown)'; expected some of \(Experiment.variants.joined(separator: ", "))")
        }
        guard !runs.isEmpty else { throw ValidationError("--algorithms: name at least one run") }
        if let samples, samples < 1 { throw ValidationError("--samples \(samples): must be at least 1") }
        if let k = inProcess, k < 1 { throw ValidationError("--in-process \(k): must be at least 1 node") }
    }

    /// The paper's settings for this experiment (section 4), as `dlstm train` options.
    var paperSettings: [String] {
        switch name {
        case "fx":
            return ["--data", "\(dataDirectory)/fx/garch_daily_usd_1980_1987.csv", "--column", "bp", "--lags", "2", "--normalize", "minmax", "--normalize-prefix", "1867",
                    "--hidden", "2", "--particles", "80", "--jitter", "0.0004", "--observation-noise", "0.01", "--learning-rate", "0.1"]
        default:
            return ["--data", "\(dataDirectory)/sentiment/tweets_GroundTruth.txt", "--word-vectors", "\(dataDirectory)/sentiment/vader_lexicon.txt",
                    "--label-scale", "0.25", "--hidden", "2", "--particles", "50", "--jitter", "0.000625", "--observation-noise", "0.01",
                    "--learning-rate", "0.055"]
        }
    }

    var title: String {
        name == "fx"
            ? "FX: next-day GBP/USD from the two days before (ring, N = 80, s = 3)"
            : "Sentiment: VADER tweets, 2-d word vectors (ring, N = 50, s = 3)"
    }

    func trainCommand(run: String, directory: String) throws -> Train {
        let parts = run.split(separator: "-", maxSplits: 1).map(String.init)
        var arguments = paperSettings + ["--algorithm", parts[0], "--walk-steps", "3", "--walk", parts.count > 1 ? parts[1] : "simple",
                                         "--seed", "\(seed)", "--out", "\(directory)/\(run)", "--progress-every", "\(progressEvery)"]
        if let samples { arguments += ["--samples", "\(samples)"] }
        if quiet { arguments.append("--quiet") }
        return try Train.parse(arguments)
    }

    func run() throws {
        useOneBLASThreadPerProcess()
        let directory = out ?? "results/\(name)"
        let commands = try runs.map { try trainCommand(run: $0, directory: directory) }
        if let k = inProcess {
            try runInProcess(nodes: k, seed: seed) { _ in
                try experiment(commands: commands, directory: directory, context: .inProcess, isReporter: true) {
                    InProcessNetwork(topology: try Topology.named("ring", nodes: k, seed: seed))
                } agree: { if let failure = $0 { throw failure } }
            }
            return
        }
        let options = self
        MPI.run { world in
            let context = try RunContext(world: world)
            try options.experiment(commands: commands, directory: directory, context: context, isReporter: world.rank == 0) {
                try makeNetwork(world: world, topology: "ring", seed: options.seed)!
            } agree: { try exitTogetherIfAnyFailed(world: world, failure: $0) }
        }
    }

    private func experiment(commands: [Train], directory: String, context: RunContext, isReporter: Bool,
                            network: () throws -> Network, agree: (InputError?) throws -> Void) throws {
        let talk = isReporter && !quiet
        let start = DispatchTime.now().uptimeNanoseconds
        if talk {
            print("dlstm experiment \(name): \(title)")
            print("  nodes \(context.placement)")
            for line in context.environmentLines { print("  " + line) }
            print("  runs: \(runs.joined(separator: ", ")); results in \(directory); each run's full configuration in \(directory)/RUN/config.toml")
        }
        for (index, command) in commands.enumerated() {
            // A fresh graph communicator per run, so each run's traffic counts start at zero.
            _ = try command.execute(network: network(), context: context, banner: false, label: runs[index], agree: agree)
        }
        guard isReporter else { return }
        let written = try plotResults(in: directory, title: title)
        if talk {
            print("")
            if let table = written.table { print(table) }
            let seconds = String(format: "%.1f", Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
            print("\n\(commands.count) runs in \(seconds) s. Figure: \(directory)/mse.svg (MSE curves); also \(directory)/communication.svg, \(directory)/table.md")
        }
    }
}
