// Measures what the Swift binding costs over the same MPI calls made directly through the C API,
// in the same run, interleaved round by round so that machine noise hits both sides alike.
// This module and `MPI` are the only ones that import the C API.
import CMPI
import MPI

/// One message size: per-operation seconds through the binding and through the C API, as the
/// best and the median round. Interference from other processes only ever adds time, so the best
/// round is the cleaner estimate of what the binding itself costs; the median shows the spread.
public struct BenchmarkRow: Sendable {
    public let bytes: Int
    public let iterations: Int
    public let bindingSeconds: Double
    public let cSeconds: Double
    public let bindingMedianSeconds: Double
    public let cMedianSeconds: Double
    /// Optional third variant (the allocating convenience API), best round, for information.
    public let convenienceSeconds: Double?
    public var ratio: Double { bindingSeconds / cSeconds }
    public var medianRatio: Double { bindingMedianSeconds / cMedianSeconds }

    init(bytes: Int, iterations: Int, binding: [Double], c: [Double], convenience: [Double]? = nil) {
        self.bytes = bytes
        self.iterations = iterations
        bindingSeconds = binding.min()!
        cSeconds = c.min()!
        bindingMedianSeconds = MPIBenchmark.median(binding)
        cMedianSeconds = MPIBenchmark.median(c)
        convenienceSeconds = convenience?.min()
    }
}

public enum MPIBenchmark {
    /// Powers of two from `minBytes` to `maxBytes`.
    public static func sizes(from minBytes: Int, to maxBytes: Int) -> [Int] {
        var sizes = [Int](), size = minBytes
        while size <= maxBytes {
            sizes.append(size)
            size *= 2
        }
        return sizes
    }

    /// Enough iterations that a block takes a measurable time, fewer for large messages.
    static func iterations(for bytes: Int, scale: Double) -> Int {
        max(10, Int(scale * Double(min(2000, (32 << 20) / max(bytes, 1)))))
    }

    /// One round of two measurements, the first going first on even rounds: warm-up and drift then
    /// favour neither side.
    static func alternate(_ round: Int, _ a: () throws -> Void, _ b: () throws -> Void) rethrows {
        if round % 2 == 0 {
            try a()
            try b()
        } else {
            try b()
            try a()
        }
    }

