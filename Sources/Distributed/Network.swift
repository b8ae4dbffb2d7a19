import Foundation

/// What one node sent, and how long it waited on the network.
public struct Traffic: Sendable, Equatable {
    /// Payload bytes sent to other nodes (an allgather counts one's contribution once per other node).
    public var bytesSent = 0
    /// Non-empty messages sent to other nodes.
    public var messagesSent = 0
    /// Seconds spent inside exchanges and collectives.
    public var communicationSeconds = 0.0
    public init() {}

    /// Counts `count` doubles sent to each of `recipients` other nodes; empty messages are not sent.
    public mutating func recordSent(doubles count: Int, recipients: Int = 1) {
        guard count > 0, recipients > 0 else { return }
        bytesSent += count * MemoryLayout<Double>.size * recipients
        messagesSent += recipients
    }

    /// Counts one point-to-point message of `count` payload doubles, even an empty one (a request
    /// or a poll is a message of the protocol).
    public mutating func recordMessage(doubles count: Int) {
        bytesSent += count * MemoryLayout<Double>.size
        messagesSent += 1
    }
}

/// A point-to-point message of a protocol with a coordinator (GM, FGM): `peer` is the destination
/// when it is sent and the sender when it is received; `kind` is what it means to the protocol.
public struct Message: Equatable, Sendable {
    public var peer: Int
    public var kind: Int
    public var payload: [Double]

    public init(peer: Int, kind: Int, payload: [Double] = []) {
        (self.peer, self.kind, self.payload) = (peer, kind, payload)
    }
}

/// How the nodes of a graph talk: the only thing a distributed trainer knows of MPI.
///
/// A process runs one or more graph nodes in lockstep (`localNodes`): one under MPI (its rank),
/// all of them in-process. Every call is collective over all nodes, and every argument and result
/// is indexed by local node. Trainers written against this protocol compute the same numbers on
/// either transport, because each node's arithmetic depends only on what it received, and what it
/// received is indexed by sender, never by arrival order.
public protocol Network: AnyObject {
    var topology: Topology { get }
    /// The nodes this process runs, ascending.
    var localNodes: [Int] { get }
    /// Per local node; settable so that a resumed run continues its counts.
    var traffic: [Traffic] { get set }
    /// True in the process that writes reports (the one running node 0).
    var isReporter: Bool { get }
    /// "mpi" or "in-process".
    var transportName: String { get }

    /// Neighbour exchange into kept arrays: `outgoing[a][b]` goes from local node a to its b-th
    /// neighbour (`topology.neighbors[node][b]`), and `incoming[a][b]` becomes what that neighbour
    /// sent; `outgoing`'s arrays may come back holding anything (their room is what is kept). Once
    /// the arrays have grown, a trainer's step in steady state allocates nothing here.
    func exchange(_ outgoing: inout [[[Double]]], into incoming: inout [[[Double]]]) throws
    /// One message to every neighbour: `messages[a]` goes from local node a to each of its
    /// neighbours, and every node's message has the same length; the result's `[a][b]` came from
    /// node a's b-th neighbour. Nothing is copied per neighbour (MPI receives into one buffer that
    /// the slices share): the DEKF's covariances are half a gigabyte each at n = 32.
    func neighborAllgather(_ messages: [[Double]]) throws -> [[ArraySlice<Double>]]
    /// Every node's `values[a]`, in node order, on every process (used by the centralized PF only).
    func allgather(_ values: [[Double]]) throws -> [[Double]]
    /// Every node's values in node order at the reporter, nil elsewhere: for reporting only, not
    /// counted as traffic, never read by a trainer.
    func gatherForReport(_ values: [[Double]]) throws -> [[Double]]?
    /// Every node's values in node order on every process: for progress reports and other
    /// decisions all processes must take alike; not counted as traffic, never read by a trainer.
    func allgatherForReport(_ values: [[Double]]) throws -> [[Double]]
    /// One phase of a point-to-point protocol, collective over all nodes: `outgoing[a]` are local
    /// node a's messages, to any node whatever the topology (the synchronisation protocols talk over
    /// a star around their coordinator). A node with nothing to say sends nothing; a message to
    /// oneself is handed over without the network and not counted. Returns what each local node
    /// received, by ascending sender (a sender's messages in their order), and whether any node had
    /// any message, so every node knows alike whether the protocol goes on this step.
    func sparseExchange(_ outgoing: [[Message]]) throws -> (received: [[Message]], anyMessage: Bool)
}

