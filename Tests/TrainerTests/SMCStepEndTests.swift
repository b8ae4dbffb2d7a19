import Foundation
import Numerics
import Testing
import Trainers

@Suite("the end of an SMC step")
struct SMCStepEndTests {
    /// The weighted mean of scalar particles 0, 1, 2, ...: the estimate is sum_i w_i i.
    static func indexMean(_ weights: [Double], _ mean: inout [Double]) {
        mean = [weights.indices.reduce(0.0) { $0 + weights[$1] * Double($1) }]
    }

    @Test("weights from log-weights sum to one, a NaN has none; the trace is the ESS and the increment")
    func normalisation() throws {
        var end = SMCStepEnd(trainer: "test", scheme: .systematic, seed: 3, node: 1)
        var logWeights = [-0.5, -1, -2, -4.5, .nan]
        var estimate: [Double] = []
        try end.finish(
            logWeights: &logWeights, observationNoise: 0.2, step: 4, resampleTo: 5, estimate: &estimate,
            weightedMean: Self.indexMean)
        let terms = [-0.5, -1, -2, -4.5].map { exp($0) }, total = terms.reduce(0, +)
        for i in 0..<4 { #expect(abs(end.weights[i] - terms[i] / total) < 1e-15) }
        #expect(end.weights[4] == 0)
        #expect(end.degenerateSteps == 0 && end.resampledSteps == 1)
        let ess = 1 / terms.map { ($0 / total) * ($0 / total) }.reduce(0, +)
        #expect(abs(end.trace.effectiveSampleSize - ess) < 1e-12)
        // The step started from five equal weights: the increment is log of the mean of exp(l_i).
        #expect(abs(end.trace.logLikelihoodIncrement - log(total / 5)) < 1e-14)
        #expect(end.trace.particles == 5 && end.trace.observationNoise == 0.2 && end.trace.resampled)
        #expect(abs(estimate[0] - (0..<4).reduce(0.0) { $0 + Double($1) * terms[$1] / total }) < 1e-15)
        // Systematic resampling keeps the heaviest particle at least floor(5 w_0) times.
        #expect(end.ancestors.count == 5 && end.ancestors.filter { $0 == 0 }.count >= Int(5 * terms[0] / total))
    }

    @Test("no finite log-weight: equal weights, log-weights reset, the step counted as degenerate")
    func degenerate() throws {
        var end = SMCStepEnd(trainer: "test", scheme: .systematic, seed: 3, node: 1)
        for logWeights in [[Double](repeating: -.infinity, count: 4), [0, .infinity, 0, 0]] {
            var logWeights = logWeights
            var estimate: [Double] = []
            try end.finish(
                logWeights: &logWeights, observationNoise: 1, step: 1, resampleTo: 4, estimate: &estimate,
                weightedMean: Self.indexMean)
            #expect(end.weights == [0.25, 0.25, 0.25, 0.25])
            #expect(logWeights == [0, 0, 0, 0])
            #expect(estimate == [1.5])
            #expect(end.ancestors == [0, 1, 2, 3])
        }
        #expect(end.degenerateSteps == 2)
    }

    @Test("a posterior mean that is not finite stops the run, naming the filter and the step")
    func nonFiniteEstimate() {
        var end = SMCStepEnd(trainer: "dpf", scheme: .systematic, seed: 3, node: 1)
        var logWeights = [0.0, 0]
        var estimate: [Double] = []
        #expect(throws: TrainerError.nonFinite(trainer: "dpf", step: 7, what: "the posterior mean")) {
            try end.finish(
                logWeights: &logWeights, observationNoise: 1, step: 7, resampleTo: 2, estimate: &estimate
            ) { _, mean in mean = [.nan] }
        }
    }

    @Test("the ESS policy resamples only below its fraction; the increment is measured from the start's total")
    func policy() throws {
        var end = SMCStepEnd(
            trainer: "test", scheme: .systematic, policy: .effectiveSampleSize(fraction: 0.5), seed: 3, node: 1)
        var estimate: [Double] = []
        var even = [0.0, 0.01, 0, 0.02]
        let evenResampled = try end.finish(
            logWeights: &even, logStartTotal: log(2.0), observationNoise: 1, step: 1, resampleTo: 4,
            estimate: &estimate, weightedMean: Self.indexMean)
        #expect(!evenResampled && !end.trace.resampled && end.resampledSteps == 0)
        #expect(abs(end.trace.logLikelihoodIncrement - (logSumExp([0.0, 0.01, 0, 0.02]) - log(2.0))) < 1e-15)
        var skewed = [0.0, -30, -30, -30]
        let skewedResampled = try end.finish(
            logWeights: &skewed, observationNoise: 1, step: 2, resampleTo: 4, estimate: &estimate,
            weightedMean: Self.indexMean)
        #expect(skewedResampled && end.resampledSteps == 1 && end.ancestors == [0, 0, 0, 0])
    }
}
