import LSTM
import Numerics
import Trainers

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
        let theta = initialParameters(
            shape: settings.model.shape, scale: settings.trainer.initialScale, seed: settings.seed, node: 0,
            centre: settings.trainer.initialCentre)
        filters = network.localNodes.map { _ in
            ExtendedKalmanFilter(
                model: system, initialState: [Double](repeating: 0, count: 2 * n) + theta,
                initialCovariance: .identity(system.shape.stateCount, scale: settings.trainer.initialVariance),
                processNoise: settings.trainer.jitterVariance, observationNoise: settings.trainer.observationNoise)
        }
    }

    public func predict(_ samples: [Sample]) throws -> [Double] {
        try samples.indices.map { a in
            filters[a].timeUpdate(input: samples[a])
            let prediction = filters[a].predictedObservation(input: samples[a])
            guard prediction.isFinite else {
                throw TrainerError.nonFinite(trainer: "dekf", step: filters[a].step, what: "the prediction")
            }
            return prediction
        }
    }

    public func update(_ samples: [Sample]) throws {
        let topology = network.topology
        let nodes = network.localNodes
        // 1. Neighbours' observations.
        let sampleMessages = nodes.indices.map { a in
            [[Double]](
                repeating: [samples[a].label, Double(samples[a].length)] + samples[a].inputs,
                count: topology.neighbors[nodes[a]].count)
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
                    try filters[a].incrementalUpdate(
                        observation: sample.label, predicted: system.observation(aHat),
                        jacobian: system.observationJacobian(aHat), linearizationPoint: aHat)
                } else {
                    let (estimate, gradient) = system.model.gradient(theta: system.parameters(of: aHat), sample: sample)
                    var jacobian = [Double](repeating: 0, count: aHat.count)
                    for j in gradient.indices { jacobian[thetaOffset + j] = gradient[j] }
                    try filters[a].incrementalUpdate(
                        observation: sample.label, predicted: estimate, jacobian: jacobian, linearizationPoint: aHat)
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
        guard message.count >= 2, let length = Int(exactly: message[1]), length >= 1, message.count == 2 + length * p
        else {
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

    /// The step, psi, and P row by row.
    public func checkpointState() throws -> [CheckpointRecord] { filters.map(\.checkpoint) }

    public func restoreState(_ states: [CheckpointRecord]) throws {
        guard states.count == filters.count else {
            throw TrainerError.malformedCheckpoint("dekf: \(states.count) node states")
        }
        for a in filters.indices { try filters[a].restore(checkpoint: states[a]) }
    }
}
