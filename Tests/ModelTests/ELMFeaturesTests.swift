import LSTM
import Numerics
import Testing

/// The batched ELM feature map against the scalar reference model, sequence by sequence.
@Suite("ELM features")
struct ELMFeaturesTests {
    /// Sequences of lengths 1 to 5, mixed, so batches of several lengths form.
    static func samples(count: Int, input p: Int) -> [Sample] {
        var random = RandomStream(seed: 4, purpose: .testing)
        return (0..<count).map { i in
            let m = 1 + (i * 7) % 5
            return Sample(inputs: (0..<(m * p)).map { _ in random.nextGaussian() }, length: m, label: 0)
        }
    }

    @Test(
        "features equal the reference forward pass: y_bar, then 1, then the last column",
        arguments: Pooling.allCases, [16, 11])
    func matchesReference(pooling: Pooling, hidden n: Int) {
        // n = 16: SIMD lanes only; n = 11: a scalar tail of 3 units as well.
        let model = LSTMModel(shape: LSTMShape(hidden: n, input: 3), pooling: pooling)
        let features = ELMFeatures(model: model, seed: 7, scale: 0.5, directLink: true)
        let samples = Self.samples(count: 23, input: 3)
        let rows = features.rows(samples)
        let width = features.featureCount
        #expect(width == n + 1 + 3)
        for (i, sample) in samples.enumerated() {
            let row = Array(rows[(i * width)..<((i + 1) * width)])
            let reference = model.forward(theta: features.theta, sample: sample).pooledOutput
            let error = zip(row[..<n], reference).map { abs($0 - $1) }.max()!
            #expect(error <= 1e-13, "sample \(i), length \(sample.length)")
            #expect(row[n] == 1)
            #expect(Array(row[(n + 1)...]) == Array(sample.inputs.suffix(3)))
        }
        // The weights are keyed by the seed alone, and do not depend on the batch.
        #expect(ELMFeatures(model: model, seed: 7, scale: 0.5).theta == features.theta)
        #expect(features.rows(Array(samples[5..<6])) == Array(rows[(5 * width)..<(6 * width)]))
    }
}
