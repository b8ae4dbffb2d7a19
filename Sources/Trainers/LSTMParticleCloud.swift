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
    public private(set) var particles: ParticleParameters
    /// Global ids, which key each particle's random numbers.
    public private(set) var ids: [Int]
    public let jitterVariance: Double
    /// Liu-West shrinkage h in (0, 1), or nil for plain jitter.
    public let liuWestShrinkage: Double?
    public let carryState: Bool
    public let seed: UInt64
    public let node: Int
    private let kernel: ParticleKernel
    private var output = KernelOutput()
    /// Carried (c_bar, y_bar) per particle, n x paddedCount; nil without carried state.
    private var carriedCell: [Double]?
    private var carriedOutput: [Double]?

    /// N particles with theta ~ N(centre, initialSpread^2 I) (centre 0 unless given) and ids firstID..<firstID+N.
    public init(
        model: LSTMModel, count: Int, initialSpread: Double, centre: [Double]? = nil, jitterVariance: Double,
        liuWestShrinkage: Double? = nil, carryState: Bool = false, seed: UInt64, node: Int = 0, firstID: Int = 0
    ) {
        precondition(count >= 1, "a particle filter needs at least one particle")
        self.model = model
        self.jitterVariance = jitterVariance
        self.liuWestShrinkage = liuWestShrinkage
        self.carryState = carryState
        self.seed = seed
        self.node = node
        self.kernel = ParticleKernel(shape: model.shape, pooling: model.pooling)
        self.ids = Array(firstID..<(firstID + count))
        var population = ParticleParameters(shape: model.shape, count: count)
        for (i, id) in ids.enumerated() {
            var random = RandomStream(seed: seed, node: node, step: 0, purpose: .initialization, index: id)
            population.setParticle(
                i,
                (0..<model.shape.parameterCount).map { j in (centre?[j] ?? 0) + initialSpread * random.nextGaussian() })
        }
        self.particles = population
        if carryState {
            carriedCell = [Double](repeating: 0, count: model.shape.hidden * population.paddedCount)
            carriedOutput = carriedCell
        }
    }

    public var count: Int { particles.count }

    /// Puts back particles saved by a checkpoint (without carried state).
    public mutating func restore(ids: [Int], particles: [[Double]]) {
        precondition(ids.count == particles.count && !carryState)
        self.ids = ids
        self.particles = ParticleParameters(shape: model.shape, particles: particles)
    }

    public mutating func propagate(step: Int, weights: [Double]) {
        let nTheta = model.shape.parameterCount
        if let h = liuWestShrinkage {
            // theta <- a theta + (1 - a) mean + N(0, h^2 V), a = sqrt(1 - h^2), V the diagonal of
            // the weighted covariance: shrinks toward the mean so the cloud does not keep widening.
            let a = (1 - h * h).squareRoot()
            let mean = weightedMean(weights)
            var variance = [Double](repeating: 0, count: nTheta)
            for i in 0..<count {
                for j in 0..<nTheta {
                    let d = particles[parameter: j, particle: i] - mean[j]
                    variance[j] += weights[i] * d * d
                }
            }
            for i in 0..<count {
                var random = RandomStream(seed: seed, node: node, step: step, purpose: .jitter, index: ids[i])
                for j in 0..<nTheta {
                    let index = particles.index(parameter: j, particle: i)
                    particles.values[index] =
                        a * particles.values[index] + (1 - a) * mean[j]
                        + h * variance[j].squareRoot() * random.nextGaussian()
                }
            }
        } else {
            let sd = jitterVariance.squareRoot()
            for i in 0..<count {
                var random = RandomStream(seed: seed, node: node, step: step, purpose: .jitter, index: ids[i])
                let base = particles.index(parameter: 0, particle: i)
                for j in 0..<nTheta {
                    particles.values[base + j * ParticleParameters.laneWidth] += sd * random.nextGaussian()
                }
            }
        }
    }

    public mutating func predictedObservations(input: Sample) -> [Double] {
        kernel.evaluate(particles, sample: input, initialCell: carriedCell, initialOutput: carriedOutput, into: &output)
        if carryState {
            carriedCell = output.pooledCell
            carriedOutput = output.pooledOutput
        }
        return Array(output.estimates.prefix(count))
    }

    public func weightedMean(_ weights: [Double]) -> [Double] {
        var mean = [Double](repeating: 0, count: model.shape.parameterCount)
        for i in 0..<count where weights[i] > 0 {
            let base = particles.index(parameter: 0, particle: i)
            for j in mean.indices { mean[j] += weights[i] * particles.values[base + j * ParticleParameters.laneWidth] }
        }
        return mean
    }

    public mutating func select(_ ancestors: [Int]) {
        var next = ParticleParameters(shape: model.shape, count: ancestors.count)
        for (k, a) in ancestors.enumerated() { next.setParticle(k, particles.particle(a)) }
        if carryState, let cell = carriedCell, let out = carriedOutput {
            let n = model.shape.hidden, oldPadded = particles.paddedCount, newPadded = next.paddedCount
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
        particles = next
        if ids.count != ancestors.count {
            let first = ids.first ?? 0
            ids = Array(first..<(first + ancestors.count))
        }
    }
}
