import Distributed
import Foundation
import MPI

/// `dlstm demo`: consensus averaging on a ring, neighbours only. Each rank repeatedly replaces its
/// value by a Metropolis-weighted average of its own and its ring neighbours' values; every rank
/// converges to the network-wide mean, the combination step DEKF and diffusion SGD use.
public func runConsensusDemo(world: Communicator, rounds: Int) throws {
    let host = try MPI.processorName()
    let hosts = try world.gatherv(Array(host.utf8), root: 0)
    if let hosts, world.rank == 0 {
        let names = Set(hosts.map { String(decoding: $0, as: UTF8.self) }).sorted()
        let library = try MPI.libraryVersion().split(separator: ",").first ?? ""
        print("dlstm demo: \(world.size) ranks on \(names.joined(separator: ", ")); \(library)")
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
            print(
                "round \(pad(String(round), 3)): largest distance to the mean \(format(mean, 4)) is "
                    + String(format: "%.3e", spread))
        }
        if round == rounds { break }
        let received = try graph.neighborAllgather([value])
        value = weights[world.rank] * value + zip(neighbors, received).map { weights[$0] * $1[0] }.reduce(0, +)
    }
}
