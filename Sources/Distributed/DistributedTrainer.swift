import LSTM
import Numerics
import Trainers

/// The algorithms of `dlstm train --algorithm`.
public enum Algorithm: String, CaseIterable, Sendable {
    /// Local SGD, EKF, PF: one per node, no communication (the paper's baselines).
    case sgd, ekf, pf
    /// Diffusion SGD: adapt, then combine neighbours' parameters with Metropolis weights.
    case dsgd
    /// Diffusion EKF (paper sec. 3.1): incremental update over the neighbourhood's observations,
    /// then combination of states and covariances with Metropolis weights.
    case dekf
    /// Markov-chain distributed particle filter (paper Algorithm 1): particles walk between nodes.
    case dpf
    /// Centralized PF: every step weighted by all K likelihoods (the optimum DPF approaches).
    case cpf

    public var isParticleFilter: Bool { self == .pf || self == .dpf || self == .cpf }
}

/// Everything a distributed trainer needs besides the network: the model, the local trainers'
/// settings (paper defaults), and the DPF's walk.
public struct DistributedSettings: Sendable {
    public var model: LSTMModel
    public var trainer = TrainerSettings()
    /// s: random-walk moves per step (paper: 3).
    public var walkSteps = 3
    public var walk = WalkKind.simple
    public var seed: UInt64 = 1

    public init(model: LSTMModel) { self.model = model }
}

/// One step of the online protocol at every local node, in lockstep with every other process.
public protocol DistributedTrainer: AnyObject {
    var algorithm: Algorithm { get }
    /// d_hat for each local node's sample, before its label is seen.
    func predict(_ samples: [Sample]) throws -> [Double]
    /// Learns from the labels of the same samples, talking to neighbours as the algorithm says.
    func update(_ samples: [Sample]) throws
    /// Each local node's current estimate of theta.
    var estimates: [[Double]] { get }
    /// Per local node, algorithm-specific counters for the report (name -> value).
    var diagnostics: [[String: Double]] { get }
    /// Everything a local node needs to continue bit for bit after a restart, as numbers (the
    /// random streams are keyed by step, so the step count is their whole state). Per local node.
    func checkpointState() throws -> [[Double]]
    func restoreState(_ states: [[Double]]) throws
}

extension DistributedTrainer {
    public var diagnostics: [[String: Double]] { [] }

    public func checkpointState() throws -> [[Double]] {
        throw TrainerError.unsupported("checkpoints of \(algorithm.rawValue) (supported: all but cpf)")
    }

    public func restoreState(_ states: [[Double]]) throws {
        throw TrainerError.unsupported("checkpoints of \(algorithm.rawValue) (supported: all but cpf)")
    }
}

/// Builds the trainer for `algorithm` over `network`.
public func makeTrainer(_ algorithm: Algorithm, settings: DistributedSettings, network: Network) throws -> DistributedTrainer {
    switch algorithm {
    case .sgd, .ekf, .pf: return LocalTrainers(algorithm, settings: settings, network: network)
    case .dsgd: return DiffusionSGD(settings: settings, network: network)
    case .dekf: return DiffusionEKF(settings: settings, network: network)
    case .dpf: return DistributedParticleFilter(settings: settings, network: network)
    case .cpf: return CentralizedParticleFilter(settings: settings, network: network)
    }
}

/// The local trainers of the model layer, one per node, with no communication.
public final class LocalTrainers: DistributedTrainer {
    public let algorithm: Algorithm
    private var trainers: [any OnlineTrainer]

    public init(_ algorithm: Algorithm, settings: DistributedSettings, network: Network) {
        self.algorithm = algorithm
        trainers = network.localNodes.map { node -> any OnlineTrainer in
            switch algorithm {
            case .sgd: return SGDTrainer(model: settings.model, settings: settings.trainer, seed: settings.seed, node: node)
            case .ekf:
                return EKFTrainer(system: LSTMStateSpace(model: settings.model, carryState: settings.trainer.carryState),
                                  settings: settings.trainer, seed: settings.seed, node: node)
            default: return PFTrainer(model: settings.model, settings: settings.trainer, seed: settings.seed, node: node)
            }
        }
    }

