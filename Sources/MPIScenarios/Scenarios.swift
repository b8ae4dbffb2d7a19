import MPI

/// A plain struct that travels as bytes, shaped like a particle's header in the DPF.
struct ParticleHeader: MPIPlainStruct, Equatable {
    var globalID: Int64
    var logWeight: Double
    var origin: Int32
}

let scenarios: [Scenario] = [
    Scenario(name: "ring", summary: "shift along the ring with sendrecv, isend/irecv and probed receives") {
        world, corrupt in
        let right = (world.rank + 1) % world.size
        let left = (world.rank + world.size - 1) % world.size
        let cheat = corrupt && world.rank == world.size - 1

        // sendrecv, equal lengths.
        var mine = payload(from: world.rank, to: right, count: 4)
        if cheat { mine[3] += 1 }
        let fromLeft = try world.sendReceive(mine, to: right, from: left)
        try expect(fromLeft == payload(from: left, to: world.rank, count: 4), "sendrecv from \(left): \(fromLeft)")

        // Nonblocking, with lengths the receiver learns from the status.
        let count = left + 1
        let receive = try world.irecv(Double.self, capacity: 64, from: left, tag: 7)
        let send = try world.isend(
            payload(from: world.rank, to: right, count: world.rank + 1 + (cheat ? 1 : 0)),
            to: right, tag: 7)
        try Request.waitAll([send, receive])
        try expect(
            receive.status?.source == left && receive.status?.tag == 7,
            "irecv status \(String(describing: receive.status))")
        try expect(receive.values == payload(from: left, to: world.rank, count: count), "irecv got \(receive.values)")

        // Unknown length through a matched probe, from any source.
        let request = try world.isend([Int64](repeating: Int64(world.rank), count: world.rank + 2), to: right, tag: 9)
        let (values, status) = try world.receive(Int64.self, from: MPI.anySource, tag: 9)
        try request.wait()
        try expect(status.source == left && status.count == left + 2, "probed receive status \(status)")
        try expect(values == [Int64](repeating: Int64(left), count: left + 2), "probed receive got \(values)")

        // A receive that never matches, dropped: it must be cancelled, not left writing into freed memory.
        do {
            let orphan = try world.irecv(Double.self, capacity: 8, from: left, tag: 12345)
            try expect(!(try orphan.test()), "a receive nobody sent to completed")
        }
        try world.barrier()
    },

    Scenario(name: "plain-struct", summary: "arrays of a plain struct around the ring as bytes") { world, corrupt in
        let right = (world.rank + 1) % world.size
        let left = (world.rank + world.size - 1) % world.size
        func headers(of rank: Int) -> [ParticleHeader] {
            (0..<(rank % 3 + 1)).map {
                ParticleHeader(globalID: Int64(rank * 1000 + $0), logWeight: -Double($0) / 3, origin: Int32(rank))
            }
        }
        var mine = headers(of: world.rank)
        if corrupt && world.rank == world.size - 1 { mine[0].logWeight = 1 }
        let request = try world.isend(mine, to: right, tag: 3)
        let (received, status) = try world.receive(ParticleHeader.self, from: left, tag: 3)
        try request.wait()
        try expect(status.count == headers(of: left).count, "received \(status.count) headers")
        try expect(received == headers(of: left), "headers from \(left): \(received)")
    },

    Scenario(name: "alltoallv-ring", summary: "neighbour alltoallv with uneven counts on the ring") { world, corrupt in
        try neighborExchange(
            world, neighbors: GraphCommunicator.ringNeighbors(of: world.rank, size: world.size), corrupt: corrupt)
    },

    Scenario(name: "alltoallv-star", summary: "neighbour alltoallv with uneven counts on the star") { world, corrupt in
        try neighborExchange(world, neighbors: starNeighbors(of: world.rank, size: world.size), corrupt: corrupt)
    },

    Scenario(name: "gatherv", summary: "gather and gatherv of different lengths to a non-zero root, allgatherv") {
        world, corrupt in
        let root = world.size - 1
        let cheat = corrupt && world.rank == world.size - 1
        let mine = payload(from: world.rank, to: root, count: world.rank + 1 + (cheat ? 1 : 0))
        let gathered = try world.gatherv(mine, root: root)
        if world.rank == root {
            let expected = (0..<world.size).map { payload(from: $0, to: root, count: $0 + 1) }
            try expect(gathered == expected, "gatherv at root: \(String(describing: gathered))")
        } else {
            try expect(gathered == nil, "gatherv off-root returned \(String(describing: gathered))")
        }

        let all = try world.allgatherv([Int32](repeating: Int32(world.rank), count: 2 * world.rank + (cheat ? 1 : 0)))
        try expect(all == (0..<world.size).map { [Int32](repeating: Int32($0), count: 2 * $0) }, "allgatherv: \(all)")

        let flat = try world.gather([world.rank, world.rank * world.rank + (cheat ? 1 : 0)], root: 0)
        if world.rank == 0 {
            try expect(flat == (0..<world.size).flatMap { [$0, $0 * $0] }, "gather: \(String(describing: flat))")
        }
        let everyone = try world.allgather(Int64(world.rank) + (cheat ? 1 : 0))
        try expect(everyone == (0..<world.size).map(Int64.init), "allgather: \(everyone)")
    },

    Scenario(name: "allreduce", summary: "allreduce and reduce with sum, max, min on integers and doubles") {
        world, corrupt in
        let k = world.size
        let contribution = world.rank + (corrupt && world.rank == k - 1 ? 1 : 0)
        let sum = try world.allreduce(contribution, .sum)
        try expect(sum == k * (k - 1) / 2, "sum of ranks \(sum)")
        try expect(try world.allreduce(Int32(contribution), .max) == Int32(k - 1), "max of ranks")
        try expect(try world.allreduce(Double(contribution), .min) == 0, "min of ranks")
        let vector = try world.allreduce([Double(contribution), 1, Double(contribution * contribution)], .sum)
        let squares = Double((0..<k).map { $0 * $0 }.reduce(0, +))
        try expect(vector == [Double(k * (k - 1) / 2), Double(k), squares], "vector sum \(vector)")
        let atRoot = try world.reduce([Float(contribution), -Float(contribution)], .max, root: 0)
        if world.rank == 0 {
            try expect(atRoot == [Float(k - 1), 0], "reduce max at root: \(String(describing: atRoot))")
        } else {
            try expect(atRoot == nil, "reduce off-root returned a value")
        }
    },

    Scenario(name: "broadcast", summary: "broadcast of known and unknown lengths from a middle root") {
        world, corrupt in
        let root = world.size / 2
        let cheat = corrupt && world.rank == root
        let source = world.rank == root ? payload(from: root, to: 0, count: root + 3 + (cheat ? 1 : 0)) : []
        let received = try world.broadcast(source, root: root)
        try expect(received == payload(from: root, to: 0, count: root + 3), "broadcast got \(received)")
        var fixed = [UInt8](repeating: 0, count: 5)
        if world.rank == root { fixed = [1, 2, 3, 4, cheat ? 0 : 5] }
        try world.broadcast(&fixed, root: root)
        try expect(fixed == [1, 2, 3, 4, 5], "fixed-length broadcast got \(fixed)")
        let value = try world.broadcast(world.rank == root ? 42.5 : -1, root: root)
        try expect(value == 42.5, "scalar broadcast got \(value)")
    },

    Scenario(name: "split-dup", summary: "split into even and odd ranks, duplicate, free twice") { world, corrupt in
        let cheat = corrupt && world.rank == world.size - 1
        let color = world.rank % 2 + (cheat ? 2 : 0)
        guard let half = try world.split(color: color, key: -world.rank) else {
            throw ScenarioFailure(description: "split returned nil for a defined color")
        }
        let expectedSize = (world.size + (world.rank % 2 == 0 ? 1 : 0)) / 2
        try expect(half.size == expectedSize, "split size \(half.size), expected \(expectedSize)")
        // key = -rank reverses the order within each half.
        try expect(half.rank == expectedSize - 1 - world.rank / 2, "split rank \(half.rank)")
        let members = try half.allgather(world.rank)
        try expect(members.allSatisfy { $0 % 2 == world.rank % 2 }, "half members \(members)")
        let copy = try half.duplicate()
        try expect(copy.size == half.size && copy.rank == half.rank, "duplicate differs")
        try expect(try copy.allreduce(1, .sum) == half.size, "allreduce on the duplicate")
        copy.free()
        copy.free()
        let excluded = try world.split(color: world.rank == 0 && !cheat ? nil : 1)
        try expect((excluded == nil) == (world.rank == 0), "split with an undefined color")
        // Kept past finalisation on purpose: `main` frees it after MPI_Finalize.
        survivors.append(half)
    },

    Scenario(name: "neighbor-allgather", summary: "neighbour allgather on the ring, neighbour lists checked") {
        world, corrupt in
        let neighbors = GraphCommunicator.ringNeighbors(of: world.rank, size: world.size)
        let graph = try world.distributedGraph(neighbors: neighbors)
        try expect(graph.rank == world.rank, "graph communicator reordered ranks")
        try expect(
            graph.inNeighbors == neighbors && graph.outNeighbors == neighbors,
            "neighbour lists \(graph.inNeighbors) / \(graph.outNeighbors), expected \(neighbors)")
        let cheat = corrupt && world.rank == world.size - 1
        let received = try graph.neighborAllgather([
            Double(world.rank), Double(world.rank * world.rank + (cheat ? 1 : 0)),
        ])
        try expect(received.count == neighbors.count, "got \(received.count) blocks for \(neighbors.count) neighbours")
        for (block, neighbor) in zip(received, graph.inNeighbors) {
            try expect(block == [Double(neighbor), Double(neighbor * neighbor)], "block from \(neighbor): \(block)")
        }
        if cheat && neighbors.isEmpty { throw ScenarioFailure(description: "corrupted, and alone") }
    },

    Scenario(name: "errors", summary: "a bad call throws MPIError with MPI's class and text") { world, corrupt in
        let badRank = world.size + (corrupt && world.rank == world.size - 1 ? -world.size : 0)
        do {
            try world.send([1.0], to: badRank, tag: 0)
            throw ScenarioFailure(description: "send to rank \(badRank) of \(world.size) did not throw")
        } catch let error as MPIError {
            try expect(error.errorClass == MPIErrorClass.rank, "error class \(error.errorClass), expected MPI_ERR_RANK")
            try expect(error.message.contains("rank"), "MPI's text: \(error.message)")
            try expect(error.call.hasPrefix("MPI_Send"), "call: \(error.call)")
        }
    },
]

