import Foundation
import Numerics

/// A population of particles that a particle filter moves, evaluates and selects. The filter itself
/// only handles log-weights, so the same filter runs the LSTM cloud and the test models.
public protocol ParticleCloud {
    associatedtype Input
    var count: Int { get }
    /// Draws every particle from the transition prior (the importance function, eq. 15), with noise
    /// keyed by `step`; `weights` are the current normalised weights (for Liu-West shrinkage).
    mutating func propagate(step: Int, weights: [Double])
    /// h(a_i) for every particle on `input`: the predicted observation of each.
    mutating func predictedObservations(input: Input) -> [Double]
    /// sum_i w_i a_i, the posterior-mean estimate (eq. 18).
    func weightedMean(_ weights: [Double]) -> [Double]
    /// Replaces the population by copies of the particles at `ancestors`.
    mutating func select(_ ancestors: [Int])
}

/// When to resample.
public enum ResamplingPolicy: Sendable, Equatable {
    /// After every step, as the paper does.
    case everyStep
    /// When the effective sample size falls below `fraction` * N.
    case effectiveSampleSize(fraction: Double)
}

/// The bootstrap particle filter of the paper (sec. 3.1): propagate with the transition prior,
/// weight by the Gaussian likelihood N(d; h(a), Var[eps]) in the log domain, estimate by the
/// weighted mean, resample.
public struct ParticleFilter<Cloud: ParticleCloud> {
    public private(set) var cloud: Cloud
    /// Unnormalised log-weights; normalised with log-sum-exp when used.
    public private(set) var logWeights: [Double]
    /// Var[eps] of the likelihood; a trainer that estimates it sets it before each update.
    public var observationNoise: Double {
        didSet { precondition(observationNoise > 0, "the observation noise variance must be positive") }
    }
    public let scheme: ResamplingScheme
    public let policy: ResamplingPolicy
    public let seed: UInt64
    public let node: Int
    public private(set) var step = 0
    /// Steps at which every particle had zero likelihood; the filter kept the cloud with equal
    /// weights rather than dividing by zero.
    public private(set) var degenerateSteps = 0
    public private(set) var resampledSteps = 0
    /// The last update, as the SMC trace records it.
    public private(set) var lastStep = FilterStepTrace.none
    private var observations: [Double] = []

    public init(
        cloud: Cloud, observationNoise: Double, scheme: ResamplingScheme = .systematic,
        policy: ResamplingPolicy = .everyStep, seed: UInt64, node: Int = 0
    ) {
        precondition(observationNoise > 0, "the observation noise variance must be positive")
        self.cloud = cloud
        self.logWeights = [Double](repeating: 0, count: cloud.count)
        self.observationNoise = observationNoise
        self.scheme = scheme
        self.policy = policy
        self.seed = seed
        self.node = node
    }

    /// Puts back a filter saved by a checkpoint, between steps.
    public mutating func restore(
        cloud: Cloud, logWeights: [Double], step: Int, degenerateSteps: Int, resampledSteps: Int
    ) {
        precondition(logWeights.count == cloud.count)
        self.cloud = cloud
        self.logWeights = logWeights
        self.step = step
        self.degenerateSteps = degenerateSteps
        self.resampledSteps = resampledSteps
    }

    /// Normalised weights; equal weights if none is finite.
    public var weights: [Double] {
        normalizedWeights(fromLog: logWeights) ?? [Double](repeating: 1 / Double(cloud.count), count: cloud.count)
    }

    /// Moves the particles to the next step and returns the predicted observation
    /// sum_i w_i h(a_i), before the observation is seen.
    public mutating func predict(input: Cloud.Input) throws -> Double {
        step += 1
        // Propagation moves particles but leaves their weights: one normalisation serves both.
        let w = weights
        cloud.propagate(step: step, weights: w)
        observations = cloud.predictedObservations(input: input)
        var prediction = 0.0
        for i in 0..<cloud.count { prediction += w[i] * observations[i] }
        guard prediction.isFinite else {
            throw TrainerError.nonFinite(trainer: "pf", step: step, what: "the predicted observation")
        }
        return prediction
    }

    /// Weighs the particles by the likelihood of `observation` (raised to `exponent`, which the
    /// distributed filter uses), without resampling.
    public mutating func weigh(observation d: Double, exponent: Double = 1) {
        let scale = -0.5 * exponent / observationNoise
        for i in 0..<cloud.count {
            let residual = d - observations[i]
            let increment = scale * residual * residual
            logWeights[i] += increment.isNaN ? -.infinity : increment
        }
    }

    /// Weighs by `observation`, resamples as the policy says, and returns the estimate (eq. 18).
    @discardableResult
    public mutating func update(observation d: Double) -> [Double] {
        let before = logSumExp(logWeights)
        weigh(observation: d)
        // weigh drops the Gaussian's constant, which the increment, a log-density, keeps.
        let increment = logSumExp(logWeights) - before - 0.5 * log(2 * Double.pi * observationNoise)
        let estimate = finishStep()
        lastStep.logLikelihoodIncrement = increment
        return estimate
    }

    /// Normalises, estimates, and resamples: the end of a step.
    public mutating func finishStep() -> [Double] {
        if !logSumExp(logWeights).isFinite {
            degenerateSteps += 1
            logWeights = [Double](repeating: 0, count: cloud.count)
        }
        let w = weights
        let estimate = cloud.weightedMean(w)
        let ess = effectiveSampleSize(w)
        let resample: Bool
        switch policy {
        case .everyStep: resample = true
        case .effectiveSampleSize(let fraction): resample = ess < fraction * Double(cloud.count)
        }
        lastStep = FilterStepTrace(
            effectiveSampleSize: ess, resampled: resample, logLikelihoodIncrement: 0,
            particles: cloud.count, observationNoise: observationNoise)
        if resample {
            var random = RandomStream(seed: seed, node: node, step: step, purpose: .resampling)
            cloud.select(scheme.ancestors(weights: w, count: cloud.count, random: &random))
            logWeights = [Double](repeating: 0, count: cloud.count)
            resampledSteps += 1
        }
        return estimate
    }
}
