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
    /// A duplicate of world for `sparseExchange`, so its wildcard receives never see other traffic.
    private let pointToPoint: Communicator
    private var sparsePhases = 0

    /// Collective. The topology must have one node per rank of `world`.
    public init(world: Communicator, topology: Topology) throws {
        precondition(topology.nodeCount == world.size, "one node per rank")
        self.world = world
        self.topology = topology
        self.localNodes = [world.rank]
        graph = try world.distributedGraph(neighbors: topology.neighbors[world.rank])
        precondition(graph.inNeighbors == topology.neighbors[world.rank], "MPI reordered the neighbours")
        buffers = NeighborExchange(for: graph)
        pointToPoint = try world.duplicate()
    }

    deinit {
        graph.free()
        pointToPoint.free()
    }

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

    public func neighborAllgather(_ messages: [[Double]]) throws -> [[ArraySlice<Double>]] {
        let start = MPI.wallTime()
        defer { traffic[0].communicationSeconds += MPI.wallTime() - start }
        let count = messages[0].count
        traffic[0].recordSent(doubles: count, recipients: graph.outNeighbors.count)
        let flat = try graph.neighborAllgatherFlat(messages[0])
        return [(0..<graph.inNeighbors.count).map { flat[($0 * count)..<(($0 + 1) * count)] }]
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

    /// Hoefler's nonblocking consensus (NBX): synchronous sends, received by probing until the
    /// sends are matched, then a nonblocking allreduce that ends the phase once every rank has
    /// all its messages (and tells whether any rank had one). Two consecutive phases use
    /// different tags, because a rank can start the next phase before this one ends here.
    public func sparseExchange(_ outgoing: [[Message]]) throws -> (received: [[Message]], anyMessage: Bool) {
        let start = MPI.wallTime()
        defer { traffic[0].communicationSeconds += MPI.wallTime() - start }
        let me = localNodes[0]
        sparsePhases += 1
        let tag = sparsePhases % 2
        var received = [(order: Int, message: Message)]()
        var sends = [SendRequest<Double>]()
        for message in outgoing[0] {
            if message.peer == me {
                received.append((received.count, Message(peer: me, kind: message.kind, payload: message.payload)))
                continue
            }
            traffic[0].recordMessage(doubles: message.payload.count)
            // The kind travels as the first number: envelope, not payload.
            sends.append(try pointToPoint.issend([Double(message.kind)] + message.payload, to: message.peer, tag: tag))
        }
        var consensus: ReductionRequest<Int32>?
        while true {
            while let (values, status) = try pointToPoint.receiveIfPresent(Double.self, tag: tag) {
                let message = Message(peer: status.source, kind: Int(values[0]), payload: Array(values.dropFirst()))
                received.append((received.count, message))
            }
            if let consensus {
                if try consensus.test() { break }
            } else if try sends.allSatisfy({ try $0.test() }) {
                consensus = try pointToPoint.iallreduce(outgoing[0].isEmpty ? Int32(0) : 1, .max)
            }
        }
        received.sort { ($0.message.peer, $0.order) < ($1.message.peer, $1.order) }
        return ([received.map(\.message)], consensus!.result == 1)
    }
}
