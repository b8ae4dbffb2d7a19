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
    public private(set) var step = 0
    /// The end of every step: normalisation, trace, estimate, resampling, and their counts.
    public private(set) var end: SMCStepEnd
    public var scheme: ResamplingScheme { end.scheme }
    public var policy: ResamplingPolicy { end.policy }
    /// Steps at which every particle had zero likelihood; the filter kept the cloud with equal
    /// weights rather than dividing by zero.
    public var degenerateSteps: Int { end.degenerateSteps }
    public var resampledSteps: Int { end.resampledSteps }
    /// The last update, as the SMC trace records it.
    public var lastStep: FilterStepTrace { end.trace }
    private var observations: [Double] = []

    public init(
        cloud: Cloud, observationNoise: Double, scheme: ResamplingScheme = .systematic,
        policy: ResamplingPolicy = .everyStep, seed: UInt64, node: Int = 0
    ) {
        precondition(observationNoise > 0, "the observation noise variance must be positive")
        self.cloud = cloud
        self.logWeights = [Double](repeating: 0, count: cloud.count)
        self.observationNoise = observationNoise
        end = SMCStepEnd(trainer: "pf", scheme: scheme, policy: policy, seed: seed, node: node)
    }

    /// Puts back a filter saved by a checkpoint, between steps.
    public mutating func restore(
        cloud: Cloud, logWeights: [Double], step: Int, degenerateSteps: Int, resampledSteps: Int
    ) {
        precondition(logWeights.count == cloud.count)
        self.cloud = cloud
        self.logWeights = logWeights
        self.step = step
        end.degenerateSteps = degenerateSteps
        end.resampledSteps = resampledSteps
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

    /// Weighs by `observation` (the Gaussian log-density of each particle's predicted observation),
    /// ends the step with resampling as the policy says, and returns the estimate (eq. 18).
    @discardableResult
    public mutating func update(observation d: Double) throws -> [Double] {
        let before = logSumExp(logWeights), likelihood = GaussianLikelihood(variance: observationNoise)
        for i in 0..<cloud.count { logWeights[i] += likelihood.logDensity(d, observations[i]) }
        var estimate: [Double] = []
        let resampled = try end.finish(
            logWeights: &logWeights, logStartTotal: before, observationNoise: observationNoise, step: step,
            resampleTo: cloud.count, estimate: &estimate
        ) { [cloud] weights, mean in mean = cloud.weightedMean(weights) }
        if resampled {
            cloud.select(end.ancestors)
            logWeights = [Double](repeating: 0, count: cloud.count)
        }
        return estimate
    }
}
