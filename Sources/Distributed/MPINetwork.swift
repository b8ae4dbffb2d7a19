import MPI

/// The graph's K nodes on the R ranks of `world`, 1 <= R <= K, dealt in blocks: rank r runs
/// `MPINetwork.block(r, nodes: K, ranks: R)`, node 0 on rank 0. Neighbour exchanges go through a
/// distributed-graph communicator whose edges join ranks that hold neighbouring nodes (so MPI
/// itself only lets a rank talk to the ranks of its nodes' neighbours); messages between nodes of
/// one rank are handed over in memory. The centralized PF's allgather and the reports use the
/// world communicator. Every result is indexed by node, never by rank, so a run gives the same
/// numbers on any R (and in-process).
public final class MPINetwork: Network {
    public let topology: Topology
    public let localNodes: [Int]
    public var traffic: [Traffic]
    public var isReporter: Bool { world.rank == 0 }
    public let transportName = "mpi"
    private let world: Communicator
    private let graph: GraphCommunicator
    private var buffers: NeighborExchange<Double>
    /// The kept-array exchange's send buffer and counts.
    private var sendBuffer: [Double] = []
    private var sendCounts: [Int] = []
    /// A duplicate of world for `sparseExchange`, so its wildcard receives never see other traffic.
    private let pointToPoint: Communicator
    private var sparsePhases = 0
    /// The rank of every node.
    private let owners: [Int]
    /// One node per rank, each neighbour on another rank: the original one-node exchanges apply.
    private var oneNodePerRank: Bool { localNodes.count == 1 && topology.nodeCount == world.size }

    /// The nodes rank r runs when K nodes are dealt to R ranks in blocks: the first K mod R ranks
    /// get one more.
    public static func block(_ r: Int, nodes k: Int, ranks: Int) -> Range<Int> {
        let (size, extra) = k.quotientAndRemainder(dividingBy: ranks)
        let start = r * size + min(r, extra)
        return start..<(start + size + (r < extra ? 1 : 0))
    }

    /// Collective. The topology needs at least one node per rank of `world`.
    public init(world: Communicator, topology: Topology) throws {
        precondition(topology.nodeCount >= world.size, "at least one node per rank")
        self.world = world
        self.topology = topology
        let ranks = world.size
        owners = (0..<ranks).flatMap { r in Self.block(r, nodes: topology.nodeCount, ranks: ranks).map { _ in r } }
        localNodes = Array(Self.block(world.rank, nodes: topology.nodeCount, ranks: ranks))
        traffic = [Traffic](repeating: Traffic(), count: localNodes.count)
        let rank = world.rank, owners = self.owners
        let peers = Set(localNodes.flatMap { topology.neighbors[$0] }.map { owners[$0] }).subtracting([rank]).sorted()
        graph = try world.distributedGraph(neighbors: peers)
        precondition(graph.inNeighbors == peers, "MPI reordered the neighbours")
        buffers = NeighborExchange(for: graph)
        pointToPoint = try world.duplicate()
    }

    /// The edges between this rank's nodes and rank `peer`'s, as (node here, node there), by
    /// ascending node here then there: the order this rank sends in. The peer lists the same edges
    /// from its side in its own sending order, so a receiver sorts them by (there, here) to read.
    private func edges(with peer: Int) -> [(here: Int, there: Int)] {
        localNodes.flatMap { node in topology.neighbors[node].filter { owners[$0] == peer }.map { (node, $0) } }
    }

    /// The time since `start`, shared equally by this rank's nodes (all of one node's, as before
    /// there were blocks), as `InProcessNetwork` shares its copying time.
    private func chargeCommunication(since start: Double) {
        let seconds = (MPI.wallTime() - start) / Double(localNodes.count)
        for a in traffic.indices { traffic[a].communicationSeconds += seconds }
    }

    /// Where node `node`'s data is in the per-local-node arrays.
    private func localIndex(_ node: Int) -> Int { node - localNodes[0] }

    deinit {
        graph.free()
        pointToPoint.free()
    }

