import Foundation
import Numerics

/// One step of a particle filter as the SMC trace records it (a row of smc-node-K.csv).
public struct FilterStepTrace: Sendable, Equatable {
    public static let columns = ["ess", "resampled", "log_likelihood_increment", "particles", "observation_noise"]

    /// 1 / sum_i w_i^2 over the normalised weights the step ends with, before resampling.
    public var effectiveSampleSize: Double
    public var resampled: Bool
    /// log sum_i W_i exp(l_i): the log of the mean weight increment under the weights W the step
    /// started from (equal after resampling), an estimate of log p(d_t | d_1..t-1).
    public var logLikelihoodIncrement: Double
    /// Particles held when the step ends (the DPF's vary with the walk; the others' are N).
    public var particles: Int
    /// Var[eps] the step's likelihood used.
    public var observationNoise: Double

    public init(
        effectiveSampleSize: Double, resampled: Bool, logLikelihoodIncrement: Double, particles: Int,
        observationNoise: Double
    ) {
        self.effectiveSampleSize = effectiveSampleSize
        self.resampled = resampled
        self.logLikelihoodIncrement = logLikelihoodIncrement
        self.particles = particles
        self.observationNoise = observationNoise
    }

    /// An empty step, before the first.
    public static let none = FilterStepTrace(
        effectiveSampleSize: 0, resampled: false, logLikelihoodIncrement: 0, particles: 0, observationNoise: 0)

    /// In the order of `columns`.
    public var row: [Double] {
        [effectiveSampleSize, resampled ? 1 : 0, logLikelihoodIncrement, Double(particles), observationNoise]
    }
}

/// log of the mean of exp(logWeights): the log-likelihood increment of a step that started from
/// equal weights and added `logWeights` (-inf when every weight is zero).
public func logMeanExp(_ logWeights: ArraySlice<Double>) -> Double {
    guard !logWeights.isEmpty else { return -.infinity }
    return logWeights.withUnsafeBufferPointer { logSumExp($0) } - log(Double(logWeights.count))
}
