import LSTM
import Numerics
import Testing

@testable import Trainers

/// The textbook Kalman filter with dense matrices: the exact answer on a linear-Gaussian model.
struct ReferenceKalmanFilter {
    var mean: [Double]
    var covariance: [[Double]]
    let a: [[Double]], q: Double, r: Double

    mutating func step(observationVector c: [Double], observation d: Double) {
        let n = mean.count
        let predicted = (0..<n).map { i in (0..<n).map { a[i][$0] * mean[$0] }.reduce(0, +) }
        var p = [[Double]](repeating: [Double](repeating: 0, count: n), count: n)
        for i in 0..<n {
            for j in 0..<n {
                var sum = 0.0
                for k in 0..<n { for l in 0..<n { sum += a[i][k] * covariance[k][l] * a[j][l] } }
                p[i][j] = sum + (i == j ? q : 0)
            }
        }
        let pc = (0..<n).map { i in (0..<n).map { p[i][$0] * c[$0] }.reduce(0, +) }
        let s = zip(c, pc).map(*).reduce(0, +) + r
        let innovation = d - zip(c, predicted).map(*).reduce(0, +)
        mean = (0..<n).map { predicted[$0] + pc[$0] / s * innovation }
        covariance = (0..<n).map { i in (0..<n).map { p[i][$0] - pc[i] * pc[$0] / s } }
    }
}

/// Particles of a linear-Gaussian model, for checking the generic particle filter against the
/// exact posterior.
struct LinearParticleCloud: ParticleCloud {
    var particles: [[Double]]
    let a: [[Double]], q: Double, seed: UInt64

    var count: Int { particles.count }

    mutating func propagate(step: Int, weights: [Double]) {
        for i in particles.indices {
            var random = RandomStream(seed: seed, step: step, purpose: .jitter, index: i)
            let x = particles[i]
            particles[i] = (0..<x.count).map { r in
                (0..<x.count).map { a[r][$0] * x[$0] }.reduce(0, +) + q.squareRoot() * random.nextGaussian()
            }
        }
    }

    mutating func predictedObservations(input c: [Double]) -> [Double] {
        particles.map { zip(c, $0).map(*).reduce(0, +) }
    }

    func weightedMean(_ weights: [Double]) -> [Double] {
        (0..<particles[0].count).map { j in zip(weights, particles).map { $0 * $1[j] }.reduce(0, +) }
    }

    mutating func select(_ ancestors: [Int]) { particles = ancestors.map { particles[$0] } }
}

@Suite("filters against exact answers")
struct FilterTests {
    static let transition: [[Double]] = [[0.9, 0.2], [-0.1, 0.8]]
    static func observationVector(_ t: Int) -> [Double] { [1, Double(t % 3) - 1] }

    /// Observations simulated from the model itself.
    static func observations(steps: Int, q: Double, r: Double) -> [Double] {
        var random = RandomStream(seed: 99, purpose: .testing)
        var x = [1.0, -1.0]
        return (1...steps).map { t in
            x = (0..<2).map { i in
                (0..<2).map { transition[i][$0] * x[$0] }.reduce(0, +) + q.squareRoot() * random.nextGaussian()
            }
            return zip(observationVector(t), x).map(*).reduce(0, +) + r.squareRoot() * random.nextGaussian()
        }
    }

    @Test("on a linear-Gaussian model the EKF is the exact Kalman filter")
    func ekfEqualsKalmanFilter() throws {
        let q = 0.05, r = 0.2
        let model = LinearGaussianModel(
            transitionMatrix: Matrix(rows: 2, columns: 2, elements: Self.transition.flatMap { $0 }),
            observationVector: { [1, $0[0]] })
        var ekf = ExtendedKalmanFilter(
            model: model, initialState: [0.5, 0], initialCovariance: .identity(2, scale: 2),
            processNoise: q, observationNoise: r)
        var reference = ReferenceKalmanFilter(
            mean: [0.5, 0], covariance: [[2, 0], [0, 2]], a: Self.transition, q: q, r: r)
        for (t, d) in Self.observations(steps: 60, q: q, r: r).enumerated() {
            let c = Self.observationVector(t + 1)
            ekf.timeUpdate(input: [c[1]])
            try ekf.measurementUpdate(observation: d, input: [c[1]])
            reference.step(observationVector: c, observation: d)
            for i in 0..<2 {
                #expect(
                    abs(ekf.state[i] - reference.mean[i]) < 1e-12, "step \(t): state \(ekf.state) vs \(reference.mean)")
                for j in 0..<2 { #expect(abs(ekf.covariance[i, j] - reference.covariance[i][j]) < 1e-12) }
            }
        }
    }

