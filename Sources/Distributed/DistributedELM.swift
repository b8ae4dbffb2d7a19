import Foundation
import LSTM
import Numerics
import Trainers

/// The distributed online ELM (`delm`): every node runs the local ELM on its own stream; every
/// `sync.every` steps the rows all nodes saw since the last sync are combined, as QR triangles,
/// up a breadth-first spanning tree of the graph (TSQR: every message between graph neighbours),
/// the root folds them into the global triangle, and that triangle goes back down the tree. Each
/// node then holds the triangle of every row any node has seen, and between syncs adds its own
/// rows to it. With forgetting, every row's weight decays by lambda a step wherever it is.
/// The root solves nothing: each node solves its own triangle when it predicts.
public final class DistributedELM: DistributedTrainer {
    public let algorithm = Algorithm.delm
    private let network: Network
    private let tree: SpanningTree
    private let every: Int
    private let forgetting: Double
    private var learners: [ELMTrainer]
    /// Per local node: the global triangle at the last sync, and its own rows since.
    private var global: [LeastSquaresTriangle]
    private var fresh: [LeastSquaresTriangle]
    private var step = 0

    public init(settings: DistributedSettings, network: Network) {
        self.network = network
        tree = SpanningTree(topology: network.topology)
        every = settings.sync.every
        let elm = settings.elm
        forgetting = elm.forgetting
        let features = ELMFeatures(
            model: settings.model, seed: settings.seed, scale: elm.scale, directLink: elm.directLink)
        learners = network.localNodes.map { _ in
            ELMTrainer(features: features, forgetting: elm.forgetting, ridge: elm.ridge)
        }
        global = learners.map(\.triangle)
        fresh = learners.map { LeastSquaresTriangle(columns: $0.triangle.columns) }
    }

    public func predict(_ samples: [Sample]) throws -> [Double] {
        try samples.indices.map { try learners[$0].predict(samples[$0]) }
    }

    public func update(_ samples: [Sample]) throws {
        for a in samples.indices {
            try learners[a].update(samples[a])
            fresh[a].add(rows: learners[a].lastRow, forgetting: forgetting)
        }
        step += 1
        if step % every == 0 { try synchronize() }
    }

    public var estimates: [[Double]] { learners.map(\.parameters) }

    /// Messages: [rows, packed triangle] to the parent (up), then to each child (down).
    private func synchronize() throws {
        let nodes = network.localNodes
        let columns = global[0].columns
        let gathered = try tree.reduce(fresh, over: network)
        for (a, node) in nodes.enumerated() where node == tree.root {
            var combined = global[a].scaled(by: pow(forgetting, Double(every)))
            combined.merge(gathered[a])
            global[a] = combined
        }
        global = try tree.broadcast(global, over: network)
        for a in nodes.indices {
            learners[a].setTriangle(global[a])
            fresh[a] = LeastSquaresTriangle(columns: columns)
        }
    }

    public func checkpointState() throws -> [CheckpointRecord] {
        learners.indices.map { a in
            var record = CheckpointRecord()
            record.append("step", step)
            record.append("learner", learners[a].checkpointState())
            record.append("global_rows", global[a].rows)
            record.append("global", global[a].packed)
            record.append("fresh_rows", fresh[a].rows)
            record.append("fresh", fresh[a].packed)
            return record
        }
    }

    public func restoreState(_ states: [CheckpointRecord]) throws {
        guard states.count == learners.count else {
            throw TrainerError.malformedCheckpoint("delm: \(states.count) node states")
        }
        let c = global[0].columns
        for (a, state) in states.enumerated() {
            try learners[a].restoreState(state.record("learner"))
            global[a] = LeastSquaresTriangle(
                columns: c, packed: try state.doubles("global", count: c * (c + 1) / 2),
                rows: try state.int("global_rows"))
            fresh[a] = LeastSquaresTriangle(
                columns: c, packed: try state.doubles("fresh", count: c * (c + 1) / 2),
                rows: try state.int("fresh_rows"))
            step = try state.int("step")
        }
    }
}
