import ArgumentParser
import Benchmarks
import Foundation
import MPI

struct Demo: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "A small multi-rank demo: consensus averaging on a ring, neighbours only.",
        discussion: """
            Each rank starts from its own value and repeatedly replaces it by a Metropolis-weighted
            average of its own and its ring neighbours' values, exchanged with neighbour collectives.
            Every rank converges to the network-wide mean without any central node: the same
            combination step DEKF and diffusion SGD use. Rank 0 gathers the spread for reporting.

              scripts/mpirun-local -np 4 .build/release/dlstm demo
            """
    )

    @Option(help: "Combination rounds.") var rounds = 30

    func run() throws {
        MPI.run { world in try runConsensusDemo(world: world, rounds: rounds) }
    }
}
