import Foundation
import LSTM
import Numerics
import Trainers

/// How the centralized PF's nodes agree on the cloud's log-likelihoods.
public enum CentralizedReduce: String, CaseIterable, Codable, Sendable {
    /// Every node sends its vector to every other (MPI_Allgatherv on all ranks): not neighbour-only.
    case allgather
    /// Summed up a breadth-first spanning tree of the graph and sent back down: every message
    /// between graph neighbours, 2 (K - 1) messages of K N + 1 numbers per step.
    case tree
}

/// The centralized particle filter: one cloud weighted every step by the product of all K nodes'
/// likelihoods (Theorem 1's optimum), without a node holding everyone's data. The cloud has K N
/// particles, as many as the DPF has over the whole network, so the two are compared at equal
/// particle budgets.
///
/// Every process keeps an identical replica of the cloud (same seed, same keys, node id K). At step
/// t each node evaluates the cloud on its own sequence only (its prediction is the mean of those
/// h_i); the nodes sum, per particle, the squared residuals (d_k - h_i,k)^2, and with them their
/// squared prediction errors, so that `auto` agrees on one Var[eps] from the network's mean error.
/// The sum is taken in the order of a reduction up the graph's breadth-first spanning tree, whether
/// it travels up that tree (`tree`) or every node gathers every vector and adds them in that order
/// (`allgather`): both give the same bits. Every replica then weighs by
/// log p = -(K log(2 pi Var[eps]) + sum_k residual_k^2 / Var[eps]) / 2 (`GaussianLikelihood` of K
/// observations), and ends the step (`SMCStepEnd`) identically.
public final class CentralizedParticleFilter: DistributedTrainer {
    public let algorithm = Algorithm.cpf
    private let network: Network
    private let settings: DistributedSettings
    private let tree: SpanningTree
    public let reduce: CentralizedReduce
    private var clouds: [LSTMParticleCloud]
    private var observed: [[Double]]
    private var predictions: [Double]
    /// Per replica, Var[eps]: fixed, or estimated from the network's mean squared prediction error
    /// (the same numbers on every replica).
    private var noise: [NoiseEstimator]
    private var step = 0
    /// Per replica, the end of its SMC step (the same on every replica: each meets the same sums).
    private var ends: [SMCStepEnd]
    public var stepTraces: [FilterStepTrace]? { ends.map(\.trace) }
    public private(set) var estimates: [[Double]]
    /// K N.
    public let particleCount: Int

    /// Each node's copy of the common cloud after the last resampling: equally weighted.
    public var particleClouds: [ParticleCloudSnapshot]? {
        clouds.map { ParticleCloudSnapshot($0.particles, logWeights: [Double](repeating: 0, count: $0.count)) }
    }

    public init(settings: DistributedSettings, network: Network) {
        self.network = network
        self.settings = settings
        tree = SpanningTree(topology: network.topology)
        reduce = settings.reduce
        let replicaNode = network.topology.nodeCount
        let count = settings.pf.particles * network.topology.nodeCount
        particleCount = count
        clouds = network.localNodes.map { _ in
            LSTMParticleCloud(
                model: settings.model, count: count, initialSpread: settings.pf.initialSpread,
                centre: settings.pf.initialCentre, jitterVariance: settings.pf.jitterVariance,
                liuWestShrinkage: settings.pf.liuWestShrinkage,
                carryState: false, seed: settings.seed, node: replicaNode, precision: settings.pf.precision)
        }
        observed = network.localNodes.map { _ in [] }
        predictions = network.localNodes.map { _ in 0 }
        noise = network.localNodes.map { _ in NoiseEstimator(settings.pf.observationNoise) }
        ends = network.localNodes.map { _ in
            SMCStepEnd(trainer: "cpf", scheme: settings.pf.resampling, seed: settings.seed, node: replicaNode)
        }
        let uniform = [Double](repeating: 1 / Double(count), count: count)
        estimates = clouds.map { $0.weightedMean(uniform) }
    }

    public var diagnostics: [[String: Double]] {
        ends.map { ["degenerate_steps": Double($0.degenerateSteps)] }
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
            predictions[a] = prediction
            return prediction
        }
    }

    public func update(_ samples: [Sample]) throws {
        let count = particleCount, nodes = Double(network.topology.nodeCount)
        let local = clouds.indices.map { a in
            let d = samples[a].label
            return observed[a].map { (d - $0) * (d - $0) } + [(d - predictions[a]) * (d - predictions[a])]
        }
        let sums = try sumOverNodes(local)
        for a in clouds.indices {
            noise[a].observe(squaredError: sums[a][count] / nodes)
            let likelihood = GaussianLikelihood(variance: noise[a].variance, observations: network.topology.nodeCount)
            var logLikelihoods = sums[a].prefix(count).map { likelihood.logDensity(squaredResidual: $0) }
            // The cloud is read in place: a copy held across `select` would make it copy the whole cloud.
            try ends[a].finish(
                logWeights: &logLikelihoods, observationNoise: likelihood.variance, step: step, resampleTo: count,
                estimate: &estimates[a]
            ) { weights, mean in mean = self.clouds[a].weightedMean(weights) }
            clouds[a].select(ends[a].ancestors)
        }
    }

    /// The element-wise sum of every node's vector, in the spanning tree's order, at every local node.
    private func sumOverNodes(_ local: [[Double]]) throws -> [[Double]] {
        let length = particleCount + 1
        func checked(_ vectors: [[Double]]) throws -> [[Double]] {
            for values in vectors where values.count != length {
                throw TrainerError.malformedMessage(from: -1, what: "\(values.count) numbers for \(length)")
            }
            return vectors
        }
        func add(_ mine: [Double], _ other: [Double]) throws -> [Double] {
            zip(mine, try checked([other])[0]).map { $0 + $1 }
        }
        switch reduce {
        case .allgather:
            let sum = try tree.fold(checked(network.allgather(local)), merge: add)
            return local.map { _ in sum }
        case .tree:
            return try checked(tree.broadcast(tree.reduce(local, over: network, merge: add), over: network))
        }
    }
}
