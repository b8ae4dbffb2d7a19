import Distributed
import MPI

/// Under MPI: the graph communicator for the configured topology, of `nodes` nodes (default: one
/// per rank) dealt to the ranks in blocks. A topology the ranks cannot use is one collective error
/// on every rank.
public func makeMPINetwork(world: Communicator, topology: String, seed: UInt64, nodes: Int? = nil) throws
    -> MPINetwork
{
    var network: MPINetwork?
    var failure: RunError?
    do {
        let k = nodes ?? world.size
        guard k >= world.size else {
            throw RunError(
                "--nodes \(k): fewer graph nodes than the \(world.size) ranks; give at least \(world.size), "
                    + "or start fewer ranks", status: .topology)
        }
        network = try MPINetwork(world: world, topology: try Topology.named(topology, nodes: k, seed: seed))
    } catch let error as TopologyError {
        failure = RunError(error)
    } catch let error as RunError {
        failure = error
    }
    if let error = RunError.agreed(from: try world.allgatherv(failure?.encoded ?? [])) { throw error }
    return network!
}
