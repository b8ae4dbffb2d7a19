import LSTM

/// The predictor every result is compared with, the one that fits the data with no learning:
/// persistence for a lagged series (the label x_{t+h} predicted by the window's last value x_t,
/// in the labels' scale), and for anything else the running mean of the labels this node has seen
/// (0 before the first). Prequential like the trainers: each prediction is made before its label.
public struct TrivialPredictor: Sendable {
    public enum Kind: String, Sendable {
        case persistence
        case runningMean = "running mean"
    }

    public let kind: Kind
    /// Persistence's factor from the inputs' scale to the labels' (`--label-scale`).
    public let labelScale: Double
    private var sum = 0.0
    private var count = 0

    public init(kind: Kind, labelScale: Double = 1) { (self.kind, self.labelScale) = (kind, labelScale) }

    public func predict(_ sample: Sample) -> Double {
        switch kind {
        case .persistence: (sample.inputs.last ?? 0) * labelScale
        case .runningMean: count == 0 ? 0 : sum / Double(count)
        }
    }

    public mutating func observe(label: Double) {
        sum += label
        count += 1
    }

    /// The running mean's state again, from the labels seen before a restart.
    public mutating func replay(labels: [Double]) { for label in labels { observe(label: label) } }
}

extension TrainingConfiguration {
    /// Persistence for a CSV series (lag windows of one column), the running mean otherwise.
    public var trivialPredictor: TrivialPredictor {
        TrivialPredictor(
            kind: data.lowercased().hasSuffix(".csv") ? .persistence : .runningMean, labelScale: labelScale)
    }
}