    public func predict(_ samples: [Sample]) throws -> [Double] {
        try samples.indices.map { try trainers[$0].predict(samples[$0]) }
    }

    public func update(_ samples: [Sample]) throws {
        for a in samples.indices { try trainers[a].update(samples[a]) }
    }

    public var estimates: [[Double]] { trainers.map(\.parameters) }

    public func checkpointState() throws -> [[Double]] { try trainers.map { try $0.checkpointState() } }

    public func restoreState(_ states: [[Double]]) throws {
        guard states.count == trainers.count else { throw TrainerError.malformedCheckpoint("\(algorithm.rawValue): \(states.count) node states") }
        for a in trainers.indices { try trainers[a].restoreState(states[a]) }
    }
}

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
        trainers = network.localNodes.map { _ in SGDTrainer(model: settings.model, settings: settings.trainer, seed: settings.seed, node: 0) }
    }

    public func predict(_ samples: [Sample]) throws -> [Double] {
        try samples.indices.map { try trainers[$0].predict(samples[$0]) }
    }

    public func checkpointState() throws -> [[Double]] { trainers.map { $0.checkpointState() } }

    public func restoreState(_ states: [[Double]]) throws {
        guard states.count == trainers.count else { throw TrainerError.malformedCheckpoint("dsgd: \(states.count) node states") }
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
            trainers[a].setParameters(combine(own: trainers[a].parameters, node: node, received: received, weights: weights))
        }
    }

    public var estimates: [[Double]] { trainers.map(\.parameters) }
}

/// sum over l in N_k (k included) of c_lk x_l, in ascending node order so that every transport
/// adds the same numbers in the same order.
func combine(own: [Double], node: Int, received: [Int: [Double]], weights: [[Double]]) -> [Double] {
    var result = [Double](repeating: 0, count: own.count)
    for l in (Array(received.keys) + [node]).sorted() {
        let x = l == node ? own : received[l]!
        precondition(x.count == own.count, "node \(l) sent \(x.count) numbers, expected \(own.count)")
        let c = weights[l][node]
        for j in result.indices { result[j] += c * x[j] }
    }
    return result
}

/// The diffusion EKF of the paper (sec. 3.1) on a = [c_bar; y_bar; theta].
///
/// Per step at node k: time update as the EKF; neighbours exchange their sequence and label; the
/// incremental measurement update runs over N_k (k included, ascending), each observation
/// linearised at the predicted a_hat: for node l, h_l = w^T y_bar(theta_hat, X_l) and H_l =
/// [0, 0, d h_l / d theta] (a neighbour's sequence starts from zero state); then neighbours exchange
/// the updated state psi and covariance P (upper triangle) and combine both with Metropolis weights.
/// Crosses the wire per neighbour and step: m p + 2 numbers (the sample), then n_a + n_a (n_a + 1) / 2.
public final class DiffusionEKF: DistributedTrainer {
    public let algorithm = Algorithm.dekf
    private let network: Network
    private let system: LSTMStateSpace
    private let weights: [[Double]]
    private var filters: [ExtendedKalmanFilter<LSTMStateSpace>]

    public init(settings: DistributedSettings, network: Network) {
        self.network = network
        let system = LSTMStateSpace(model: settings.model, carryState: settings.trainer.carryState)
        self.system = system
        weights = network.topology.metropolisWeights
        let n = settings.model.shape.hidden
        // One common start, as for diffusion SGD.
        let theta = initialParameters(shape: settings.model.shape, scale: settings.trainer.initialScale, seed: settings.seed, node: 0)
        filters = network.localNodes.map { _ in
            ExtendedKalmanFilter(model: system, initialState: [Double](repeating: 0, count: 2 * n) + theta,
                                 initialCovariance: .identity(system.shape.stateCount, scale: settings.trainer.initialVariance),
                                 processNoise: settings.trainer.jitterVariance, observationNoise: settings.trainer.observationNoise)
        }
    }

    public func predict(_ samples: [Sample]) throws -> [Double] {
        try samples.indices.map { a in
            filters[a].timeUpdate(input: samples[a])
            let prediction = filters[a].predictedObservation(input: samples[a])
            guard prediction.isFinite else { throw TrainerError.nonFinite(trainer: "dekf", step: filters[a].step, what: "the prediction") }
            return prediction
        }
    }

