import LSTM
import Numerics

/// The online protocol every trainer follows at each step (the prequential protocol of the papers):
/// 1. `predict` d_hat for the sample before its label is seen (the prequential error is
///    (d - d_hat)^2);
/// 2. `update` with the label.
public protocol OnlineTrainer {
    var name: String { get }
    mutating func predict(_ sample: Sample) throws -> Double
    /// Learns from `sample.label`; call after `predict` on the same sample.
    mutating func update(_ sample: Sample) throws
    /// The current estimate of theta.
    var parameters: [Double] { get }
    /// Everything the trainer needs to continue bit for bit after a restart, taken between steps
    /// (the random streams are keyed by seed, node and step, so there is no generator state).
    func checkpointState() throws -> CheckpointRecord
    /// Puts back a `checkpointState()`.
    mutating func restoreState(_ state: CheckpointRecord) throws
}

/// Initial parameters theta_0 ~ N(0, scale^2 I), keyed by (seed, node); `centre` exactly when given.
public func initialParameters(
    shape: LSTMShape, scale: Double, seed: UInt64, node: Int, centre: [Double]? = nil
) -> [Double] {
    if let centre { return centre }
    var random = RandomStream(seed: seed, node: node, purpose: .initialization, index: Int(UInt32.max))
    return (0..<shape.parameterCount).map { _ in scale * random.nextGaussian() }
}