    /// One node per rank: the messages are joined into a kept send buffer and what arrives is copied
    /// into `incoming`'s kept arrays. Several nodes per rank go by `blockExchange`, which allocates.
    public func exchange(_ outgoing: inout [[[Double]]], into incoming: inout [[[Double]]]) throws {
        guard oneNodePerRank else {
            incoming = try blockExchange(outgoing)
            return
        }
        let start = MPI.wallTime()
        defer { chargeCommunication(since: start) }
        sendBuffer.removeAll(keepingCapacity: true)
        sendCounts.removeAll(keepingCapacity: true)
        for message in outgoing[0] {
            traffic[0].recordSent(doubles: message.count)
            sendBuffer.append(contentsOf: message)
            sendCounts.append(message.count)
        }
        try sendBuffer.withUnsafeBufferPointer {
            try graph.neighborAlltoallv(flat: $0, counts: sendCounts, into: &buffers)
        }
        let sources = graph.inNeighbors.count
        if incoming.count != 1 || incoming[0].count != sources {
            incoming = [[[Double]](repeating: [], count: sources)]
        }
        for b in 0..<sources {
            incoming[0][b].removeAll(keepingCapacity: true)
            incoming[0][b].append(contentsOf: buffers.values(from: b))
        }
    }

    public func neighborAllgather(_ messages: [[Double]]) throws -> [[ArraySlice<Double>]] {
        guard oneNodePerRank else {
            let outgoing = localNodes.indices.map { a in
                [[Double]](repeating: messages[a], count: topology.neighbors[localNodes[a]].count)
            }
            return try blockExchange(outgoing).map { $0.map { $0[...] } }
        }
        let start = MPI.wallTime()
        defer { chargeCommunication(since: start) }
        let count = messages[0].count
        traffic[0].recordSent(doubles: count, recipients: graph.outNeighbors.count)
        let flat = try graph.neighborAllgatherFlat(messages[0])
        return [(0..<graph.inNeighbors.count).map { flat[($0 * count)..<(($0 + 1) * count)] }]
    }

    public func allgather(_ values: [[Double]]) throws -> [[Double]] {
        let start = MPI.wallTime()
        defer { chargeCommunication(since: start) }
        for a in values.indices { traffic[a].recordSent(doubles: values[a].count, recipients: topology.nodeCount - 1) }
        return try split(world.allgatherv(Self.joined(values)))
    }

    public func gatherForReport(_ values: [[Double]]) throws -> [[Double]]? {
        try world.gatherv(Self.joined(values), root: 0).map(split)
    }

    public func allgatherForReport(_ values: [[Double]]) throws -> [[Double]] {
        try split(world.allgatherv(Self.joined(values)))
    }

    /// A rank's nodes' arrays as one: one node's as it is (what one node per rank always sent),
    /// several each after its length.
    private static func joined(_ values: [[Double]]) -> [Double] {
        values.count == 1 ? values[0] : values.flatMap { [Double($0.count)] + $0 }
    }

    /// Every rank's joined arrays, in rank order, as the nodes' arrays in node order.
    private func split(_ perRank: [[Double]]) -> [[Double]] {
        perRank.enumerated().flatMap { rank, flat -> [[Double]] in
            let nodes = Self.block(rank, nodes: topology.nodeCount, ranks: world.size).count
            guard nodes > 1 else { return [flat] }
            var arrays = [[Double]](), index = 0
            for _ in 0..<nodes {
                let count = Int(flat[index])
                arrays.append(Array(flat[(index + 1)..<(index + 1 + count)]))
                index += 1 + count
            }
            return arrays
        }
    }

