import ArgumentParser
import Benchmarks
import MPI
import Numerics

struct BenchDistributed: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "distributed",
        abstract:
            "Bytes per step of the distributed trainers, and the DPF's step time split into compute and communication.",
        discussion: """
            Runs on a ring of all ranks with the synthetic teacher (p = 2). First, bytes sent per
            node and step by DPF, DEKF, diffusion SGD and the centralized PF for n = 2, 8, 32
            (DEKF at n = 32 exchanges a 4576 x 4576 covariance: one step, a few seconds and ~1 GB
            per rank; --skip-large leaves it out). Then the DPF at the paper's size (N = 80, s = 3,
            n = 2): time per step, compute and communication, next to s raw neighbour exchanges
            of the same bytes through the C API (the `bench mpi` ring exchange), measured in the
            same run. The paper's setting is 4 ranks:

              scripts/mpirun-local -np 4 .build/release/dlstm bench distributed
            """
    )

    @Option(help: "DPF steps timed at the paper's size.") var steps = 200
    @Flag(help: "Leave out DEKF at n = 32.") var skipLarge = false

    func run() throws {
        MPI.run { world in
            useOneBLASThreadPerProcess()
            try runDistributedBenchmark(world: world, steps: steps, skipLarge: skipLarge)
        }
    }
}
