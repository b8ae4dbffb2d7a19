import LSTM
import Numerics

/// A random LSTM that labels random sequences, with Gaussian label noise: data whose best
/// achievable MSE is known (the noise variance), for testing that trainers converge.
public struct SyntheticTeacher: SampleSource, Sendable {
    public let model: LSTMModel
    /// The teacher's parameters theta*.
    public let parameters: [Double]
    public let noiseVariance: Double
    public let lengths: ClosedRange<Int>
    public let seed: UInt64
    public let count: Int
    private var index = 0

    public init(
        shape: LSTMShape, pooling: Pooling = .mean, parameterScale: Double = 1, noiseVariance: Double,
        lengths: ClosedRange<Int> = 1...5, count: Int, seed: UInt64
    ) {
        precondition(lengths.lowerBound >= 1)
        self.model = LSTMModel(shape: shape, pooling: pooling)
        var random = RandomStream(seed: seed, purpose: .teacher, index: Int(UInt32.max))
        self.parameters = (0..<shape.parameterCount).map { _ in parameterScale * random.nextGaussian() }
        self.noiseVariance = noiseVariance
        self.lengths = lengths
        self.count = count
        self.seed = seed
    }

    public var inputSize: Int { model.shape.input }

    /// Sample i, the same whichever order samples are asked for.
    public func sample(_ i: Int) -> Sample {
        var random = RandomStream(seed: seed, step: i, purpose: .teacher)
        let length = lengths.lowerBound + random.nextInt(below: lengths.count)
        let inputs = (0..<(length * model.shape.input)).map { _ in random.nextGaussian() }
        let clean = Sample(inputs: inputs, length: length, label: 0)
        let label =
            model.estimate(theta: parameters, sample: clean) + noiseVariance.squareRoot() * random.nextGaussian()
        return Sample(inputs: inputs, length: length, label: label)
    }

    public mutating func next() throws -> Sample? {
        guard index < count else { return nil }
        defer { index += 1 }
        return sample(index)
    }
}
