import MPI

/// One graph node per MPI rank. Neighbour exchanges go through a distributed-graph communicator
/// built from the topology (so MPI itself only lets a rank talk to its graph neighbours); the
/// centralized PF's allgather and the reports use the world communicator.
public final class MPINetwork: Network {
    public let topology: Topology
    public let localNodes: [Int]
    public var traffic = [Traffic()]
    public var isReporter: Bool { world.rank == 0 }
    public let transportName = "mpi"
    private let world: Communicator
    private let graph: GraphCommunicator
    private var buffers: NeighborExchange<Double>

    /// Collective. The topology must have one node per rank of `world`.
    public init(world: Communicator, topology: Topology) throws {
        precondition(topology.nodeCount == world.size, "one node per rank")
        self.world = world
        self.topology = topology
        self.localNodes = [world.rank]
        graph = try world.distributedGraph(neighbors: topology.neighbors[world.rank])
        precondition(graph.inNeighbors == topology.neighbors[world.rank], "MPI reordered the neighbours")
        buffers = NeighborExchange(for: graph)
    }

    deinit { graph.free() }

    public func exchange(_ outgoing: [[[Double]]]) throws -> [[[Double]]] {
        let start = MPI.wallTime()
        defer { traffic[0].communicationSeconds += MPI.wallTime() - start }
        let messages = outgoing[0]
        for message in messages { traffic[0].recordSent(doubles: message.count) }
        var flat = [Double]()
        flat.reserveCapacity(messages.reduce(0) { $0 + $1.count })
        for message in messages { flat.append(contentsOf: message) }
        try flat.withUnsafeBufferPointer {
            try graph.neighborAlltoallv(flat: $0, counts: messages.map(\.count), into: &buffers)
        }
        return [(0..<graph.inNeighbors.count).map { Array(buffers.values(from: $0)) }]
    }

    public func allgather(_ values: [[Double]]) throws -> [[Double]] {
        let start = MPI.wallTime()
        defer { traffic[0].communicationSeconds += MPI.wallTime() - start }
        traffic[0].recordSent(doubles: values[0].count, recipients: world.size - 1)
        return try world.allgatherv(values[0])
    }

    public func gatherForReport(_ values: [[Double]]) throws -> [[Double]]? {
        try world.gatherv(values[0], root: 0)
    }

    public func allgatherForReport(_ values: [[Double]]) throws -> [[Double]] {
        try world.allgatherv(values[0])
    }

    public func anyNode(_ flags: [Bool]) throws -> Bool {
        try world.allreduce(flags[0] ? 1 : 0, .max) == 1
    }
}
