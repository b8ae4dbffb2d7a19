import DataSources
import LSTM
import Numerics
import Testing
import Trainers

@testable import Distributed

/// delm against least squares over every row any node has seen (`docs/design/elm.md`).
@Suite("distributed ELM in one process")
struct DistributedELMTests {
    @Test(
        "after each sync every node predicts with the solution over all nodes' rows, own rows added between syncs",
        arguments: [("ring", 3, 1.0), ("line", 5, 1.0), ("star", 4, 0.9)])
    func syncEqualsBatch(topology: String, nodes: Int, forgetting: Double) throws {
        let network = InProcessNetwork(topology: try Topology.named(topology, nodes: nodes))
        var settings = DistributedSettings(model: LSTMModel(shape: LSTMShape(hidden: 6, input: 2)))
        (settings.elm.forgetting, settings.elm.ridge, settings.sync.every) = (forgetting, 1e-3, 4)
        let trainer = DistributedELM(settings: settings, network: network)
        let features = ELMFeatures(model: settings.model, seed: settings.seed, scale: settings.elm.scale)
        let teacher = SyntheticTeacher(
            shape: LSTMShape(hidden: 2, input: 2), noiseVariance: 0.002, count: .max, seed: 5)
        var everyone = LeastSquaresTriangle(columns: features.featureCount + 1, ridge: 1e-3)
        var lastSync = everyone
        var own = [LeastSquaresTriangle](repeating: everyone, count: nodes)
        for t in 0..<14 {
            let samples = (0..<nodes).map { teacher.sample(t * nodes + $0) }
            let predictions = try trainer.predict(samples)
            for k in 0..<nodes {
                let beta = try own[k].solve().beta
                let h = features.rows([samples[k]])
                let expected = zip(beta, h).map { $0 * $1 }.reduce(0, +)
                #expect(abs(predictions[k] - expected) <= 1e-10, "step \(t + 1), node \(k)")
            }
            try trainer.update(samples)
            for k in 0..<nodes {
                let row = features.rows([samples[k]]) + [samples[k].label]
                everyone.add(rows: row, forgetting: k == 0 ? forgetting : 1)
                own[k].add(rows: row, forgetting: forgetting)
            }
            if (t + 1) % 4 == 0 {
                lastSync = everyone
                own = [LeastSquaresTriangle](repeating: lastSync, count: nodes)
            }
        }
        // Only the tree's edges carried triangles: K - 1 of them, up and down, 3 syncs.
        let c = features.featureCount + 1
        let message = (1 + c * (c + 1) / 2) * 8
        #expect(network.traffic.map(\.bytesSent).reduce(0, +) == 3 * 2 * (nodes - 1) * message)
    }
}
