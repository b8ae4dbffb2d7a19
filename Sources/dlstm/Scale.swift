import ArgumentParser
import Experiments
import Foundation
import Runs

struct Scale: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "A scaling study: one training configuration over rank counts, strong and weak.",
        discussion: """
            Runs `dlstm train` (or `dlstm elm fit`, --command elm-fit) once per rank count and repeat through a \
            launcher (not itself under mpirun), reads each run's summary.json, and writes DIR/scaling.json, \
            DIR/scaling.md and .csv, and the figure DIR/scaling.svg (speedup and parallel efficiency against ranks).

            strong: the network-wide number of samples is fixed (--total-samples); each of R nodes takes total/R steps.
            weak: each node takes --samples-per-node steps, whatever R.
            --nodes K: the same K-node graph at every rank count (dealt to the ranks in blocks), each node taking
            total/K steps: strong scaling of one fixed problem, which is then the only mode.

            With T(R) the mean wall time of the repeats at R ranks and R0 the smallest rank count:
              strong: speedup S(R) = R0 T(R0) / T(R),  efficiency E(R) = S(R) / R
              weak:   efficiency E(R) = T(R0) / T(R),  scaled speedup S(R) = R E(R)
            so E = 1 is perfect scaling, and with R0 = 1 these are the textbook S = T(1)/T(R) and E = S/R.

            Options after -- go to every run (the default trains DPF on the synthetic teacher on a ring). elm fit's \
            time is its fit, from the first feature row to beta on every rank (not the reading of the data).

              dlstm scale --ranks 1,2,4 --launcher "scripts/mpirun-local -np {ranks}"
              dlstm scale --mode weak --ranks 2,4,8 --launcher "srun --mpi=pmix -n {ranks}" -- --algorithm dekf
              dlstm scale --command elm-fit --ranks 1,2,4 --total-samples 100000 -- --hidden 256 --teacher-hidden 2
              dlstm scale --nodes 64 --ranks 1,2,4,8 --launcher "srun --mpi=pmix -n {ranks}" -- --algorithm dekf
              dlstm scale --collect results/scale     # tabulate runs a Slurm job array made (jobs/scale-array.sbatch)
            """
    )

    @Option(help: "train or elm-fit: the command every run times.") var command = ScaledCommand.train
    @Option(help: "Comma-separated rank counts.") var ranks = "1,2,4"
    @Option(help: "strong, weak or both (default: both; strong with --nodes).") var mode: ScalingMode?
    @Option(
        help: ArgumentHelp(
            "A graph of K nodes at every rank count (each at most K), instead of one node per rank.", valueName: "K"))
    var nodes: Int?
    @Option(help: "Runs per point (the table shows min, mean and max).") var repeats = 3
    @Option(help: "strong: samples over the whole network.") var totalSamples = 2400
    @Option(help: "weak: samples per node.") var samplesPerNode = 400
    @Option(
        help: ArgumentHelp(
            "How to start R ranks; {ranks} is replaced by R. Examples: \"mpirun -np {ranks}\", \"srun --mpi=pmix -n "
                + "{ranks}\", \"scripts/mpirun-local -np {ranks}\".",
            valueName: "COMMAND"))
    var launcher = "mpirun -np {ranks}"

    @OptionGroup var output: OutputOptions

    @Option(
        help: ArgumentHelp(
            "Only tabulate and plot the runs already in DIR (named MODE-rR-I, e.g. strong-r4-1).", valueName: "DIR"))
    var collect: String?

    @Argument(parsing: .postTerminator, help: "Options for every run.") var trainOptions: [String] = []

    var rankCounts: [Int] { ranks.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) } }

    func validate() throws {
        guard !rankCounts.isEmpty, rankCounts.count == ranks.split(separator: ",").count,
            rankCounts.allSatisfy({ $0 >= 1 })
        else {
            throw ValidationError("--ranks \(ranks): expected positive integers separated by commas, e.g. 1,2,4")
        }
        guard repeats >= 1 else { throw ValidationError("--repeats \(repeats): must be at least 1") }
        guard launcher.contains("{ranks}") else {
            throw ValidationError("--launcher \(launcher): must contain {ranks}, replaced by the rank count")
        }
        if let k = nodes {
            guard k >= rankCounts.max()! else {
                throw ValidationError("--nodes \(k): fewer graph nodes than the \(rankCounts.max()!) ranks of --ranks")
            }
            guard mode == nil || mode == .strong else {
                throw ValidationError(
                    "--mode \(mode!.rawValue): --nodes fixes the graph, so only strong scaling applies (--mode strong)")
            }
        }
        guard totalSamples >= nodes ?? rankCounts.max()!, samplesPerNode >= 1 else {
            throw ValidationError(
                "--total-samples must give every node a sample, --samples-per-node must be at least 1")
        }
    }

    func run() throws {
        do {
            var directory = collect
            if directory == nil {
                let mode = self.mode ?? (nodes == nil ? .both : .strong)
                var study = ScalingStudy(
                    modes: mode == .both ? [.strong, .weak] : [mode], rankCounts: rankCounts, repeats: repeats,
                    totalSamples: totalSamples, samplesPerNode: samplesPerNode, launcher: launcher,
                    trainArguments: trainOptions, directory: output.out ?? "results/scale")
                study.command = command
                study.nodes = nodes
                try study.run(executable: CommandLine.arguments[0], log: output.quiet ? nil : { print($0) })
                directory = study.directory
            }
            let written = try plotResults(in: try writeScalingTable(directory: directory!), title: nil)
            if let table = written.table { print(table) }
            if !output.quiet { for file in written.files { print("wrote \(file)") } }
        } catch {
            exitReporting(error)
        }
    }
}

extension ScalingMode: ExpressibleByArgument {}
extension ScaledCommand: ExpressibleByArgument {}
