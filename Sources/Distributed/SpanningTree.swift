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
