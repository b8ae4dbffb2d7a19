import Numerics

/// A breadth-first spanning tree of the graph from a root: a reduction along it sends every message
/// between graph neighbours (TSQR's triangles in `delm`). Children are visited in ascending order,
/// so every process builds the same tree.
public struct SpanningTree: Sendable, Equatable {
    public let root: Int
    /// parent[k], nil for the root.
    public let parent: [Int?]
    public let depth: [Int]
    /// children[k], ascending.
    public let children: [[Int]]
    public var height: Int { depth.max() ?? 0 }

    public init(topology: Topology, root: Int = 0) {
        let k = topology.nodeCount
        var parent = [Int?](repeating: nil, count: k)
        var depth = [Int](repeating: -1, count: k)
        depth[root] = 0
        var frontier = [root]
        while !frontier.isEmpty {
            var next = [Int]()
            for node in frontier {
                for neighbour in topology.neighbors[node] where depth[neighbour] < 0 {
                    (depth[neighbour], parent[neighbour]) = (depth[node] + 1, node)
                    next.append(neighbour)
                }
            }
            frontier = next
        }
        precondition(!depth.contains(-1), "a spanning tree of a connected graph")
        self.root = root
        self.parent = parent
        self.depth = depth
        children = (0..<k).map { node in (0..<k).filter { parent[$0] == node } }
    }
}

extension SpanningTree {
    /// Up the tree, deepest level first: each node merges its children's values (ascending, so every
    /// transport merges alike) into its own and sends the result to its parent. Returns each local
    /// node's merged value (its subtree's); the root's is everyone's. One neighbour exchange a level.
    public func reduce(
        _ values: [[Double]], over network: Network, merge: ([Double], [Double]) throws -> [Double]
    ) throws -> [[Double]] {
        let nodes = network.localNodes
        var merged = values
        for level in stride(from: height, to: 0, by: -1) {
            let outgoing = nodes.indices.map { a in
                network.topology.neighbors[nodes[a]].map { neighbour in
                    depth[nodes[a]] == level && parent[nodes[a]] == neighbour ? merged[a] : []
                }
            }
            let incoming = try network.exchange(outgoing)
            for (a, node) in nodes.enumerated() where depth[node] == level - 1 {
                for (b, neighbour) in network.topology.neighbors[node].enumerated() where parent[neighbour] == node {
                    merged[a] = try merge(merged[a], incoming[a][b])
                }
            }
        }
        return merged
    }

    /// What `reduce` leaves at the root, computed in one process from every node's value
    /// (`values[k]` node k's): the same merges in the same order, so the same bits.
    public func fold(_ values: [[Double]], merge: ([Double], [Double]) throws -> [Double]) rethrows -> [Double] {
        func subtree(_ node: Int) throws -> [Double] {
            var merged = values[node]
            for child in children[node] { merged = try merge(merged, subtree(child)) }
            return merged
        }
        return try subtree(root)
    }

    /// TSQR: each local node's triangle merged with its subtree's (complete at the root), each
    /// message one packed triangle.
    public func reduce(_ triangles: [LeastSquaresTriangle], over network: Network) throws -> [LeastSquaresTriangle] {
        let columns = triangles[0].columns
        return try reduce(triangles.map(\.message), over: network) { mine, child in
            var merged = LeastSquaresTriangle(columns: columns, message: mine)
            merged.merge(LeastSquaresTriangle(columns: columns, message: child))
            return merged.message
        }.map { LeastSquaresTriangle(columns: columns, message: $0) }
    }

    /// Down the tree: the root's triangle to every node.
    public func broadcast(_ triangles: [LeastSquaresTriangle], over network: Network) throws
        -> [LeastSquaresTriangle]
    {
        let columns = triangles[0].columns
        return try broadcast(triangles.map(\.message), over: network).map {
            LeastSquaresTriangle(columns: columns, message: $0)
        }
    }

    /// Down the tree: the root's value (from `values`) to every node.
    public func broadcast(_ values: [[Double]], over network: Network) throws -> [[Double]] {
        let nodes = network.localNodes
        var result = values
        for level in 0..<height {
            let outgoing = nodes.indices.map { a in
                network.topology.neighbors[nodes[a]].map { neighbour in
                    depth[nodes[a]] == level && parent[neighbour] == nodes[a] ? result[a] : []
                }
            }
            let incoming = try network.exchange(outgoing)
            for (a, node) in nodes.enumerated() where depth[node] == level + 1 {
                result[a] = incoming[a][network.topology.neighbors[node].firstIndex(of: parent[node]!)!]
            }
        }
        return result
    }
}