    public func update(_ samples: [Sample]) throws {
        let topology = network.topology
        let nodes = network.localNodes
        // 1. Neighbours' observations.
        let sampleMessages = nodes.indices.map { a in
            [[Double]](repeating: [samples[a].label, Double(samples[a].length)] + samples[a].inputs, count: topology.neighbors[nodes[a]].count)
        }
        let receivedSamples = try network.exchange(sampleMessages)
        // 2. Incremental measurement update over the neighbourhood, linearised at a_hat.
        let thetaOffset = 2 * system.shape.hidden
        for (a, node) in nodes.enumerated() {
            let aHat = filters[a].state
            var observations = [Int: Sample]()
            for (b, l) in topology.neighbors[node].enumerated() {
                observations[l] = try decodeSample(receivedSamples[a][b], from: l)
            }
            observations[node] = samples[a]
            for l in observations.keys.sorted() {
                let sample = observations[l]!
                if l == node {
                    try filters[a].incrementalUpdate(observation: sample.label, predicted: system.observation(aHat),
                                                     jacobian: system.observationJacobian(aHat), linearizationPoint: aHat)
                } else {
                    let (estimate, gradient) = system.model.gradient(theta: system.parameters(of: aHat), sample: sample)
                    var jacobian = [Double](repeating: 0, count: aHat.count)
                    for j in gradient.indices { jacobian[thetaOffset + j] = gradient[j] }
                    try filters[a].incrementalUpdate(observation: sample.label, predicted: estimate, jacobian: jacobian, linearizationPoint: aHat)
                }
            }
        }
        // 3. Combination of states and covariances.
        let estimateMessages = nodes.indices.map { a in
            [[Double]](repeating: packEstimate(filters[a]), count: topology.neighbors[nodes[a]].count)
        }
        let receivedEstimates = try network.exchange(estimateMessages)
        for (a, node) in nodes.enumerated() {
            let received = Dictionary(uniqueKeysWithValues: zip(topology.neighbors[node], receivedEstimates[a]))
            let combined = combine(own: packEstimate(filters[a]), node: node, received: received, weights: weights)
            let (state, covariance) = unpackEstimate(combined, stateCount: system.shape.stateCount)
            filters[a].setEstimate(state: state, covariance: covariance)
        }
    }

    private func decodeSample(_ message: [Double], from node: Int) throws -> Sample {
        let p = system.shape.input
        guard message.count >= 2, let length = Int(exactly: message[1]), length >= 1, message.count == 2 + length * p else {
            throw TrainerError.malformedMessage(from: node, what: "a sample of \(message.count) numbers")
        }
        return Sample(inputs: Array(message[2...]), length: length, label: message[0])
    }

    /// [psi; upper triangle of P, row by row].
    private func packEstimate(_ filter: ExtendedKalmanFilter<LSTMStateSpace>) -> [Double] {
        let n = filter.state.count
        var packed = filter.state
        packed.reserveCapacity(n + n * (n + 1) / 2)
        for i in 0..<n { packed.append(contentsOf: filter.covariance.elements[(i * n + i)..<((i + 1) * n)]) }
        return packed
    }

    private func unpackEstimate(_ packed: [Double], stateCount n: Int) -> ([Double], Matrix) {
        var covariance = Matrix(rows: n, columns: n)
        var index = n
        for i in 0..<n {
            for j in i..<n {
                covariance[i, j] = packed[index]
                covariance[j, i] = packed[index]
                index += 1
            }
        }
        return (Array(packed[0..<n]), covariance)
    }

    public var estimates: [[Double]] { filters.map { system.parameters(of: $0.state) } }

    /// [step; psi; P row by row].
    public func checkpointState() throws -> [[Double]] { filters.map(\.checkpoint) }

    public func restoreState(_ states: [[Double]]) throws {
        guard states.count == filters.count else { throw TrainerError.malformedCheckpoint("dekf: \(states.count) node states") }
        for a in filters.indices { try filters[a].restore(checkpoint: states[a]) }
    }
}
