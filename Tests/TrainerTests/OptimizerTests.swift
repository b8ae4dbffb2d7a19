import DataSources
import Foundation
import LSTM
import Numerics
import Testing
import Trainers

/// The gradient learner's optimisers (SGD, Adam) and mini-batches, against steps computed by hand.
@Suite("optimisers and mini-batches")
struct OptimizerTests {
    static let model = LSTMModel(shape: LSTMShape(hidden: 1, input: 1))
    static let samples = [
        Sample(inputs: [0.5, -1.0], length: 2, label: 0.3),
        Sample(inputs: [2.0], length: 1, label: -0.4),
        Sample(inputs: [-0.7, 0.1, 0.9], length: 3, label: 0.8),
    ]

    func settings(_ optimizer: Optimizer, batch: Int = 1) -> SGDSettings {
        var settings = SGDSettings()
        (settings.optimizer, settings.batch, settings.learningRate) = (optimizer, batch, 0.05)
        (settings.beta1, settings.beta2, settings.epsilon) = (0.8, 0.95, 1e-6)
        return settings
    }

    @Test("Adam: three steps equal Kingma and Ba's update computed by hand")
    func adamByHand() throws {
        let settings = settings(.adam)
        var trainer = SGDTrainer(model: Self.model, settings: settings, seed: 3)
        var theta = trainer.parameters
        var m = [Double](repeating: 0, count: theta.count), v = m
        for (t, sample) in Self.samples.enumerated() {
            let (estimate, dh) = Self.model.gradient(theta: theta, sample: sample)
            #expect(abs(try trainer.predict(sample) - estimate) <= 1e-13)  // theta agrees up to round-off
            try trainer.update(sample)
            for j in theta.indices {
                let g = -(sample.label - estimate) * dh[j]  // d/dtheta of (d - h)^2 / 2
                m[j] = 0.8 * m[j] + 0.2 * g
                v[j] = 0.95 * v[j] + 0.05 * g * g
                let mHat = m[j] / (1 - pow(0.8, Double(t + 1))), vHat = v[j] / (1 - pow(0.95, Double(t + 1)))
                theta[j] -= 0.05 * mHat / (vHat.squareRoot() + 1e-6)
            }
            for j in theta.indices { #expect(abs(trainer.parameters[j] - theta[j]) <= 1e-15 * max(1, abs(theta[j]))) }
        }
        // Adam's first step moves every parameter with a non-zero gradient by about the step size.
        let start = SGDTrainer(model: Self.model, settings: settings, seed: 3).parameters
        #expect(zip(start, theta).contains { abs($0 - $1) > 0.01 })
    }

    @Test(
        "a batch of b: parameters fixed for b - 1 samples, then one step with the mean gradient",
        arguments: [
            Optimizer.sgd, .adam,
        ])
    func miniBatch(optimizer: Optimizer) throws {
        var batched = SGDTrainer(model: Self.model, settings: settings(optimizer, batch: 3), seed: 3)
        let start = batched.parameters
        var mean = [Double](repeating: 0, count: start.count)
        for sample in Self.samples {
            let prediction = try batched.predict(sample)
            let (estimate, dh) = Self.model.gradient(theta: start, sample: sample)
            #expect(prediction == estimate)  // every prediction uses the parameters of the last step
            for j in mean.indices { mean[j] += (sample.label - estimate) * dh[j] / 3 }
            try batched.update(sample)
            if sample != Self.samples.last { #expect(batched.parameters == start) }
        }
        var expected = start
        var step = GradientStep(settings: settings(optimizer), parameterCount: start.count)
        step.add(residual: 1, gradient: mean, to: &expected)
        for j in expected.indices {
            #expect(abs(batched.parameters[j] - expected[j]) <= 1e-14 * max(1, abs(expected[j])))
        }
        #expect(batched.parameters != start)
    }

    @Test("with batch 1, the paper's SGD step is unchanged: theta += mu (d - d_hat) dh/dtheta")
    func paperSGD() throws {
        var trainer = SGDTrainer(model: Self.model, settings: settings(.sgd), seed: 3)
        var theta = trainer.parameters
        for sample in Self.samples {
            let (estimate, dh) = Self.model.gradient(theta: theta, sample: sample)
            _ = try trainer.predict(sample)
            try trainer.update(sample)
            let scale = 0.05 * (sample.label - estimate)
            for j in theta.indices { theta[j] += scale * dh[j] }
            #expect(trainer.parameters == theta)
        }
    }

    @Test("a checkpoint taken mid-batch continues bit for bit")
    func checkpointMidBatch() throws {
        var whole = SGDTrainer(model: Self.model, settings: settings(.adam, batch: 2), seed: 3)
        var stream = RandomStream(seed: 4, purpose: .testing)
        let samples = (0..<9).map { _ in
            Sample(inputs: [stream.nextGaussian(), stream.nextGaussian()], length: 2, label: stream.nextGaussian())
        }
        var restored = SGDTrainer(model: Self.model, settings: settings(.adam, batch: 2), seed: 99)
        for (t, sample) in samples.enumerated() {
            if t == 5 { try restored.restoreState(whole.checkpointState()) }  // after 5 samples: mid-batch
            _ = try whole.predict(sample)
            try whole.update(sample)
            if t >= 5 {
                _ = try restored.predict(sample)
                try restored.update(sample)
            }
        }
        #expect(restored.parameters == whole.parameters)
        #expect(restored.optimizer.steps == 4 && restored.optimizer.batchCount == 1)
    }
}
