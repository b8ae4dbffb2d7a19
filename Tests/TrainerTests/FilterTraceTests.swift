import Foundation
import LSTM
import Numerics
import Testing
import Trainers

/// The SMC trace of the local PF against the same quantities computed by hand from its particles.
@Suite("the SMC trace")
struct FilterTraceTests {
    @Test("ESS, likelihood increment and noise of a 5-particle PF, against a hand-run; ESS = N after resampling")
    func handRun() throws {
        let shape = LSTMShape(hidden: 2, input: 2)
        var settings = PFSettings()
        (settings.particles, settings.observationNoise) = (5, .fixed(0.05))
        var trainer = PFTrainer(model: LSTMModel(shape: shape), settings: settings, seed: 7)
        let samples = (0..<4).map { t in
            Sample(inputs: (0..<(2 * (t + 1))).map { sin(Double($0 + t)) }, length: t + 1, label: 0.3 - 0.1 * Double(t))
        }
        for sample in samples {
            _ = try trainer.predict(sample)
            // Equal weights after the last resampling: the step's weights are its likelihoods alone.
            let h = Array(trainer.filter.cloud.store.output.estimates.prefix(5))
            let logLikelihoods = h.map { GaussianLikelihood(variance: 0.05).logDensity(sample.label, $0) }
            let maximum = logLikelihoods.max()!
            let terms = logLikelihoods.map { exp($0 - maximum) }
            let weights = terms.map { $0 / terms.reduce(0, +) }
            let ess = 1 / weights.map { $0 * $0 }.reduce(0, +)
            let increment = maximum + log(terms.reduce(0, +) / 5)
            try trainer.update(sample)
            let step = trainer.filter.lastStep
            #expect(abs(step.effectiveSampleSize - ess) <= 1e-12 * ess)
            #expect(abs(step.logLikelihoodIncrement - increment) <= 1e-12 * max(1, abs(increment)))
            #expect(step.resampled && step.particles == 5 && step.observationNoise == 0.05)
            #expect(ess < 5)  // the particles do differ, so the check above is not of equal weights
            #expect(abs(effectiveSampleSize(trainer.filter.weights) - 5) < 1e-12)
        }
    }
}
