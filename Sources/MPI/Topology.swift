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
    /// Ranks this rank receives from, in the order neighbour collectives deliver them.
    public let inNeighbors: [Int]
    /// Ranks this rank sends to, in the order neighbour collectives take them.
    public let outNeighbors: [Int]

    override init(owning handle: MPI_Comm?) throws {
        var inDegree: Int32 = 0, outDegree: Int32 = 0, weighted: Int32 = 0
        try check(MPI_Dist_graph_neighbors_count(handle, &inDegree, &outDegree, &weighted),
                  "MPI_Dist_graph_neighbors_count")
        var sources = [Int32](repeating: 0, count: Int(inDegree))
        var destinations = [Int32](repeating: 0, count: Int(outDegree))
        // Weights are unused; MPI wants writable arrays even so.
        var sourceWeights = [Int32](repeating: 0, count: max(Int(inDegree), 1))
        var destinationWeights = [Int32](repeating: 0, count: max(Int(outDegree), 1))
        try check(MPI_Dist_graph_neighbors(handle, inDegree, &sources, &sourceWeights,
                                           outDegree, &destinations, &destinationWeights),
                  "MPI_Dist_graph_neighbors")
        inNeighbors = sources.map(Int.init)
        outNeighbors = destinations.map(Int.init)
        try super.init(owning: handle)
    }

    /// Sends `values` (same length on every rank) to every out-neighbour and returns what each
    /// in-neighbour sent, in `inNeighbors` order (`MPI_Neighbor_allgather`).
    public func neighborAllgather<T: MPIElement>(_ values: [T]) throws -> [[T]] {
        let count = try mpiCount(values.count, of: T.self, call: "MPI_Neighbor_allgather")
        let total = values.count * inNeighbors.count
        var flat = [T](unsafeUninitializedCapacity: total) { _, n in n = total }
        let rc = values.withUnsafeBufferPointer { send in
            flat.withUnsafeMutableBufferPointer { receive in
                MPI_Neighbor_allgather(send.baseAddress, count, T.mpiDatatype.handle,
                                       receive.baseAddress, count, T.mpiDatatype.handle, handle)
            }
        }
        try check(rc, "MPI_Neighbor_allgather")
        return (0..<inNeighbors.count).map { Array(flat[($0 * values.count)..<(($0 + 1) * values.count)]) }
    }

    /// Sends `perNeighbor[i]` to `outNeighbors[i]` and returns what each in-neighbour sent, in
    /// `inNeighbors` order; lengths may differ per neighbour and per rank (counts are exchanged
    /// first, then `MPI_Neighbor_alltoallv`).
    public func neighborAlltoallv<T: MPIElement>(_ perNeighbor: [[T]]) throws -> [[T]] {
        guard perNeighbor.count == outNeighbors.count else {
            throw MPIError(errorClass: MPI_ERR_ARG, call: "MPI_Neighbor_alltoallv",
                           message: "got \(perNeighbor.count) arrays for \(outNeighbors.count) out-neighbours")
        }
        let flat = Array(perNeighbor.joined())
        let counts = perNeighbor.map(\.count)
        var exchange = NeighborExchange<T>(inDegree: inNeighbors.count)
        try flat.withUnsafeBufferPointer { try neighborAlltoallv(flat: $0, counts: counts, into: &exchange) }
        return exchange.layout.split(exchange.received)
    }

    /// The allocation-light form for hot loops: `flat` holds the messages for each out-neighbour
    /// back to back, `counts[i]` elements for `outNeighbors[i]`; `exchange` is reused across calls.
    public func neighborAlltoallv<T: MPIElement>(flat: UnsafeBufferPointer<T>, counts: [Int],
                                                 into exchange: inout NeighborExchange<T>) throws {
        let call = "MPI_Neighbor_alltoallv"
        let sendCounts = try counts.map { try mpiCount($0, of: T.self, call: call) }
        var receiveCounts = [Int32](repeating: 0, count: inNeighbors.count)
        try check(MPI_Neighbor_alltoall(sendCounts, 1, cmpi_int32(), &receiveCounts, 1, cmpi_int32(), handle),
                  "MPI_Neighbor_alltoall (counts)")
        let sendLayout = try VariableLayout(unitCounts: sendCounts, of: T.self, call: call)
        guard sendLayout.totalElements <= flat.count else {
            throw MPIError(errorClass: MPI_ERR_ARG, call: call,
                           message: "counts add up to \(sendLayout.totalElements) elements, buffer holds \(flat.count)")
        }
        exchange.layout = try VariableLayout(unitCounts: receiveCounts, of: T.self, call: call)
        let total = exchange.layout.totalElements
        if exchange.received.count != total {
            exchange.received = [T](unsafeUninitializedCapacity: total) { _, n in n = total }
        }
        let rc = exchange.received.withUnsafeMutableBufferPointer { receive in
            MPI_Neighbor_alltoallv(flat.baseAddress, sendLayout.unitCounts, sendLayout.unitDisplacements,
                                   T.mpiDatatype.handle, receive.baseAddress, exchange.layout.unitCounts,
                                   exchange.layout.unitDisplacements, T.mpiDatatype.handle, handle)
        }
        try check(rc, call)
    }
}

/// The receive side of a neighbour all-to-all-v, kept between calls so its storage is reused.
public struct NeighborExchange<T: MPIElement> {
    /// Everything received, in-neighbour by in-neighbour.
    public internal(set) var received: [T] = []
    var layout: VariableLayout

    public init(inDegree: Int) {
        layout = try! VariableLayout(unitCounts: [Int32](repeating: 0, count: inDegree), of: T.self, call: "")
    }

    /// Elements received from the i-th in-neighbour.
    public func count(from i: Int) -> Int { layout.elementCounts[i] }

    /// The slice received from the i-th in-neighbour.
    public func values(from i: Int) -> ArraySlice<T> {
        let start = Int(layout.unitDisplacements[i]) / T.mpiUnitsPerElement
        return received[start..<start + layout.elementCounts[i]]
    }
}