    @Test("the particle filter's posterior mean converges to the Kalman filter's as N grows")
    func particleFilterConvergesToKalmanFilter() throws {
        let q = 0.05, r = 0.2, steps = 25
        let data = Self.observations(steps: steps, q: q, r: r)
        var reference = ReferenceKalmanFilter(
            mean: [0, 0], covariance: [[1, 0], [0, 1]], a: Self.transition, q: q, r: r)
        var exact = [[Double]]()
        for (t, d) in data.enumerated() {
            reference.step(observationVector: Self.observationVector(t + 1), observation: d)
            exact.append(reference.mean)
        }
        var errors = [Int: Double]()
        for n in [50, 500, 5000] {
            // Average over independent runs so one lucky run cannot pass the test.
            var total = 0.0
            for run in 0..<4 {
                var random = RandomStream(seed: UInt64(run), purpose: .initialization)
                let initial = (0..<n).map { _ in [random.nextGaussian(), random.nextGaussian()] }
                var filter = ParticleFilter(
                    cloud: LinearParticleCloud(particles: initial, a: Self.transition, q: q, seed: UInt64(run)),
                    observationNoise: r, seed: UInt64(run))
                for (t, d) in data.enumerated() {
                    _ = try filter.predict(input: Self.observationVector(t + 1))
                    let estimate = try filter.update(observation: d)
                    total += abs(estimate[0] - exact[t][0]) + abs(estimate[1] - exact[t][1])
                }
            }
            errors[n] = total / Double(4 * steps * 2)
        }
        print("mean |PF - KF| by N: \(errors.sorted { $0.key < $1.key })")
        // Monte Carlo error falls like 1/sqrt(N): a factor 10 in N gives about 3.2.
        #expect(errors[500]! < errors[50]! / 2)
        #expect(errors[5000]! < errors[500]! / 2)
        #expect(errors[5000]! < 0.03)
    }

    @Test("resampling is unbiased: offspring counts match N times the weights", arguments: ResamplingScheme.allCases)
    func resamplingIsUnbiased(scheme: ResamplingScheme) {
        let weights = [0.31, 0.005, 0.12, 0.0, 0.2, 0.065, 0.15, 0.15]
        let n = 8, runs = 20_000
        var counts = [Double](repeating: 0, count: weights.count)
        for run in 0..<runs {
            var random = RandomStream(seed: 1, step: run, purpose: .resampling)
            let ancestors = scheme.ancestors(weights: weights, count: n, random: &random)
            #expect(ancestors.count == n)
            for a in ancestors { counts[a] += 1 }
        }
        for (i, w) in weights.enumerated() {
            let meanCount = counts[i] / Double(runs), expected = Double(n) * w
            // The multinomial variance N w (1 - w) bounds the others' (they are lower-variance schemes).
            let standardError = (Double(n) * w * (1 - w) / Double(runs)).squareRoot()
            #expect(
                abs(meanCount - expected) <= 5 * standardError + 1e-12,
                "\(scheme) particle \(i): \(meanCount) vs \(expected)")
        }
    }

    /// The filters' steps resample into a kept buffer; it must be the inverse-CDF lookup exactly,
    /// weights of zero, ties at the points and rounding at the end included.
    @Test("systematic ancestors into a kept buffer are the inverse-CDF lookup's")
    func systematicIntoBuffer() {
        var kept = [Int](repeating: 99, count: 500)
        for trial in 0..<300 {
            var draw = RandomStream(seed: 4, step: trial, purpose: .testing)
            let n = 1 + draw.nextInt(below: 40), count = 1 + draw.nextInt(below: 60)
            var weights = (0..<n).map { _ in draw.nextUniform() < 0.3 ? 0 : draw.nextUniform() }
            if trial % 7 == 0 { weights = weights.map { _ in 1 } }
            let total = weights.reduce(0, +)
            weights = total > 0 ? weights.map { $0 / total } : weights.map { _ in 1 / Double(n) }
            var random = RandomStream(seed: 5, step: trial, purpose: .resampling)
            var copy = random
            let u = copy.nextUniform()
            let expected = ResamplingScheme.invert(
                weights: weights, points: (0..<count).map { (Double($0) + u) / Double(count) })
            ResamplingScheme.systematic.ancestors(weights: weights, count: count, random: &random, into: &kept)
            #expect(kept == expected, "trial \(trial)")
            #expect(random.nextUInt32() == copy.nextUInt32())
        }
    }

    @Test("the EKF's cheap propagation with F's identity block equals F P F^T in full")
    func identityTailPropagationMatchesDense() throws {
        let system = LSTMStateSpace(model: LSTMModel(shape: LSTMShape(hidden: 2, input: 3)), carryState: true)
        var random = RandomStream(seed: 4, purpose: .testing)
        let state = (0..<system.stateCount).map { _ in 0.5 * random.nextGaussian() }
        let root = Matrix(
            rows: system.stateCount, columns: system.stateCount,
            elements: (0..<(system.stateCount * system.stateCount)).map { _ in 0.1 * random.nextGaussian() })
        var covariance = Matrix(rows: system.stateCount, columns: system.stateCount)
        gemm(root, .none, root, .transposed, into: &covariance)
        let sample = Sample(inputs: (0..<9).map { _ in random.nextGaussian() }, length: 3, label: 0)
        var ekf = ExtendedKalmanFilter(
            model: system, initialState: state, initialCovariance: covariance,
            processNoise: 0.01, observationNoise: 0.1)
        ekf.timeUpdate(input: sample)
        let f = system.fullJacobian(state, sample: sample)
        var expected = f * covariance * f.transposed
        for i in 0..<system.stateCount { expected[i, i] += 0.01 }
        let worst = zip(ekf.covariance.elements, expected.elements).map { abs($0 - $1) }.max()!
        #expect(worst < 1e-12, "largest difference \(worst)")
    }
}
