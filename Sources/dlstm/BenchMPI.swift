import ArgumentParser
import Benchmarks
import Foundation
import MPI
import MPIBenchmark

struct BenchMPI: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mpi",
        abstract: "Ping-pong latency and ring neighbour exchange: the Swift binding against the C API.",
        discussion: """
            Ping-pong runs between ranks 0 and 1 (one-way time = round trip / 2); the neighbour
            exchange runs on a ring of all ranks (neighbour alltoallv with counts exchanged first;
            the slowest rank's time is reported). Each size is measured in rounds that alternate
            binding and C API. 'best' columns are the fastest round of each (noise only adds
            time, so this is the cleaner estimate of the binding's own cost), 'median' the median
            round; ratio = binding / C API, so 1.05 means the binding adds 5%. Needs at least 2 ranks; the issue's \
            figure uses 4:

              scripts/mpirun-local -np 4 .build/release/dlstm bench mpi
            """
    )

    @Option(help: "Smallest message in bytes.") var minBytes = 8
    @Option(help: "Largest message in bytes (4 MiB by default).") var maxBytes = 4 << 20
    @Option(help: "Rounds per message size, alternating binding and C API.") var rounds = 11
    @Flag(help: "A short run with fewer iterations, to check the benchmark works (not for figures).") var quick = false

    func validate() throws {
        guard minBytes >= 1, maxBytes >= minBytes else {
            throw ValidationError("--min-bytes must be at least 1 and at most --max-bytes")
        }
        guard rounds >= 1 else { throw ValidationError("--rounds must be at least 1") }
    }

    func run() throws {
        let sizes = MPIBenchmark.sizes(from: minBytes, to: maxBytes)
        let scale = quick ? 0.05 : 1.0
        let rounds = quick ? min(self.rounds, 3) : self.rounds
        MPI.run { world in
            try runMPIBenchmark(world: world, sizes: sizes, rounds: rounds, scale: scale)
        }
    }
}
