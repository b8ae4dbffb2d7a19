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
/// Crosses the wire per neighbour and step: m p + 2 numbers (the sample), then n_a + n_a (n_a + 1) / 2
/// (in pieces of at most `exchangeChunk`).
public final class DiffusionEKF: DistributedTrainer {
    public let algorithm = Algorithm.dekf
    private let network: Network
    private let system: LSTMStateSpace
    private let weights: [[Double]]
    private var filters: [ExtendedKalmanFilter<LSTMStateSpace>]
    /// Per local node, R for every observation of its neighbourhood: fixed, or estimated from the
    /// node's own prediction errors.
    private var noise: [NoiseEstimator]
    private var predictions: [Double]
    /// The covariance exchange's format: single halves the bytes, the combination stays in double.
    public let exchangePrecision: Precision
    /// The most numbers of the packed estimate sent in one exchange: 2^22 (32 MB in double) keeps
    /// a node's memory near one copy of P at any size, and is one exchange per step up to n = 16.
    public let exchangeChunk: Int

    public init(settings: DistributedSettings, network: Network, exchangeChunk: Int = 1 << 22) {
        precondition(exchangeChunk > 0 && exchangeChunk % 2 == 0, "two singles to a double: an even chunk")
        self.exchangeChunk = exchangeChunk
        self.network = network
        let system = LSTMStateSpace(model: settings.model, carryState: settings.ekf.carryState)
        self.system = system
        exchangePrecision = settings.exchangePrecision
        weights = network.topology.metropolisWeights
        let n = settings.model.shape.hidden
        // One common start, as for diffusion SGD.
        let theta = initialParameters(
            shape: settings.model.shape, scale: settings.ekf.initialScale, seed: settings.seed, node: 0,
            centre: settings.ekf.initialCentre)
        filters = network.localNodes.map { _ in
            ExtendedKalmanFilter(
                model: system, initialState: [Double](repeating: 0, count: 2 * n) + theta,
                initialCovariance: .identity(system.shape.stateCount, scale: settings.ekf.initialVariance),
                processNoise: settings.ekf.processNoise,
                observationNoise: settings.ekf.observationNoise.fixedValue ?? 1)
        }
        noise = network.localNodes.map { _ in NoiseEstimator(settings.ekf.observationNoise) }
        predictions = network.localNodes.map { _ in 0 }
    }

