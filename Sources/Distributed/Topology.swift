import Foundation
import Numerics

/// A bad topology: which file and line (or which option), and what was expected.
public struct TopologyError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// An undirected graph of K nodes without self loops: node k is MPI rank k. Built from an
/// adjacency matrix file or a built-in family, and validated (symmetric, zero diagonal, connected).
public struct Topology: Sendable, Equatable {
    /// What the user asked for: "ring", "torus:2x3", a file path, ...
    public let name: String
    /// neighbors[k]: node k's neighbours in ascending order. Every exchange goes to these only.
    public let neighbors: [[Int]]

    public var nodeCount: Int { neighbors.count }
    public var degrees: [Int] { neighbors.map(\.count) }
    /// |E|, each undirected edge once.
    public var edgeCount: Int { degrees.reduce(0, +) / 2 }

    /// From a symmetric 0/1 adjacency matrix. Throws unless it is a valid connected graph.
    public init(name: String, adjacency: [[Bool]]) throws {
        let k = adjacency.count
        for i in 0..<k {
            if adjacency[i][i] { throw TopologyError("\(name): node \(i) has a self loop (the diagonal must be 0)") }
            for j in 0..<k where adjacency[i][j] != adjacency[j][i] {
                throw TopologyError("\(name): not symmetric: entry (\(i), \(j)) is \(adjacency[i][j] ? 1 : 0) but (\(j), \(i)) is \(adjacency[j][i] ? 1 : 0)")
            }
        }
        self.name = name
        self.neighbors = (0..<k).map { i in (0..<k).filter { adjacency[i][$0] } }
        if let isolated = unreachableNode {
            throw TopologyError("\(name): the graph is not connected (node \(isolated) cannot be reached from node 0)")
        }
    }

    /// The first node not reachable from node 0, or nil if the graph is connected.
    private var unreachableNode: Int? {
        guard nodeCount > 0 else { return nil }
        var seen = [Bool](repeating: false, count: nodeCount)
        var frontier = [0]
        seen[0] = true
        while let node = frontier.popLast() {
            for next in neighbors[node] where !seen[next] {
                seen[next] = true
                frontier.append(next)
            }
        }
        return seen.firstIndex(of: false)
    }

    /// True if the nodes split in two sets with every edge between them: then the simple random
    /// walk is periodic (period 2) and never mixes.
    public var isBipartite: Bool {
        var side = [Int](repeating: -1, count: nodeCount)
        for start in 0..<nodeCount where side[start] < 0 {
            side[start] = 0
            var frontier = [start]
            while let node = frontier.popLast() {
                for next in neighbors[node] {
                    if side[next] < 0 {
                        side[next] = 1 - side[node]
                        frontier.append(next)
                    } else if side[next] == side[node] {
                        return false
                    }
                }
            }
        }
        return nodeCount > 1
    }

    /// Metropolis weights c_lk = 1 / max(|N_k|, |N_l|) (|N| counts the node itself) for neighbours,
    /// c_kk = 1 - the rest: symmetric, rows and columns sum to 1. Row k, column l.
    public var metropolisWeights: [[Double]] {
        let d = degrees
        var c = [[Double]](repeating: [Double](repeating: 0, count: nodeCount), count: nodeCount)
        for k in 0..<nodeCount {
            for l in neighbors[k] { c[k][l] = 1 / Double(max(d[k], d[l]) + 1) }
            c[k][k] = 1 - neighbors[k].reduce(0) { $0 + c[k][$1] }
        }
        return c
    }

