import LSTM
import Numerics
import Testing
import Trainers

@Suite("resampling policy and Liu-West shrinkage")
struct PolicyTests {
    @Test(
        "ESS-triggered resampling: only when the ESS falls below fraction N, still tracking the Kalman filter"
    )
    func effectiveSampleSizePolicy() throws {
        let q = 0.05, r = 0.2, steps = 25, n = 2000
        let data = FilterTests.observations(steps: steps, q: q, r: r)
        let reference = ReferenceKalmanFilter(
            mean: [0, 0], covariance: [[1, 0], [0, 1]], a: FilterTests.transition, q: q, r: r)
        var counts = [Double: Int]()
        for fraction in [0.0, 0.5, 1.01] {
            var random = RandomStream(seed: 4, purpose: .initialization)
            let initial = (0..<n).map { _ in [random.nextGaussian(), random.nextGaussian()] }
            var filter = ParticleFilter(
                cloud: LinearParticleCloud(particles: initial, a: FilterTests.transition, q: q, seed: 4),
                observationNoise: r, policy: .effectiveSampleSize(fraction: fraction), seed: 4)
            var error = 0.0
            var kalman = reference
            for (t, d) in data.enumerated() {
                _ = try filter.predict(input: FilterTests.observationVector(t + 1))
                let weightsBefore = filter.logWeights
                let estimate = try filter.update(observation: d)
                kalman.step(observationVector: FilterTests.observationVector(t + 1), observation: d)
                error += abs(estimate[0] - kalman.mean[0]) + abs(estimate[1] - kalman.mean[1])
                // Without resampling, the log-weights accumulate instead of being reset.
                if fraction == 0 { #expect(filter.logWeights != weightsBefore) }
            }
            counts[fraction] = filter.resampledSteps
            if fraction == 0.5 {
                #expect(error / Double(2 * steps) < 0.1, "mean |PF - KF| \(error / Double(2 * steps))")
            }
        }
        #expect(counts[0.0] == 0)
        #expect(counts[1.01] == steps)  // ESS <= N < 1.01 N: every step
        #expect(counts[0.5]! > 0 && counts[0.5]! < steps)
    }

    @Test("Liu-West shrinkage keeps the cloud's mean and variance; plain jitter widens it by Cov[gamma]")
    func liuWest() {
        let model = LSTMModel(shape: LSTMShape(hidden: 1, input: 1))
        let count = 4000
        let uniform = [Double](repeating: 1 / Double(count), count: count)
        func moments(_ cloud: LSTMParticleCloud) -> (mean: [Double], variance: [Double]) {
            let mean = cloud.weightedMean(uniform)
            var variance = [Double](repeating: 0, count: mean.count)
            for i in 0..<count {
                let theta = cloud.particles.particle(i)
                for j in mean.indices { variance[j] += (theta[j] - mean[j]) * (theta[j] - mean[j]) / Double(count) }
            }
            return (mean, variance)
        }
        // h = 0.5: without the shrinkage the variance would grow by h^2 = 25%, without the noise fall by 25%.
        for shrinkage in [nil, 0.5] as [Double?] {
            var cloud = LSTMParticleCloud(
                model: model, count: count, initialSpread: 0.5, jitterVariance: 0.04,
                liuWestShrinkage: shrinkage, seed: 3)
            let before = moments(cloud)
            cloud.propagate(step: 1, weights: uniform)
            let after = moments(cloud)
            for j in before.mean.indices {
                // sd of a mean of 4000 draws with variance 0.25 is 0.008.
                #expect(abs(after.mean[j] - before.mean[j]) < 0.03)
                let expected = before.variance[j] + (shrinkage == nil ? 0.04 : 0)
                #expect(
                    abs(after.variance[j] - expected) < 0.1 * expected,
                    "parameter \(j): \(after.variance[j]) vs \(expected)")
            }
        }
    }
}
