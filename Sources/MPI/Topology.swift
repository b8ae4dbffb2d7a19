import CMPI

extension Communicator {
    /// A distributed graph communicator in which this rank receives from `sources` and sends to
    /// `destinations` (`MPI_Dist_graph_create_adjacent`, unweighted). Reordering is off, so a graph
    /// node's number is its rank in this communicator. Collective: every rank calls it with its own
    /// lists, and the lists must agree (j in i's destinations iff i in j's sources).
    public func distributedGraph(sources: [Int], destinations: [Int]) throws -> GraphCommunicator {
        var newHandle = cmpi_comm_null()
        let cSources = sources.map { Int32($0) }
        let cDestinations = destinations.map { Int32($0) }
        let rc = MPI_Dist_graph_create_adjacent(
            handle, Int32(cSources.count), cSources, cmpi_unweighted(),
            Int32(cDestinations.count), cDestinations, cmpi_unweighted(),
            cmpi_info_null(), 0, &newHandle)
        try check(rc, "MPI_Dist_graph_create_adjacent")
        return try GraphCommunicator(owning: newHandle)
    }

    /// A distributed graph communicator for an undirected graph: `neighbors` are both sources and
    /// destinations.
    public func distributedGraph(neighbors: [Int]) throws -> GraphCommunicator {
        try distributedGraph(sources: neighbors, destinations: neighbors)
    }
}

/// A communicator with a graph topology: exchanges go to graph neighbours only.
public final class GraphCommunicator: Communicator {
    /// The neighbours of `rank` on the undirected ring of `size` ranks, without self loops or
    /// repeats: none at size 1, one at size 2, two from size 3.
    public static func ringNeighbors(of rank: Int, size: Int) -> [Int] {
        var neighbors = [Int]()
        for candidate in [(rank + size - 1) % size, (rank + 1) % size]
        where candidate != rank && !neighbors.contains(candidate) {
            neighbors.append(candidate)
        }
        return neighbors
    }

    /// Ranks this rank receives from, in the order neighbour collectives deliver them.
    public let inNeighbors: [Int]
    /// Ranks this rank sends to, in the order neighbour collectives take them.
    public let outNeighbors: [Int]

    override init(owning handle: MPI_Comm?) throws {
        var inDegree: Int32 = 0, outDegree: Int32 = 0, weighted: Int32 = 0
        try check(
            MPI_Dist_graph_neighbors_count(handle, &inDegree, &outDegree, &weighted),
            "MPI_Dist_graph_neighbors_count")
        var sources = [Int32](repeating: 0, count: Int(inDegree))
        var destinations = [Int32](repeating: 0, count: Int(outDegree))
        // Weights are unused; MPI wants writable arrays even so.
        var sourceWeights = [Int32](repeating: 0, count: max(Int(inDegree), 1))
        var destinationWeights = [Int32](repeating: 0, count: max(Int(outDegree), 1))
        try check(
            MPI_Dist_graph_neighbors(
                handle, inDegree, &sources, &sourceWeights,
                outDegree, &destinations, &destinationWeights),
            "MPI_Dist_graph_neighbors")
        inNeighbors = sources.map(Int.init)
        outNeighbors = destinations.map(Int.init)
        try super.init(owning: handle)
    }

    /// Sends `values` (same length on every rank) to every out-neighbour and returns what each
    /// in-neighbour sent, in `inNeighbors` order (`MPI_Neighbor_allgather`).
    public func neighborAllgather<T: MPIElement>(_ values: [T]) throws -> [[T]] {
        let flat = try neighborAllgatherFlat(values)
        return (0..<inNeighbors.count).map { Array(flat[($0 * values.count)..<(($0 + 1) * values.count)]) }
    }

    /// `neighborAllgather` into one buffer, not copied out: in-neighbour i's values are elements
    /// `i * values.count ..< (i + 1) * values.count`. For messages the size of a covariance, where
    /// a copy per neighbour would be one more covariance in memory.
    public func neighborAllgatherFlat<T: MPIElement>(_ values: [T]) throws -> [T] {
        let count = try mpiCount(values.count, of: T.self, call: "MPI_Neighbor_allgather")
        let total = values.count * inNeighbors.count
        var flat = [T](unsafeUninitializedCapacity: total) { _, n in n = total }
        let rc = values.withUnsafeBufferPointer { send in
            flat.withUnsafeMutableBufferPointer { receive in
                MPI_Neighbor_allgather(
                    send.baseAddress, count, T.mpiDatatype.handle,
                    receive.baseAddress, count, T.mpiDatatype.handle, handle)
            }
        }
        try check(rc, "MPI_Neighbor_allgather")
        return flat
    }

    /// Sends `perNeighbor[i]` to `outNeighbors[i]` and returns what each in-neighbour sent, in
    /// `inNeighbors` order; lengths may differ per neighbour and per rank (counts are exchanged
    /// first, then `MPI_Neighbor_alltoallv`).
    public func neighborAlltoallv<T: MPIElement>(_ perNeighbor: [[T]]) throws -> [[T]] {
        guard perNeighbor.count == outNeighbors.count else {
            throw MPIError(
                errorClass: MPI_ERR_ARG, call: "MPI_Neighbor_alltoallv",
                message: "got \(perNeighbor.count) arrays for \(outNeighbors.count) out-neighbours")
        }
        let flat = concatenate(perNeighbor)
        var exchange = NeighborExchange<T>(for: self)
        try flat.withUnsafeBufferPointer {
            try neighborAlltoallv(flat: $0, counts: perNeighbor.map(\.count), into: &exchange)
        }
        return (0..<inNeighbors.count).map { Array(exchange.values(from: $0)) }
    }
}

