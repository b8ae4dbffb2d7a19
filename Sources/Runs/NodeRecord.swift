import Distributed

/// What one node did over a run, as the reporter receives it.
public struct NodeRecord: Sendable {
    public var node: Int
    /// d_hat before the label, and the label, at each step.
    public var predictions: [Double]
    public var labels: [Double]
    /// The trivial predictor's prediction at each step (`TrivialPredictor`).
    public var baselinePredictions: [Double] = []
    public var traffic: Traffic
    /// Step time minus communication time.
    public var computeSeconds: Double
    public var diagnostics: [String: Double]
    /// The node's final estimate: theta, or an ELM's readout.
    public var estimate: [Double] = []
    /// A particle filter's SMC trace, `FilterStepTrace.columns` per step, back to back.
    public var filterTrace: [Double] = []
    /// A particle filter's final cloud.
    public var cloud: ParticleCloudSnapshot? = nil

    /// (d - d_hat)^2 at each step: the prequential errors.
    public var squaredErrors: [Double] { zip(labels, predictions).map { ($0 - $1) * ($0 - $1) } }
    /// The trivial predictor's squared errors.
    public var baselineSquaredErrors: [Double] { zip(labels, baselinePredictions).map { ($0 - $1) * ($0 - $1) } }
}