    public func predict(_ samples: [Sample]) throws -> [Double] {
        try samples.indices.map { a in
            filters[a].timeUpdate(input: samples[a])
            let prediction = filters[a].predictedObservation(input: samples[a])
            guard prediction.isFinite else {
                throw TrainerError.nonFinite(trainer: "dekf", step: filters[a].step, what: "the prediction")
            }
            predictions[a] = prediction
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
            let error = samples[a].label - predictions[a]
            noise[a].observe(squaredError: error * error)
            filters[a].observationNoise = noise[a].variance
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
                        observation: sample.label, predicted: system.observation(aHat, sample: sample),
                        jacobian: system.observationJacobian(aHat, sample: sample), linearizationPoint: aHat)
                } else {
                    let (estimate, gradient) = system.model.gradient(theta: system.parameters(of: aHat), sample: sample)
                    var jacobian = [Double](repeating: 0, count: aHat.count)
                    for j in gradient.indices { jacobian[thetaOffset + j] = gradient[j] }
                    try filters[a].incrementalUpdate(
                        observation: sample.label, predicted: estimate, jacobian: jacobian, linearizationPoint: aHat)
                }
            }
        }
        // 3. Combination of states and covariances, in place and in pieces of at most
        // `exchangeChunk` numbers: P itself is the only covariance-sized buffer (at n = 32 it is half
        // a gigabyte); the combination is element by element, so the pieces change no sum.
        let count = system.shape.stateCount + system.shape.stateCount * (system.shape.stateCount + 1) / 2
        for first in stride(from: 0, to: count, by: exchangeChunk) {
            let elements = first..<min(count, first + exchangeChunk)
            let received = try network.neighborAllgather(nodes.indices.map { packEstimate(filters[$0], elements) })
            for (a, node) in nodes.enumerated() {
                try combineInPlace(a, node: node, elements, received: received[a])
            }
        }
    }

    /// psi and P <- sum over l in N_k (ascending, k included) of w_lk times node l's, element by
    /// element, for the packed estimate's `elements`.
    private func combineInPlace(_ a: Int, node: Int, _ elements: Range<Int>, received: [ArraySlice<Double>]) throws {
        let neighbours = network.topology.neighbors[node], n = system.shape.stateCount
        for (b, message) in received.enumerated()
        where message.count != exchangedCount(elements.count) {
            throw TrainerError.malformedMessage(
                from: neighbours[b],
                what: "an estimate of \(message.count) numbers, expected \(exchangedCount(elements.count))")
        }
        // (weight, index into `received` or -1 for this node's own estimate), in node order.
        let terms = (neighbours.enumerated().map { (node: $0.element, source: $0.offset) } + [(node: node, source: -1)])
            .sorted { $0.node < $1.node }.map { (weight: weights[$0.node][node], source: $0.source) }
        let single = exchangePrecision == .single
        filters[a].withEstimate { state, covariance in
            covariance.elements.withUnsafeMutableBufferPointer { p in
                func combined(_ e: Int, own: Double) -> Double {
                    var sum = 0.0
                    for term in terms {
                        let value =
                            term.source < 0
                            ? own
                            : received[term.source].withUnsafeBytes {
                                Self.value(e - elements.lowerBound, in: $0, single: single)
                            }
                        sum += term.weight * value
                    }
                    return sum
                }
                Self.forEachPacked(elements, n: n) { e, i, j in
                    if i < 0 {
                        state[j] = combined(e, own: state[j])
                    } else {
                        let value = combined(e, own: p[i * n + j])
                        p[i * n + j] = value
                        p[j * n + i] = value
                    }
                }
            }
        }
    }

    /// Calls body(e, i, j) for the packed estimate's elements e in `elements`, in order: the packed
    /// estimate is psi (i = -1, j its index), then P's upper triangle row by row (P[i][j], j >= i).
    @inline(__always)
    private static func forEachPacked(_ elements: Range<Int>, n: Int, _ body: (Int, Int, Int) -> Void) {
        var e = elements.lowerBound
        while e < min(n, elements.upperBound) {
            body(e, -1, e)
            e += 1
        }
        guard e < elements.upperBound else { return }
        // Row i of the triangle starts at n + i n - i (i - 1) / 2.
        func rowStart(_ i: Int) -> Int { n + i * n - i * (i - 1) / 2 }
        var i = 0
        while rowStart(i + 1) <= e { i += 1 }
        var j = i + e - rowStart(i)
        while e < elements.upperBound {
            body(e, i, j)
            e += 1
            j += 1
            if j == n { (i, j) = (i + 1, i + 1) }
        }
    }

    /// Doubles on the wire for `count` numbers: two singles share a double's eight bytes.
    private func exchangedCount(_ count: Int) -> Int { exchangePrecision == .single ? (count + 1) / 2 : count }

    @inline(__always)
    private static func value(_ e: Int, in bytes: UnsafeRawBufferPointer, single: Bool) -> Double {
        single
            ? Double(bytes.loadUnaligned(fromByteOffset: 4 * e, as: Float.self))
            : bytes.loadUnaligned(fromByteOffset: 8 * e, as: Double.self)
    }

    private func decodeSample(_ message: [Double], from node: Int) throws -> Sample {
        let p = system.shape.input
        guard message.count >= 2, let length = Int(exactly: message[1]), length >= 1, message.count == 2 + length * p
        else {
            throw TrainerError.malformedMessage(from: node, what: "a sample of \(message.count) numbers")
        }
        return Sample(inputs: Array(message[2...]), length: length, label: message[0])
    }

    /// The packed estimate's `elements` ([psi; upper triangle of P, row by row]) in the exchange's
    /// precision (singles two to a double).
    private func packEstimate(_ filter: ExtendedKalmanFilter<LSTMStateSpace>, _ elements: Range<Int>) -> [Double] {
        let n = filter.state.count, first = elements.lowerBound
        var packed = [Double](repeating: 0, count: exchangedCount(elements.count))
        let single = exchangePrecision == .single
        packed.withUnsafeMutableBytes { bytes in
            filter.covariance.elements.withUnsafeBufferPointer { p in
                Self.forEachPacked(elements, n: n) { e, i, j in
                    let value = i < 0 ? filter.state[j] : p[i * n + j]
                    if single {
                        bytes.storeBytes(of: Float(value), toByteOffset: 4 * (e - first), as: Float.self)
                    } else {
                        bytes.storeBytes(of: value, toByteOffset: 8 * (e - first), as: Double.self)
                    }
                }
            }
        }
        return packed
    }

    public var estimates: [[Double]] { filters.map { system.parameters(of: $0.state) } }

    /// The step, psi, and P row by row.
    public func checkpointState() throws -> [CheckpointRecord] {
        filters.indices.map { a in
            var record = filters[a].checkpoint
            noise[a].save(into: &record)
            return record
        }
    }

    public func restoreState(_ states: [CheckpointRecord]) throws {
        guard states.count == filters.count else {
            throw TrainerError.malformedCheckpoint("dekf: \(states.count) node states")
        }
        for a in filters.indices {
            try filters[a].restore(checkpoint: states[a])
            try noise[a].restore(from: states[a])
        }
    }
}