    public static func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        return sorted.count % 2 == 1
            ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
    }

    /// Ping-pong between ranks 0 and 1 (other ranks wait): one-way time = round trip / 2.
    /// Returns the rows on rank 0, an empty array elsewhere.
    public static func pingPong(world: Communicator, sizes: [Int], rounds: Int, scale: Double = 1) throws
        -> [BenchmarkRow]
    {
        precondition(world.size >= 2, "ping-pong needs two ranks")
        var rows = [BenchmarkRow]()
        let rawWorld = cmpi_comm_world()
        let byte = cmpi_byte()
        let me = world.rank
        for bytes in sizes {
            let iterations = iterations(for: bytes, scale: scale)
            var buffer = [UInt8](repeating: UInt8(truncatingIfNeeded: bytes), count: bytes)
            let raw = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
            defer { raw.deallocate() }
            raw.initializeMemory(as: UInt8.self, repeating: 1, count: bytes)
            var bindingTimes = [Double](), cTimes = [Double]()
            let count = Int32(bytes)
            let viaBinding = {
                try world.barrier()
                let start = MPI.wallTime()
                if me <= 1 {
                    let peer = 1 - me
                    for _ in 0..<iterations {
                        if me == 0 {
                            try world.send(buffer, to: peer, tag: 1)
                            try world.receive(into: &buffer, from: peer, tag: 1)
                        } else {
                            try world.receive(into: &buffer, from: peer, tag: 1)
                            try world.send(buffer, to: peer, tag: 1)
                        }
                    }
                }
                bindingTimes.append((MPI.wallTime() - start) / Double(2 * iterations))
            }
            let viaC = {
                try world.barrier()
                let start = MPI.wallTime()
                if me <= 1 {
                    let peer = Int32(1 - me)
                    for _ in 0..<iterations {
                        if me == 0 {
                            MPI_Send(raw, count, byte, peer, 2, rawWorld)
                            MPI_Recv(raw, count, byte, peer, 2, rawWorld, cmpi_status_ignore())
                        } else {
                            MPI_Recv(raw, count, byte, peer, 2, rawWorld, cmpi_status_ignore())
                            MPI_Send(raw, count, byte, peer, 2, rawWorld)
                        }
                    }
                }
                cTimes.append((MPI.wallTime() - start) / Double(2 * iterations))
            }
            for round in 0..<rounds {
                try alternate(round, viaBinding, viaC)
            }
            if me == 0 {
                rows.append(BenchmarkRow(bytes: bytes, iterations: iterations, binding: bindingTimes, c: cTimes))
            }
        }
        return rows
    }

    /// Every rank exchanges `bytes` with each neighbour on a ring of all ranks, by neighbour
    /// alltoallv with the counts exchanged first (what the binding does), three ways: the binding's
    /// reusable-buffer form, the same two C calls, and the binding's allocating `[[T]]` form.
    /// Returns the rows on rank 0 (the maximum over ranks of each median), empty elsewhere.
    public static func ringExchange(world: Communicator, sizes: [Int], rounds: Int, scale: Double = 1) throws
        -> [BenchmarkRow]
    {
        let neighbors = GraphCommunicator.ringNeighbors(of: world.rank, size: world.size)
        let graph = try world.distributedGraph(neighbors: neighbors)
        defer { graph.free() }
        var rawGraph = cmpi_comm_null()
        let cNeighbors = neighbors.map { Int32($0) }
        MPI_Dist_graph_create_adjacent(
            cmpi_comm_world(), Int32(cNeighbors.count), cNeighbors, cmpi_unweighted(),
            Int32(cNeighbors.count), cNeighbors, cmpi_unweighted(), cmpi_info_null(), 0, &rawGraph)
        defer { MPI_Comm_free(&rawGraph) }
        let degree = neighbors.count
        let double = cmpi_double()

        var rows = [BenchmarkRow]()
        for bytes in sizes {
            let perNeighbor = max(1, bytes / MemoryLayout<Double>.stride)
            let iterations = iterations(for: bytes * max(degree, 1), scale: scale) / 2 + 5
            let outgoing = (0..<degree).map { j in [Double](repeating: Double(world.rank * 10 + j), count: perNeighbor)
            }
            let flat = outgoing.flatMap { $0 }
            let counts = [Int](repeating: perNeighbor, count: degree)
            var exchange = NeighborExchange<Double>(for: graph)
            // C side: preallocated buffers, counts and displacements.
            let sendCounts = [Int32](repeating: Int32(perNeighbor), count: degree)
            var receiveCounts = [Int32](repeating: 0, count: degree)
            let displacements = (0..<degree).map { Int32($0 * perNeighbor) }
            var receiveDisplacements = [Int32](repeating: 0, count: degree)
            var received = [Double](repeating: 0, count: perNeighbor * degree)

            var bindingTimes = [Double](), cTimes = [Double](), convenienceTimes = [Double]()
            let viaBinding = {
                try world.barrier()
                let start = MPI.wallTime()
                try flat.withUnsafeBufferPointer { buffer in
                    for _ in 0..<iterations {
                        try graph.neighborAlltoallv(flat: buffer, counts: counts, into: &exchange)
                    }
                }
                bindingTimes.append((MPI.wallTime() - start) / Double(iterations))
            }
            let viaC = {
                try world.barrier()
                let start = MPI.wallTime()
                for _ in 0..<iterations {
                    MPI_Neighbor_alltoall(sendCounts, 1, cmpi_int32(), &receiveCounts, 1, cmpi_int32(), rawGraph)
                    var offset: Int32 = 0
                    for i in 0..<degree {
                        receiveDisplacements[i] = offset
                        offset += receiveCounts[i]
                    }
                    MPI_Neighbor_alltoallv(
                        flat, sendCounts, displacements, double,
                        &received, receiveCounts, receiveDisplacements, double, rawGraph)
                }
                cTimes.append((MPI.wallTime() - start) / Double(iterations))
            }
            let viaConvenience = {
                try world.barrier()
                let start = MPI.wallTime()
                for _ in 0..<iterations {
                    _ = try graph.neighborAlltoallv(outgoing)
                }
                convenienceTimes.append((MPI.wallTime() - start) / Double(iterations))
            }
            for round in 0..<rounds {
                try alternate(round, viaBinding, viaC)
                try viaConvenience()
            }
            // The slowest rank sets the pace of an exchange: per round, the maximum over ranks.
            let slowest = try world.reduce(bindingTimes + cTimes + convenienceTimes, .max, root: 0)
            if let slowest {
                rows.append(
                    BenchmarkRow(
                        bytes: perNeighbor * MemoryLayout<Double>.stride, iterations: iterations,
                        binding: Array(slowest[0..<rounds]), c: Array(slowest[rounds..<2 * rounds]),
                        convenience: Array(slowest[(2 * rounds)...])))
            }
            // Both sides must have moved the same data, or the comparison means nothing.
            for i in 0..<degree
            where Array(exchange.values(from: i)) != Array(received[(i * perNeighbor)..<((i + 1) * perNeighbor)]) {
                throw BenchmarkError(
                    description: "binding and C exchanges received different data from neighbour \(neighbors[i])")
            }
        }
        return rows
    }
}

public struct BenchmarkError: Error, CustomStringConvertible {
    public let description: String
}
