import ArgumentParser
import Benchmarks
import MPI
import Numerics

struct BenchELM: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "elm",
        abstract: "ELM feature generation against dgemm, and elm fit against one process calling dgels.",
        discussion: """
            Feature generation at M = 128 and 512 on rank 0, as a share of OpenBLAS dgemm's rate on the same \\
            product shape; then elm fit of --samples teacher rows at M = --fit-hidden over all ranks, time per \\
            phase, next to rank 0 alone building every row and calling dgels. Run at 1, 2 and 4 ranks:

              for r in 1 2 4; do scripts/mpirun-local -np $r .build/release/dlstm bench elm; done
            """)

    @Option(help: "Hidden sizes for the feature rate, comma-separated.") var hidden = "128,512"
    @Option(help: "Rows of the fit, over all ranks.") var samples = 100_000
    @Option(help: "M of the fit.") var fitHidden = 256

    func run() throws {
        let sizes = hidden.split(separator: ",").compactMap { Int($0) }
        MPI.run { world in
            useOneBLASThreadPerProcess()
            try runELMBenchmark(world: world, hiddenSizes: sizes, samples: samples, fitHidden: fitHidden)
        }
    }
}
