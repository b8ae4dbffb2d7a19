import DataSources
import LSTM
import Testing
import Trainers

@testable import Distributed

/// The centralized PF's two ways of summing the nodes' log-likelihoods, in one process.
@Suite("the centralized PF over a spanning tree")
struct CentralizedReduceTests {
    /// 12 steps of cpf on `topology`: every node's predictions, estimates, and bytes sent.
    func run(_ topology: Topology, reduce: CentralizedReduce, noise: ObservationNoise = .fixed(0.01)) throws
        -> (predictions: [[Double]], estimates: [[Double]], bytes: [Int])
    {
        let network = InProcessNetwork(topology: topology)
        let shape = LSTMShape(hidden: 2, input: 2)
        let teacher = SyntheticTeacher(shape: shape, noiseVariance: 0.002, count: .max, seed: 5)
        var settings = DistributedSettings(model: LSTMModel(shape: shape))
        (settings.pf.particles, settings.pf.observationNoise, settings.reduce) = (13, noise, reduce)
        let trainer = CentralizedParticleFilter(settings: settings, network: network)
        var predictions = [[Double]]()
        for t in 0..<12 {
            let samples = (0..<topology.nodeCount).map { teacher.sample(t * topology.nodeCount + $0) }
            predictions.append(try trainer.predict(samples))
            try trainer.update(samples)
        }
        return (predictions, trainer.estimates, network.traffic.map(\.bytesSent))
    }

    @Test(
        "tree reduce equals allgather bit for bit; every message between neighbours",
        arguments: ["line", "star", "ring", "torus"], [ObservationNoise.fixed(0.01), .auto])
    func treeEqualsAllgather(spec: String, noise: ObservationNoise) throws {
        let topology = try Topology.named(spec, nodes: spec == "torus" ? 6 : 5)
        let gathered = try run(topology, reduce: .allgather, noise: noise)
        let tree = try run(topology, reduce: .tree, noise: noise)
        let (samePredictions, sameEstimates) = (
            tree.predictions == gathered.predictions, tree.estimates == gathered.estimates
        )
        #expect(samePredictions && sameEstimates, "the two reductions differ")
        #expect(Set(tree.estimates).count == 1, "every node holds the same posterior")
        // K N + 1 numbers per message: allgather sends one to each of the K - 1 others, the tree
        // one up (all but the root) and one down to each child: 2 (K - 1) over the network.
        let k = topology.nodeCount, message = (13 * k + 1) * 8 * 12
        #expect(gathered.bytes.allSatisfy { $0 == (k - 1) * message })
        #expect(tree.bytes.reduce(0, +) == 2 * (k - 1) * message)
    }

    @Test("the spanning tree's fold is its reduction's order, not the nodes' order")
    func foldOrder() throws {
        // Rooted at 0, the line 0-1-2 folds as v0 + (v1 + v2): with these values the two orders differ.
        let tree = SpanningTree(topology: try Topology.named("line", nodes: 3))
        let values: [[Double]] = [[1e16], [1], [1]]
        let folded = tree.fold(values) { zip($0, $1).map { $0 + $1 } }
        #expect(folded == [1e16 + 2])
        #expect(folded != [(1e16 + 1) + 1])
    }
}