extension Network {
    /// The neighbour exchange for a caller that keeps no arrays: the result's `[a][b]` came from
    /// local node a's b-th neighbour.
    public func exchange(_ outgoing: [[[Double]]]) throws -> [[[Double]]] {
        var outgoing = outgoing, incoming: [[[Double]]] = []
        try exchange(&outgoing, into: &incoming)
        return incoming
    }
}

/// All K nodes in one process, simulated in turn: the reference the MPI run must match bit for bit,
/// and a way to run small experiments without mpirun.
public final class InProcessNetwork: Network {
    public let topology: Topology
    public let localNodes: [Int]
    public var traffic: [Traffic]
    public let isReporter = true
    public let transportName = "in-process"

    public init(topology: Topology) {
        self.topology = topology
        self.localNodes = Array(0..<topology.nodeCount)
        self.traffic = [Traffic](repeating: Traffic(), count: topology.nodeCount)
    }

    /// Hands each message over by swapping arrays: no copy, and nothing allocated once `incoming`
    /// has its shape.
    public func exchange(_ outgoing: inout [[[Double]]], into incoming: inout [[[Double]]]) throws {
        let start = DispatchTime.now().uptimeNanoseconds
        precondition(outgoing.count == topology.nodeCount)
        if incoming.count != topology.nodeCount
            || zip(incoming, topology.neighbors).contains(where: { $0.count != $1.count })
        {
            incoming = topology.neighbors.map { $0.map { _ in [] } }
        }
        for k in 0..<topology.nodeCount {
            precondition(outgoing[k].count == topology.neighbors[k].count, "node \(k): one message per neighbour")
            for message in outgoing[k] { traffic[k].recordSent(doubles: message.count) }
        }
        for k in 0..<topology.nodeCount {
            for (b, l) in topology.neighbors[k].enumerated() {
                swap(&incoming[k][b], &outgoing[l][topology.neighbors[l].firstIndex(of: k)!])
            }
        }
        chargeCommunication(since: start)
    }

    public func neighborAllgather(_ messages: [[Double]]) throws -> [[ArraySlice<Double>]] {
        let start = DispatchTime.now().uptimeNanoseconds
        precondition(messages.count == topology.nodeCount)
        precondition(Set(messages.map(\.count)).count <= 1, "one message length on every node")
        for k in 0..<topology.nodeCount {
            traffic[k].recordSent(doubles: messages[k].count, recipients: topology.neighbors[k].count)
        }
        let incoming = topology.neighbors.map { $0.map { l in messages[l][...] } }
        chargeCommunication(since: start)
        return incoming
    }

    public func allgather(_ values: [[Double]]) throws -> [[Double]] {
        for k in 0..<topology.nodeCount {
            traffic[k].recordSent(doubles: values[k].count, recipients: topology.nodeCount - 1)
        }
        return values
    }

    public func gatherForReport(_ values: [[Double]]) throws -> [[Double]]? { values }

    public func allgatherForReport(_ values: [[Double]]) throws -> [[Double]] { values }

    public func sparseExchange(_ outgoing: [[Message]]) throws -> (received: [[Message]], anyMessage: Bool) {
        precondition(outgoing.count == topology.nodeCount)
        // A closure, not \.isEmpty: a key path here is not optimised away, and a silent check must be cheap.
        if outgoing.allSatisfy({ $0.isEmpty }) { return (outgoing, false) }
        var received = [[Message]](repeating: [], count: topology.nodeCount)
        var anyMessage = false
        // Senders in ascending order, each in its own order: the order the MPI network sorts into.
        for (sender, messages) in outgoing.enumerated() {
            for message in messages {
                anyMessage = true
                if message.peer != sender { traffic[sender].recordMessage(doubles: message.payload.count) }
                received[message.peer].append(Message(peer: sender, kind: message.kind, payload: message.payload))
            }
        }
        return (received, anyMessage)
    }

    /// The copying time, shared equally: there is no network to wait on in one process.
    private func chargeCommunication(since start: UInt64) {
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 / Double(topology.nodeCount)
        for k in traffic.indices { traffic[k].communicationSeconds += seconds }
    }
}
