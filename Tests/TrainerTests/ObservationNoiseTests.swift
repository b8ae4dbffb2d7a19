import Numerics
import Testing

@testable import Trainers

/// `--observation-noise auto`: the estimator of Var[eps] from squared prediction errors.
@Suite("the observation noise estimator")
struct ObservationNoiseTests {
    /// Squared draws of N(0, variance), from a fixed stream.
    func squaredErrors(variance: Double, count: Int, seed: UInt64 = 3) -> [Double] {
        var random = RandomStream(seed: seed, node: 0, purpose: .initialization, index: 0)
        return (0..<count).map { _ in
            let e = variance.squareRoot() * random.nextGaussian()
            return e * e
        }
    }

    @Test("the warm-up is the plain mean of the errors so far", arguments: [1, 7, NoiseEstimator.window])
    func warmUpMean(steps: Int) {
        let errors = squaredErrors(variance: 0.3, count: steps)
        var estimator = NoiseEstimator(.auto)
        for e in errors { estimator.observe(squaredError: e) }
        let mean = errors.reduce(0, +) / Double(steps)
        #expect(abs(estimator.variance - mean) <= 1e-12 * mean)
    }

    @Test(
        "on a stream of known noise the estimate stays within a few percent after the warm-up",
        arguments: [1e-4, 0.01, 2.5])
    func knownNoise(variance: Double) {
        var estimator = NoiseEstimator(.auto)
        var sum = 0.0, worst = 0.0
        let errors = squaredErrors(variance: variance, count: 20000)
        for (t, e) in errors.enumerated() {
            estimator.observe(squaredError: e)
            if t >= 1000 {
                sum += estimator.variance
                worst = max(worst, abs(estimator.variance / variance - 1))
            }
        }
        // An exponential mean of 100 steps of chi-square(1) draws has a relative sd of about 0.1:
        // its average over time is within 2%, and it is never off by a factor of two.
        let average = sum / Double(errors.count - 1000)
        #expect(abs(average / variance - 1) < 0.02, "average estimate \(average) for \(variance)")
        #expect(worst < 0.6, "worst relative error \(worst)")
    }

    @Test("after the warm-up it follows a change of noise within a few windows")
    func followsChange() {
        var estimator = NoiseEstimator(.auto)
        for e in squaredErrors(variance: 0.01, count: 2000) { estimator.observe(squaredError: e) }
        for e in squaredErrors(variance: 1, count: 5 * NoiseEstimator.window, seed: 4) {
            estimator.observe(squaredError: e)
        }
        #expect(estimator.variance > 0.6 && estimator.variance < 1.5, "\(estimator.variance)")
    }

    @Test("a fixed variance ignores the errors; a perfect predictor meets the floor; checkpoints restore")
    func fixedFloorAndCheckpoint() throws {
        var fixed = NoiseEstimator(.fixed(0.01))
        fixed.observe(squaredError: 5)
        #expect(fixed.variance == 0.01 && !fixed.isEstimated)
        var perfect = NoiseEstimator(.auto)
        for _ in 0..<10 { perfect.observe(squaredError: 0) }
        #expect(perfect.variance == NoiseEstimator.floor)
        var estimator = NoiseEstimator(.auto)
        for e in squaredErrors(variance: 0.2, count: 150) { estimator.observe(squaredError: e) }
        var restored = NoiseEstimator(.auto)
        try restored.restore(estimator.checkpoint)
        #expect(restored == estimator)
        #expect(throws: TrainerError.self) { try restored.restore([1, -1]) }
    }

    @Test("\"auto\" and numbers parse; anything else does not")
    func parsing() {
        #expect(ObservationNoise("auto") == .auto)
        #expect(ObservationNoise("0.04") == .fixed(0.04))
        #expect(ObservationNoise("often") == nil)
    }
}
