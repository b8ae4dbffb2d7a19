import Foundation
import Numerics

/// When to resample.
public enum ResamplingPolicy: Sendable, Equatable {
    /// After every step, as the paper does.
    case everyStep
    /// When the effective sample size falls below `fraction` * N.
    case effectiveSampleSize(fraction: Double)
}

/// The end of a particle filter's step, the same for the local PF, the DPF and the centralized PF:
/// normalise the log-weights, trace the step, estimate theta by the weighted mean (eq. 18), check the
/// estimate, and draw the resampled ancestors.
///
/// The one fallback: when no log-weight is finite (every particle impossible, or one infinitely
/// likely), the step goes on with equal weights and counts as degenerate, so the filter keeps the
/// prior's cloud instead of dividing into NaN. An estimate that is not finite all the same (every
/// particle diverged) stops the run with `TrainerError.nonFinite`.
///
/// The weights and ancestors are kept arrays: a step in steady state allocates nothing.
public struct SMCStepEnd {
    /// The filter's name in errors.
    public let trainer: String
    public let scheme: ResamplingScheme
    public let policy: ResamplingPolicy
    /// The resampling uniforms' stream is (seed, node, step, resampling).
    public let seed: UInt64
    public let node: Int
    /// The last step's normalised weights, and its ancestors when it resampled.
    public private(set) var weights: [Double] = []
    public private(set) var ancestors: [Int] = []
    /// Counted over the run (a checkpoint restores them).
    public var degenerateSteps = 0
    public var resampledSteps = 0
    /// The last step, as the SMC trace records it.
    public private(set) var trace = FilterStepTrace.none

    public init(
        trainer: String, scheme: ResamplingScheme, policy: ResamplingPolicy = .everyStep, seed: UInt64, node: Int
    ) {
        (self.trainer, self.scheme, self.policy, self.seed, self.node) = (trainer, scheme, policy, seed, node)
    }

    /// Ends step `step` of particles with unnormalised `logWeights` (set to 0, equal, on the fallback).
    /// `logStartTotal` is log sum_i exp(l_i) of the log-weights the step started from (log N after
    /// resampling, the default): the trace's log-likelihood increment is the step's change of it.
    /// `weightedMean(weights, &estimate)` is the cloud's sum_i w_i theta_i. Returns whether the step
    /// resampled (`ancestors`, `count` of them).
    @discardableResult
    public mutating func finish(
        logWeights: inout [Double], logStartTotal: Double? = nil, observationNoise: Double, step: Int,
        resampleTo count: Int, estimate: inout [Double], weightedMean: ([Double], inout [Double]) -> Void
    ) throws -> Bool {
        let n = logWeights.count, logTotal = logSumExp(logWeights)
        weights.removeAll(keepingCapacity: true)
        weights.append(contentsOf: repeatElement(0, count: n))
        let finite = logWeights.withUnsafeBufferPointer { log in
            weights.withUnsafeMutableBufferPointer { normalizeWeights(fromLog: log, into: $0) }
        }
        if !finite {
            degenerateSteps += 1
            for i in 0..<n { (weights[i], logWeights[i]) = (1 / Double(n), 0) }
        }
        let ess = effectiveSampleSize(weights)
        let resample: Bool
        switch policy {
        case .everyStep: resample = true
        case .effectiveSampleSize(let fraction): resample = ess < fraction * Double(n)
        }
        let startTotal = logStartTotal ?? log(Double(n))
        trace = FilterStepTrace(
            effectiveSampleSize: ess, resampled: resample,
            logLikelihoodIncrement: n == 0 ? -.infinity : logTotal - startTotal, particles: n,
            observationNoise: observationNoise)
        weightedMean(weights, &estimate)
        guard estimate.allSatisfy(\.isFinite) else {
            throw TrainerError.nonFinite(trainer: trainer, step: step, what: "the posterior mean")
        }
        guard resample else { return false }
        var random = RandomStream(seed: seed, node: node, step: step, purpose: .resampling)
        scheme.ancestors(weights: weights, count: count, random: &random, into: &ancestors)
        resampledSteps += 1
        return true
    }
}