// The hot-loop form, `@inlinable` so that it is specialised at the call site.
extension GraphCommunicator {
    /// The allocation-free form for hot loops: `flat` holds the messages for each out-neighbour
    /// back to back, `counts[i]` elements for `outNeighbors[i]`; `exchange` keeps its storage
    /// between calls, so a steady exchange allocates nothing.
    @inlinable
    public func neighborAlltoallv<T: MPIElement>(
        flat: UnsafeBufferPointer<T>, counts: [Int],
        into exchange: inout NeighborExchange<T>
    ) throws {
        let call = "MPI_Neighbor_alltoallv"
        guard counts.count == outNeighbors.count, exchange.receiveCounts.count == inNeighbors.count,
            exchange.sendCounts.count == outNeighbors.count
        else {
            throw MPIError(
                errorClass: MPI_ERR_ARG, call: call,
                message: "\(counts.count) counts and an exchange for \(exchange.receiveCounts.count) in-neighbours "
                    + "on a rank with \(outNeighbors.count) out- and \(inNeighbors.count) in-neighbours")
        }
        var offset = 0
        for (i, count) in counts.enumerated() {
            exchange.sendCounts[i] = try mpiCount(count, of: T.self, call: call)
            exchange.sendDisplacements[i] = try mpiCount(offset, of: T.self, call: call)
            offset += count
        }
        guard offset <= flat.count else {
            throw MPIError(
                errorClass: MPI_ERR_ARG, call: call,
                message: "counts add up to \(offset) elements, buffer holds \(flat.count)")
        }
        try check(
            MPI_Neighbor_alltoall(
                exchange.sendCounts, 1, cmpi_int32(), &exchange.receiveCounts, 1, cmpi_int32(), handle),
            "MPI_Neighbor_alltoall (counts)")
        var units = 0
        for i in exchange.receiveCounts.indices {
            exchange.receiveDisplacements[i] = Int32(truncatingIfNeeded: units)
            units += Int(exchange.receiveCounts[i])
        }
        guard units <= Int(Int32.max) else {
            throw MPIError(
                errorClass: MPI_ERR_COUNT, call: call, message: "\(units) units exceed MPI's int displacement limit")
        }
        let total = try elementCount(units: Int32(units), of: T.self, call: call)
        if exchange.received.count < total {
            exchange.received = [T](unsafeUninitializedCapacity: total) { _, n in n = total }
        }
        let rc = exchange.received.withUnsafeMutableBufferPointer { receive in
            MPI_Neighbor_alltoallv(
                flat.baseAddress, exchange.sendCounts, exchange.sendDisplacements, T.mpiDatatype.handle,
                receive.baseAddress, exchange.receiveCounts, exchange.receiveDisplacements,
                T.mpiDatatype.handle, handle)
        }
        try check(rc, call)
    }
}

/// Counts, displacements and the receive buffer of a neighbour all-to-all-v, kept between calls
/// so that a steady exchange allocates nothing.
public struct NeighborExchange<T: MPIElement> {
    @usableFromInline var sendCounts: [Int32]
    @usableFromInline var sendDisplacements: [Int32]
    @usableFromInline var receiveCounts: [Int32]
    @usableFromInline var receiveDisplacements: [Int32]
    /// Storage for what was received; only the first `totalReceived` elements are meaningful.
    @usableFromInline var received: [T] = []

    public init(for graph: GraphCommunicator) {
        sendCounts = [Int32](repeating: 0, count: graph.outNeighbors.count)
        sendDisplacements = sendCounts
        receiveCounts = [Int32](repeating: 0, count: graph.inNeighbors.count)
        receiveDisplacements = receiveCounts
    }

    /// Elements received from the i-th in-neighbour.
    @inlinable public func count(from i: Int) -> Int { Int(receiveCounts[i]) / T.mpiUnitsPerElement }

    /// Elements received in all.
    public var totalReceived: Int { receiveCounts.reduce(0) { $0 + Int($1) } / T.mpiUnitsPerElement }

    /// The slice received from the i-th in-neighbour.
    @inlinable public func values(from i: Int) -> ArraySlice<T> {
        let start = Int(receiveDisplacements[i]) / T.mpiUnitsPerElement
        return received[start..<start + count(from: i)]
    }
}

/// The arrays back to back, copied as raw memory: element types are plain bits.
func concatenate<T: BitwiseCopyable>(_ parts: [[T]]) -> [T] {
    let total = parts.reduce(0) { $0 + $1.count }
    return [T](unsafeUninitializedCapacity: total) { buffer, initialized in
        var offset = 0
        for part in parts {
            part.withUnsafeBytes { source in
                if let base = source.baseAddress {
                    UnsafeMutableRawPointer(buffer.baseAddress! + offset).copyMemory(
                        from: base, byteCount: source.count)
                }
            }
            offset += part.count
        }
        initialized = total
    }
}