    /// Hoefler's nonblocking consensus (NBX): synchronous sends, received by probing until the
    /// sends are matched, then a nonblocking allreduce that ends the phase once every rank has
    /// all its messages (and tells whether any rank had one). Two consecutive phases use
    /// different tags, because a rank can start the next phase before this one ends here.
    public func sparseExchange(_ outgoing: [[Message]]) throws -> (received: [[Message]], anyMessage: Bool) {
        guard oneNodePerRank else { return try blockSparseExchange(outgoing) }
        let start = MPI.wallTime()
        defer { chargeCommunication(since: start) }
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

    // MARK: several nodes per rank

    /// `exchange` when a rank runs several nodes: messages between its own nodes are handed over,
    /// the others go to each peer rank as one buffer of (length, message) in `edges(with:)` order.
    private func blockExchange(_ outgoing: [[[Double]]]) throws -> [[[Double]]] {
        let start = MPI.wallTime()
        defer { chargeCommunication(since: start) }
        let rank = world.rank
        var incoming = localNodes.map { [[Double]](repeating: [], count: topology.neighbors[$0].count) }
        for (a, node) in localNodes.enumerated() {
            precondition(outgoing[a].count == topology.neighbors[node].count, "node \(node): one message per neighbour")
            for (b, neighbour) in topology.neighbors[node].enumerated() {
                traffic[a].recordSent(doubles: outgoing[a][b].count)
                if owners[neighbour] == rank {
                    incoming[localIndex(neighbour)][topology.neighbors[neighbour].firstIndex(of: node)!] =
                        outgoing[a][b]
                }
            }
        }
        let perPeer = graph.outNeighbors.map { peer in
            edges(with: peer).flatMap { edge -> [Double] in
                let message = outgoing[localIndex(edge.here)][topology.neighbors[edge.here].firstIndex(of: edge.there)!]
                return [Double(message.count)] + message
            }
        }
        let received = try graph.neighborAlltoallv(perPeer)
        for (i, peer) in graph.inNeighbors.enumerated() {
            var index = 0
            // The peer's edges to here are this rank's edges to it, sender and receiver swapped,
            // listed by ascending sender (there) then receiver (here).
            let fromPeer = edges(with: peer).sorted { ($0.there, $0.here) < ($1.there, $1.here) }
            for edge in fromPeer {
                let count = Int(received[i][index])
                incoming[localIndex(edge.here)][topology.neighbors[edge.here].firstIndex(of: edge.there)!] =
                    Array(received[i][(index + 1)..<(index + 1 + count)])
                index += 1 + count
            }
        }
        return incoming
    }

    /// `sparseExchange` when a rank runs several nodes: each message carries its sender and
    /// receiver nodes in its envelope; messages between nodes of this rank are handed over.
    private func blockSparseExchange(_ outgoing: [[Message]]) throws -> (received: [[Message]], anyMessage: Bool) {
        let start = MPI.wallTime()
        defer { chargeCommunication(since: start) }
        sparsePhases += 1
        let tag = sparsePhases % 2
        var received = [[(order: Int, message: Message)]](repeating: [], count: localNodes.count)
        var order = 0
        var sends = [SendRequest<Double>]()
        for (a, messages) in outgoing.enumerated() {
            let sender = localNodes[a]
            for message in messages {
                if message.peer != sender { traffic[a].recordMessage(doubles: message.payload.count) }
                if owners[message.peer] == world.rank {
                    received[localIndex(message.peer)].append(
                        (order, Message(peer: sender, kind: message.kind, payload: message.payload)))
                    order += 1
                } else {
                    // Kind, sender and receiver travel first: envelope, not payload.
                    let envelope = [Double(message.kind), Double(sender), Double(message.peer)]
                    sends.append(
                        try pointToPoint.issend(envelope + message.payload, to: owners[message.peer], tag: tag))
                }
            }
        }
        let any = outgoing.contains { !$0.isEmpty }
        var consensus: ReductionRequest<Int32>?
        while true {
            while let (values, _) = try pointToPoint.receiveIfPresent(Double.self, tag: tag) {
                let message = Message(peer: Int(values[1]), kind: Int(values[0]), payload: Array(values.dropFirst(3)))
                received[localIndex(Int(values[2]))].append((order, message))
                order += 1
            }
            if let consensus {
                if try consensus.test() { break }
            } else if try sends.allSatisfy({ try $0.test() }) {
                consensus = try pointToPoint.iallreduce(any ? Int32(1) : 0, .max)
            }
        }
        let sorted = received.map { list in
            list.sorted { ($0.message.peer, $0.order) < ($1.message.peer, $1.order) }.map(\.message)
        }
        return (sorted, consensus!.result == 1)
    }
}
