import Numerics

/// The built-in graph families of `--topology`.
extension Topology {
    private static func fromEdges(_ name: String, _ k: Int, _ edges: [(Int, Int)]) throws -> Topology {
        var a = [[Bool]](repeating: [Bool](repeating: false, count: k), count: k)
        for (i, j) in edges where i != j {
            a[i][j] = true
            a[j][i] = true
        }
        return try Topology(name: name, adjacency: a)
    }

    public static func ring(_ k: Int) throws -> Topology {
        try fromEdges("ring", k, (0..<k).map { ($0, ($0 + 1) % k) })
    }

    public static func line(_ k: Int) throws -> Topology {
        try fromEdges("line", k, (0..<max(k - 1, 0)).map { ($0, $0 + 1) })
    }

    /// Node 0 is the hub.
    public static func star(_ k: Int) throws -> Topology {
        try fromEdges("star", k, (1..<max(k, 1)).map { (0, $0) })
    }

    public static func complete(_ k: Int) throws -> Topology {
        try fromEdges("complete", k, (0..<k).flatMap { i in (0..<k).map { (i, $0) } })
    }

    /// A rows x columns grid with wrap-around; node r * columns + c.
    public static func torus(rows: Int, columns: Int) throws -> Topology {
        var edges = [(Int, Int)]()
        for r in 0..<rows {
            for c in 0..<columns {
                edges.append((r * columns + c, r * columns + (c + 1) % columns))
                edges.append((r * columns + c, ((r + 1) % rows) * columns + c))
            }
        }
        return try fromEdges("torus:\(rows)x\(columns)", rows * columns, edges)
    }

    /// G(K, probability) with each edge drawn from the counter-based stream of `seed`; redrawn (with
    /// the next attempt number) until connected, up to 1000 attempts.
    public static func erdosRenyi(_ k: Int, probability: Double, seed: UInt64) throws -> Topology {
        let name = "erdos-renyi:\(probability):\(seed)"
        for attempt in 0..<1000 {
            var random = RandomStream(seed: seed, step: attempt, purpose: .walk, index: Int(UInt32.max))
            var edges = [(Int, Int)]()
            for i in 0..<k {
                for j in (i + 1)..<max(k, i + 1) where random.nextUniform() < probability { edges.append((i, j)) }
            }
            if let graph = try? fromEdges(name, k, edges) { return graph }
        }
        throw TopologyError("--topology \(name): no connected graph in 1000 draws; raise the edge probability")
    }

    /// A `--topology` value: a built-in name (ring, line, star, complete, torus, torus:RxC,
    /// erdos-renyi:P[:SEED]) or the path of an adjacency-matrix file, for `nodes` nodes.
    public static func named(_ spec: String, nodes: Int, seed: UInt64 = 1) throws -> Topology {
        guard nodes >= 1 else { throw TopologyError("--topology: need at least one node") }
        let parts = spec.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        switch parts[0] {
        case "ring": return try ring(nodes)
        case "line": return try line(nodes)
        case "star": return try star(nodes)
        case "complete": return try complete(nodes)
        case "torus":
            if parts.count == 2 {
                let dims = parts[1].split(separator: "x").compactMap { Int($0) }
                guard dims.count == 2, dims[0] >= 1, dims[1] >= 1 else {
                    throw TopologyError("--topology \(spec): expected torus:RxC, e.g. torus:2x3")
                }
                guard dims[0] * dims[1] == nodes else {
                    throw TopologyError(
                        "--topology \(spec): a \(dims[0])x\(dims[1]) torus has \(dims[0] * dims[1]) nodes but there "
                            + "are \(nodes) ranks"
                    )
                }
                return try torus(rows: dims[0], columns: dims[1])
            }
            // The most nearly square factorisation.
            let rows = stride(from: Int(Double(nodes).squareRoot()), through: 1, by: -1).first { nodes % $0 == 0 }!
            return try torus(rows: rows, columns: nodes / rows)
        case "erdos-renyi":
            guard parts.count >= 2, let p = Double(parts[1]), p > 0, p <= 1 else {
                throw TopologyError("--topology \(spec): expected erdos-renyi:P[:SEED] with 0 < P <= 1")
            }
            var graphSeed = seed
            if parts.count == 3 {
                guard let s = UInt64(parts[2]) else {
                    throw TopologyError("--topology \(spec): the seed must be a non-negative integer")
                }
                graphSeed = s
            }
            return try erdosRenyi(nodes, probability: p, seed: graphSeed)
        default:
            let topology = try load(path: spec)
            guard topology.nodeCount == nodes else {
                throw TopologyError(
                    "\(spec): the adjacency matrix has \(topology.nodeCount) nodes but there are \(nodes) ranks (one "
                        + "node per rank)"
                )
            }
            return topology
        }
    }
}
