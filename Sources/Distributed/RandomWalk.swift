import Numerics

/// How a DPF particle picks its next node.
public enum WalkKind: String, CaseIterable, Codable, Sendable {
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