    // MARK: built-in families

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
            for i in 0..<k { for j in (i + 1)..<max(k, i + 1) where random.nextUniform() < probability { edges.append((i, j)) } }
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
                    throw TopologyError("--topology \(spec): a \(dims[0])x\(dims[1]) torus has \(dims[0] * dims[1]) nodes but there are \(nodes) ranks")
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
                guard let s = UInt64(parts[2]) else { throw TopologyError("--topology \(spec): the seed must be a non-negative integer") }
                graphSeed = s
            }
            return try erdosRenyi(nodes, probability: p, seed: graphSeed)
        default:
            let topology = try load(path: spec)
            guard topology.nodeCount == nodes else {
                throw TopologyError("\(spec): the adjacency matrix has \(topology.nodeCount) nodes but there are \(nodes) ranks (one node per rank)")
            }
            return topology
        }
    }

    /// Reads an adjacency matrix: K lines of K numbers (0 or 1) separated by spaces, tabs or commas;
    /// blank lines and lines starting with # are skipped.
    public static func load(path: String) throws -> Topology {
        guard let data = FileManager.default.contents(atPath: path) else {
            let exists = FileManager.default.fileExists(atPath: path)
            throw TopologyError("\(path): \(exists ? "cannot be read" : "no such file (expected a built-in topology name or an adjacency-matrix file)")")
        }
        guard let text = String(data: data, encoding: .utf8) else { throw TopologyError("\(path): not UTF-8 text") }
        return try parse(text, name: path)
    }

    public static func parse(_ text: String, name: String) throws -> Topology {
        var rows = [[Bool]]()
        var firstLine = [Int]()
        // Character.isNewline: "\r\n" is one Character in Swift, so splitting on "\n" alone would
        // leave a file saved on Windows as one line.
        for (index, raw) in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespacesAndNewlines)
            if line.isEmpty || line.hasPrefix("#") { continue }
            let fields = line.split(whereSeparator: { $0.isWhitespace || $0 == "," })
            var row = [Bool]()
            for field in fields {
                switch field {
                case "0": row.append(false)
                case "1": row.append(true)
                default: throw TopologyError("\(name):\(index + 1): '\(field)' is not 0 or 1")
                }
            }
            if let expected = rows.first?.count, row.count != expected {
                throw TopologyError("\(name):\(index + 1): \(row.count) entries, but line \(firstLine[0]) has \(expected) (the matrix must be square)")
            }
            firstLine.append(index + 1)
            rows.append(row)
        }
        guard !rows.isEmpty else { throw TopologyError("\(name): no matrix rows") }
        guard rows.count == rows[0].count else {
            throw TopologyError("\(name): \(rows.count) rows of \(rows[0].count) entries (the matrix must be square)")
        }
        return try Topology(name: name, adjacency: rows)
    }
}

/// How a DPF particle picks its next node.
public enum WalkKind: String, CaseIterable, Sendable {
    /// The paper's A: a uniformly chosen neighbour, no self loops. Periodic on bipartite graphs.
    case simple
    /// Stay with probability 1/2, else as `simple`: always aperiodic.
    case lazy
    /// The Metropolis weights as transition probabilities: doubly stochastic, uniform stationary law.
    case metropolis
}

/// A random walk on a topology: transition probabilities, stationary law, mixing.
public struct RandomWalk: Sendable {
    public let topology: Topology
    public let kind: WalkKind
    /// transitions[k]: (next node, probability) from node k, next nodes ascending (self included
    /// when it may stay), probabilities summing to 1.
    public let transitions: [[(node: Int, probability: Double)]]
    /// pi: the walk's stationary law.
    public let stationary: [Double]

    public init(topology: Topology, kind: WalkKind) {
        self.topology = topology
        self.kind = kind
        let k = topology.nodeCount
        let degrees = topology.degrees
        var rows = [[(node: Int, probability: Double)]]()
        let weights = kind == .metropolis ? topology.metropolisWeights : []
        for i in 0..<k {
            let out = topology.neighbors[i]
            if out.isEmpty {
                rows.append([(i, 1)])  // a single node: the particle stays
                continue
            }
            switch kind {
            case .simple:
                rows.append(out.map { ($0, 1 / Double(out.count)) })
            case .lazy:
                rows.append(([i] + out).sorted().map { ($0, $0 == i ? 0.5 : 0.5 / Double(out.count)) })
            case .metropolis:
                rows.append(([i] + out).sorted().map { ($0, weights[i][$0]) }.filter { $0.1 > 0 })
            }
        }
        transitions = rows
        let twiceEdges = Double(2 * topology.edgeCount)
        if kind == .metropolis || twiceEdges == 0 {
            stationary = [Double](repeating: 1 / Double(k), count: k)
        } else {
            // Simple and lazy walks: pi_j = eta_j / 2|E|.
            stationary = degrees.map { Double($0) / twiceEdges }
        }
    }

    /// The DPF exponent of node j's likelihood: 1 / (s pi_j), so that the expected number of
    /// visits times the exponent is 1 (2|E| / (s eta_j) for the simple walk).
    public func exponent(node j: Int, steps s: Int) -> Double { 1 / (Double(s) * stationary[j]) }

    /// The eigenvalues of the transition matrix (real: the walk is reversible), ascending.
    public var eigenvalues: [Double] {
        let k = topology.nodeCount
        // S = D^(1/2) P D^(-1/2), D = diag(pi), is symmetric for a reversible walk and has P's spectrum.
        var s = Matrix(rows: k, columns: k)
        for i in 0..<k {
            for (j, p) in transitions[i] { s[i, j] = (stationary[i] / stationary[j]).squareRoot() * p }
        }
        s.symmetrize()
        return symmetricEigenvalues(s) ?? []
    }

    /// The second-largest eigenvalue modulus: how fast the walk forgets where it started
    /// (1 means it never does).
    public var slem: Double {
        let values = eigenvalues
        guard values.count > 1 else { return 0 }
        return values.dropLast().map(abs).max() ?? 0
    }

    /// True if the walk has period 2 (eigenvalue -1): a bipartite graph with no self loops.
    public var isPeriodic: Bool { (eigenvalues.first ?? 0) < -1 + 1e-9 }
}
