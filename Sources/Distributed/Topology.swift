import Foundation

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
                throw TopologyError(
                    "\(name): not symmetric: entry (\(i), \(j)) is \(adjacency[i][j] ? 1 : 0) but (\(j), \(i)) is "
                        + "\(adjacency[j][i] ? 1 : 0)"
                )
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
}
