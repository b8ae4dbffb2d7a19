/// A trainer that cannot go on without producing meaningless numbers stops with one of these,
/// never with a NaN in its results.
public enum TrainerError: Error, CustomStringConvertible, Equatable {
    /// A prediction or an estimate became NaN or infinite.
    case nonFinite(trainer: String, step: Int, what: String)
    /// The EKF's covariance lost positive definiteness (a non-positive or NaN diagonal entry).
    case covarianceNotPositiveDefinite(step: Int, index: Int, value: Double)
    /// A neighbour sent something that is not what the algorithm exchanges.
    case malformedMessage(from: Int, what: String)
    /// A checkpoint that does not fit this run.
    case malformedCheckpoint(String)
    /// Something this trainer does not offer.
    case unsupported(String)

    public var description: String {
        switch self {
        case let .nonFinite(trainer, step, what):
            return "\(trainer): \(what) is not finite at step \(step); lower the learning rate or the noise "
                + "settings, or normalise the data (--normalize)"
        case let .covarianceNotPositiveDefinite(step, index, value):
            return
                "ekf: the state covariance lost positive definiteness at step \(step) (P[\(index),\(index)] = "
                + "\(value)); "
                + "increase the measurement noise variance or the initial covariance"
        case let .malformedMessage(node, what):
            return "received a malformed message from node \(node): \(what)"
        case let .malformedCheckpoint(what):
            return "the checkpoint does not fit this run: \(what)"
        case let .unsupported(what):
            return "not supported yet: \(what)"
        }
    }
}
