import LSTM
import Numerics
import Trainers

/// The centralized particle filter: one cloud weighted every step by the product of all K nodes'
/// likelihoods (Theorem 1's optimum), without a node holding everyone's data. The cloud has K N
/// particles, as many as the DPF has over the whole network, so the two are compared at equal
/// particle budgets.
///
/// Every process keeps an identical replica of the cloud (same seed, same keys, node id K). At step
/// t each node evaluates the cloud on its own sequence only (its prediction is the mean of those
/// h_i), the per-particle log-likelihoods are allgathered (N numbers per node), and every replica
/// adds them in node order, normalises, estimates and resamples identically.
public final class CentralizedParticleFilter: DistributedTrainer {
    public let algorithm = Algorithm.cpf
    private let network: Network
    private let settings: DistributedSettings
    private var clouds: [LSTMParticleCloud]
    private var observed: [[Double]]
    private var step = 0
    public private(set) var estimates: [[Double]]
    private var degenerateSteps = 0
    /// K N.
    public let particleCount: Int

    /// Each node's copy of the common cloud after the last resampling: equally weighted.
    public var particleClouds: [ParticleCloudSnapshot]? {
        clouds.map { ParticleCloudSnapshot($0.particles, logWeights: [Double](repeating: 0, count: $0.count)) }
    }

    public init(settings: DistributedSettings, network: Network) {
        self.network = network
        self.settings = settings
        let replicaNode = network.topology.nodeCount
        let count = settings.trainer.particles * network.topology.nodeCount
        particleCount = count
        clouds = network.localNodes.map { _ in
            LSTMParticleCloud(
                model: settings.model, count: count, initialSpread: settings.trainer.initialSpread,
                centre: settings.trainer.initialCentre, jitterVariance: settings.trainer.jitterVariance,
                liuWestShrinkage: settings.trainer.liuWestShrinkage,
                carryState: false, seed: settings.seed, node: replicaNode, precision: settings.trainer.precision)
        }
        observed = network.localNodes.map { _ in [] }
        let uniform = [Double](repeating: 1 / Double(count), count: count)
        estimates = clouds.map { $0.weightedMean(uniform) }
    }

    public var diagnostics: [[String: Double]] {
        network.localNodes.map { _ in ["degenerate_steps": Double(degenerateSteps)] }
    }

    private var uniform: [Double] { [Double](repeating: 1 / Double(particleCount), count: particleCount) }

    public func predict(_ samples: [Sample]) throws -> [Double] {
        step += 1
        return try clouds.indices.map { a in
            clouds[a].propagate(step: step, weights: uniform)
            observed[a] = clouds[a].predictedObservations(input: samples[a])
            let prediction = observed[a].reduce(0, +) / Double(observed[a].count)
            guard prediction.isFinite else {
                throw TrainerError.nonFinite(trainer: "cpf", step: step, what: "the prediction")
            }
            return prediction
        }
    }

    public func update(_ samples: [Sample]) throws {
        let noise = settings.trainer.observationNoise
        let local = clouds.indices.map { a in observed[a].map { logLikelihood(samples[a].label, $0, variance: noise) } }
        let all = try network.allgather(local)
        let count = particleCount
        var total = [Double](repeating: 0, count: count)
        for nodeValues in all {
            guard nodeValues.count == count else {
                throw TrainerError.malformedMessage(
                    from: -1, what: "\(nodeValues.count) log-likelihoods for \(count) particles")
            }
            for i in 0..<count { total[i] += nodeValues[i] }
        }
        var weights = normalizedWeights(fromLog: total) ?? []
        if weights.isEmpty {
            degenerateSteps += 1
            weights = uniform
        }
        for a in clouds.indices {
            estimates[a] = clouds[a].weightedMean(weights)
            guard estimates[a].allSatisfy(\.isFinite) else {
                throw TrainerError.nonFinite(trainer: "cpf", step: step, what: "the posterior mean")
            }
            var random = RandomStream(
                seed: settings.seed, node: network.topology.nodeCount, step: step, purpose: .resampling)
            clouds[a].select(settings.trainer.resampling.ancestors(weights: weights, count: count, random: &random))
        }
    }
}