/// Sends `payload(from: me, to: j)` of uneven length to every neighbour j and checks what each
/// neighbour sent, through both forms of neighbour alltoallv.
func neighborExchange(_ world: Communicator, neighbors: [Int], corrupt: Bool) throws {
    let graph = try world.distributedGraph(neighbors: neighbors)
    defer { graph.free() }
    try expect(graph.inNeighbors == neighbors, "in-neighbours \(graph.inNeighbors), expected \(neighbors)")
    let cheat = corrupt && world.rank == world.size - 1
    let outgoing = graph.outNeighbors.map {
        payload(from: world.rank, to: $0, count: payloadCount(from: world.rank, to: $0) + (cheat ? 1 : 0))
    }
    let incoming = try graph.neighborAlltoallv(outgoing)
    try expect(
        incoming.count == graph.inNeighbors.count,
        "\(incoming.count) arrays for \(graph.inNeighbors.count) in-neighbours")
    for (values, neighbor) in zip(incoming, graph.inNeighbors) {
        try expect(
            values == payload(from: neighbor, to: world.rank, count: payloadCount(from: neighbor, to: world.rank)),
            "from \(neighbor): \(values)")
    }

    // The reusable-buffer form, twice, so the second call reuses the exchange's storage.
    var exchange = NeighborExchange<Double>(for: graph)
    for round in 0..<2 {
        let flat = outgoing.flatMap { $0.map { $0 + Double(round) } }
        try flat.withUnsafeBufferPointer {
            try graph.neighborAlltoallv(flat: $0, counts: outgoing.map(\.count), into: &exchange)
        }
        for (i, neighbor) in graph.inNeighbors.enumerated() {
            let expected = payload(from: neighbor, to: world.rank, count: payloadCount(from: neighbor, to: world.rank))
                .map { $0 + Double(round) }
            try expect(
                Array(exchange.values(from: i)) == expected,
                "round \(round) from \(neighbor): \(exchange.values(from: i))")
        }
    }
    if cheat && neighbors.isEmpty { throw ScenarioFailure(description: "corrupted, and alone") }
}

/// Communicators deliberately kept alive past `MPI.finalize()`, to check that freeing them then is safe.
nonisolated(unsafe) var survivors: [Communicator] = []
