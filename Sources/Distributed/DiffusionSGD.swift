import LSTM
import Trainers

/// Diffusion SGD, adapt then combine: theta_k <- sum_l c_lk (theta_l - mu grad_l), over the
/// neighbourhood with Metropolis weights. Crosses the wire: n_theta numbers to each neighbour.
public final class DiffusionSGD: DistributedTrainer {
    public let algorithm = Algorithm.dsgd
    private let network: Network
    private let weights: [[Double]]
    private var trainers: [SGDTrainer]

    public init(settings: DistributedSettings, network: Network) {
        self.network = network
        weights = network.topology.metropolisWeights
        // One common start, as if agreed beforehand: combination then only averages what was learned.
        trainers = network.localNodes.map { _ in
            SGDTrainer(model: settings.model, settings: settings.sgd, seed: settings.seed, node: 0)
        }
    }

    public func predict(_ samples: [Sample]) throws -> [Double] {
        try samples.indices.map { try trainers[$0].predict(samples[$0]) }
    }

    public func checkpointState() throws -> [CheckpointRecord] { trainers.map { $0.checkpointState() } }

    public func restoreState(_ states: [CheckpointRecord]) throws {
        guard states.count == trainers.count else {
            throw TrainerError.malformedCheckpoint("dsgd: \(states.count) node states")
        }
        for a in trainers.indices { try trainers[a].restoreState(states[a]) }
    }

    public func update(_ samples: [Sample]) throws {
        for a in samples.indices { try trainers[a].update(samples[a]) }
        let topology = network.topology
        let outgoing = network.localNodes.indices.map { a in
            [[Double]](repeating: trainers[a].parameters, count: topology.neighbors[network.localNodes[a]].count)
        }
        let incoming = try network.exchange(outgoing)
        for (a, node) in network.localNodes.enumerated() {
            let received = Dictionary(uniqueKeysWithValues: zip(topology.neighbors[node], incoming[a]))
            trainers[a].setParameters(
                combine(own: trainers[a].parameters, node: node, received: received, weights: weights))
        }
    }

    public var estimates: [[Double]] { trainers.map(\.parameters) }
}
