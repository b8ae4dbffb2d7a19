import ArgumentParser
import Distributed
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

    @Option(help: "Combination rounds.")
    var rounds = 30

    func run() throws {
        let rounds = self.rounds
        MPI.run { world in
            let host = try MPI.processorName()
            let hosts = try world.gatherv(Array(host.utf8), root: 0)
            if let hosts, world.rank == 0 {
                let names = Set(hosts.map { String(decoding: $0, as: UTF8.self) }).sorted()
                print("dlstm demo: \(world.size) ranks on \(names.joined(separator: ", ")); \(try MPI.libraryVersion().split(separator: ",").first ?? "")")
            }
            let k = world.size
            let ring = try Topology.ring(k)
            let neighbors = ring.neighbors[world.rank]
            let graph = try world.distributedGraph(neighbors: neighbors)
            let weights = ring.metropolisWeights[world.rank]

            var value = Double(world.rank * world.rank)
            let mean = try world.allreduce(value, .sum) / Double(k)
            for round in 0...rounds {
                let spread = try world.allreduce(abs(value - mean), .max)
                if world.rank == 0 && (round % 5 == 0 || round == rounds) {
                    print("round \(pad(String(round), 3)): largest distance to the mean \(format(mean, 4)) is \(String(format: "%.3e", spread))")
                }
                if round == rounds { break }
                let received = try graph.neighborAllgather([value])
                value = weights[world.rank] * value + zip(neighbors, received).map { weights[$0] * $1[0] }.reduce(0, +)
            }
        }
    }
}
