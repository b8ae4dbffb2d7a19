import ArgumentParser
import Benchmarks
import MPI
import Numerics

struct BenchELM: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "elm",
        abstract: """
            ELM feature generation against dgemm, elm fit against one process calling dgels, and accuracy per \
            second on FX against Adam and SGD.
            """,
        discussion: """
            Feature generation at M = 128 and 512 on rank 0, as a share of OpenBLAS dgemm's rate on the same \\
            product shape; then elm fit of --samples teacher rows at M = --fit-hidden over all ranks, time per \\
            phase, next to rank 0 alone building every row and calling dgels; then, on rank 0, the seconds the ELM \
            (at several M) and Adam and SGD (at M = --accuracy-hidden, epochs until --budget) take to reach a \
            held-out RMSE on --fx. Run at 1, 2 and 4 ranks:

              for r in 1 2 4; do scripts/mpirun-local -np $r .build/release/dlstm bench elm; done
            """)

    @Option(help: "Hidden sizes for the feature rate, comma-separated.") var hidden = "128,512"
    @Option(help: "Rows of the fit, over all ranks.") var samples = 100_000
    @Option(help: "M of the fit.") var fitHidden = 256
    @Option(help: "The series of the accuracy comparison (a CSV file), or none.")
    var fx = "data/fx/garch_daily_usd_1980_1987.csv"
    @Option(help: "Its column.") var fxColumn = "bp"
    @Option(help: "The ELM's hidden sizes in the accuracy comparison.") var accuracyELM = "8,32,128,512"
    @Option(help: "The hidden size of Adam and SGD there (and of the ELM the targets come from).")
    var accuracyHidden = 32
    @Option(help: "Seconds of training for each gradient trainer there.") var budget = 20.0

    func run() throws {
        let sizes = hidden.split(separator: ",").compactMap { Int($0) }
        MPI.run { world in
            useOneBLASThreadPerProcess()
            try runELMBenchmark(world: world, hiddenSizes: sizes, samples: samples, fitHidden: fitHidden)
            guard world.rank == 0, fx != "none" else { return }
            print("")
            let elmSizes = accuracyELM.split(separator: ",").compactMap { Int($0) }
            try AccuracyPerSecond(
                path: fx, column: fxColumn, elmHidden: elmSizes, gradientHidden: accuracyHidden, budgetSeconds: budget
            ).run { print($0) }
        }
    }
}
