import LSTM
import Numerics

/// The particles of an LSTM particle filter: parameter vectors theta (and, with carried state,
/// each particle's pooled (c_bar, y_bar)), evaluated by the batched kernel.
///
/// Transition prior: theta_t = theta_{t-1} + gamma, gamma ~ N(0, Cov[gamma] I) (or Liu-West
/// shrinkage); then (c_bar_t, y_bar_t) = the LSTM on X_t with theta_t. Jitter for the particle with
/// global id g at step t comes from the stream (seed, node, t, jitter, g), so it does not depend
/// on where the particle is or in which order particles are processed.
public struct LSTMParticleCloud: ParticleCloud {
    public let model: LSTMModel
    /// The particles and their ids (the filter keeps the weights).
    public private(set) var store: ParticleStore
    public let jitterVariance: Double
    /// Liu-West shrinkage h in (0, 1), or nil for plain jitter.
    public let liuWestShrinkage: Double?
    public let carryState: Bool
    public let seed: UInt64
    public let node: Int
    private let kernel: ParticleKernel
    /// The room resampling copies into, swapped with the store's.
    private var spare: ParticleStore
    /// Carried (c_bar, y_bar) per particle, n x paddedCount; nil without carried state.
    private var carriedCell: [Double]?
    private var carriedOutput: [Double]?

    /// N particles with theta ~ N(centre, initialSpread^2 I) (centre 0 unless given) and ids firstID..<firstID+N.
    public init(
        model: LSTMModel, count: Int, initialSpread: Double, centre: [Double]? = nil, jitterVariance: Double,
        liuWestShrinkage: Double? = nil, carryState: Bool = false, seed: UInt64, node: Int = 0, firstID: Int = 0,
        precision: Precision = .double
    ) {
        precondition(count >= 1, "a particle filter needs at least one particle")
        self.model = model
        self.jitterVariance = jitterVariance
        self.liuWestShrinkage = liuWestShrinkage
        self.carryState = carryState
        self.seed = seed
        self.node = node
        self.kernel = ParticleKernel(shape: model.shape, pooling: model.pooling, precision: precision)
        store = ParticleStore(
            shape: model.shape, count: count, firstID: firstID, initialSpread: initialSpread, centre: centre,
            seed: seed, node: node)
        spare = ParticleStore(emptyLike: store)
        if carryState {
            carriedCell = [Double](repeating: 0, count: model.shape.hidden * store.parameters.paddedCount)
            carriedOutput = carriedCell
        }
    }

    public var count: Int { store.count }
    public var particles: ParticleParameters { store.parameters }
    public var ids: [Int] { store.ids }

    /// Puts back particles saved by a checkpoint (without carried state).
    public mutating func restore(ids: [Int], particles: [[Double]]) {
        precondition(ids.count == particles.count && !carryState)
        store.restore(
            ids: ids, particles: particles.flatMap { $0 }, logWeights: [Double](repeating: 0, count: ids.count))
    }

    public mutating func propagate(step: Int, weights: [Double]) {
        if let h = liuWestShrinkage {
            store.shrinkAndJitter(shrinkage: h, weights: weights, seed: seed, node: node, step: step)
        } else {
            store.jitter(variance: jitterVariance, seed: seed, node: node, step: step)
        }
    }

    public mutating func predictedObservations(input: Sample) -> [Double] {
        store.evaluate(input, with: kernel, initialCell: carriedCell, initialOutput: carriedOutput)
        if carryState {
            carriedCell = store.output.pooledCell
            carriedOutput = store.output.pooledOutput
        }
        return Array(store.output.estimates.prefix(count))
    }

    public func weightedMean(_ weights: [Double]) -> [Double] {
        var mean = [Double](repeating: 0, count: model.shape.parameterCount)
        store.weightedMean(weights, into: &mean)
        return mean
    }

    public mutating func select(_ ancestors: [Int]) {
        if carryState, let cell = carriedCell, let out = carriedOutput {
            let n = model.shape.hidden, oldPadded = store.parameters.paddedCount
            let newPadded = ParticleParameters(shape: model.shape, count: ancestors.count).paddedCount
            var newCell = [Double](repeating: 0, count: n * newPadded), newOut = newCell
            for (k, a) in ancestors.enumerated() {
                for j in 0..<n {
                    newCell[j * newPadded + k] = cell[j * oldPadded + a]
                    newOut[j * newPadded + k] = out[j * oldPadded + a]
                }
            }
            carriedCell = newCell
            carriedOutput = newOut
        }
        // Offspring take their slot's id: ids stay unique and each offspring jitters independently.
        spare.select(ancestors, from: store, firstID: ids.first ?? 0)
        swap(&store, &spare)
    }
}
