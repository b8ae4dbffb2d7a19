import Foundation
import LSTM
import Numerics
import Trainers

/// `dlstm bench model`: particle-kernel throughput (batched kernel against the scalar reference
/// model) and the EKF's step cost, on one core; prints its figures.
public func runModelBenchmark(particles: Int, length: Int, seconds: Double, shapes: [(Int, Int)], kernelOnly: Bool) {
    print("particle kernel: N = \(particles) particles, m = \(length) columns; particle-columns per second")
    print(
        pad("n", 4) + pad("p", 4) + pad("n_theta", 9) + pad("kernel", 14) + pad("single", 14) + pad("single/double", 15)
            + pad("reference", 14) + pad("speed-up", 10))
    for (n, p) in shapes {
        let shape = LSTMShape(hidden: n, input: p)
        var stream = RandomStream(seed: 1, purpose: .testing)
        let thetas = (0..<particles).map { _ in (0..<shape.parameterCount).map { _ in 0.3 * stream.nextGaussian() } }
        let population = ParticleParameters(shape: shape, particles: thetas)
        let sample = Sample(inputs: (0..<(length * p)).map { _ in stream.nextGaussian() }, length: length, label: 0)
        let kernel = ParticleKernel(shape: shape)
        var output = KernelOutput()
        let kernelRate = measure(seconds: seconds, work: Double(particles * length)) {
            kernel.evaluate(population, sample: sample, into: &output)
        }
        let singleKernel = ParticleKernel(shape: shape, precision: .single)
        let singleRate = measure(seconds: seconds, work: Double(particles * length)) {
            singleKernel.evaluate(population, sample: sample, into: &output)
        }
        let model = LSTMModel(shape: shape)
        var sink = 0.0
        let referenceRate =
            kernelOnly
            ? .nan
            : measure(seconds: seconds / 2, work: Double(particles * length)) {
                for theta in thetas { sink += model.estimate(theta: theta, sample: sample) }
            }
        if sink.isNaN { print("(NaN)") }
        print(
            pad(String(n), 4) + pad(String(p), 4) + pad(String(shape.parameterCount), 9)
                + pad(String(format: "%.3g", kernelRate), 14) + pad(String(format: "%.3g", singleRate), 14)
                + pad(String(format: "%.2f", singleRate / kernelRate), 15)
                + pad(String(format: "%.3g", referenceRate), 14)
                + pad(String(format: "%.1fx", kernelRate / referenceRate), 10))
    }

    print("\nEKF on a = [c_bar; y_bar; theta], p = n, m = \(length): one step = time update (F from 2n backward")
    print("passes, F P F^T with F's identity block) + measurement update")
    print(pad("n", 4) + pad("n_a", 7) + pad("ms/step", 10) + pad("n_a^2 n / 1e6", 15))
    for n in [2, 4, 8, 16] {
        let shape = LSTMShape(hidden: n, input: n)
        let system = LSTMStateSpace(model: LSTMModel(shape: shape))
        var settings = EKFSettings()
        settings.initialVariance = 0.01
        var trainer = EKFTrainer(system: system, settings: settings, seed: 1)
        var stream = RandomStream(seed: 2, purpose: .testing)
        let samples = (0..<16).map { _ in
            Sample(
                inputs: (0..<(length * n)).map { _ in stream.nextGaussian() }, length: length,
                label: 0.1 * stream.nextGaussian())
        }
        var index = 0
        var failure: Error?
        let rate = measure(seconds: seconds, work: 1) {
            do {
                _ = try trainer.predict(samples[index % samples.count])
                try trainer.update(samples[index % samples.count])
            } catch { failure = error }
            index += 1
        }
        if let failure { print("EKF failed at n = \(n): \(failure)") }
        let nA = Double(shape.stateCount)
        print(
            pad(String(n), 4) + pad(String(shape.stateCount), 7) + pad(String(format: "%.3f", 1000 / rate), 10)
                + pad(String(format: "%.2f", nA * nA * Double(n) / 1e6), 15))
    }
}

/// Repeats `body` for at least `seconds` and returns work units per second.
public func measure(seconds: Double, work: Double, _ body: () -> Void) -> Double {
    body()  // warm-up: first-touch allocations, caches
    var repetitions = 0
    let start = Date()
    var elapsed = 0.0
    repeat {
        body()
        repetitions += 1
        elapsed = Date().timeIntervalSince(start)
    } while elapsed < seconds
    return work * Double(repetitions) / elapsed
}
