import LSTM

/// Gradient descent on (d - d_hat)^2 / 2, gradient by backpropagation through the sequence: the
/// paper's SGD, or Adam, one sample or a mini-batch per step (`GradientStep`).
public struct SGDTrainer: OnlineTrainer {
    public var name: String { optimizer.optimizer.rawValue }
    public let model: LSTMModel
    public private(set) var parameters: [Double]
    public private(set) var optimizer: GradientStep
    private var pending: (estimate: Double, gradient: [Double])?
    public private(set) var step = 0

    public init(model: LSTMModel, settings: SGDSettings, seed: UInt64, node: Int = 0) {
        self.model = model
        self.parameters = initialParameters(
            shape: model.shape, scale: settings.initialScale, seed: seed, node: node, centre: settings.initialCentre)
        optimizer = GradientStep(settings: settings, parameterCount: model.shape.parameterCount)
    }

    public mutating func predict(_ sample: Sample) throws -> Double {
        step += 1
        let result = model.gradient(theta: parameters, sample: sample)
        guard result.estimate.isFinite else {
            throw TrainerError.nonFinite(trainer: name, step: step, what: "the prediction")
        }
        pending = result
        return result.estimate
    }

    public mutating func update(_ sample: Sample) throws {
        let (estimate, gradient) = pending ?? model.gradient(theta: parameters, sample: sample)
        pending = nil
        optimizer.add(residual: sample.label - estimate, gradient: gradient, to: &parameters)
        guard parameters.allSatisfy(\.isFinite) else {
            throw TrainerError.nonFinite(trainer: name, step: step, what: "the parameter vector (the step diverged)")
        }
    }

    /// Replaces the parameters (diffusion SGD combines neighbours' estimates).
    public mutating func setParameters(_ theta: [Double]) { parameters = theta }

    public func checkpointState() -> CheckpointRecord {
        var record = CheckpointRecord()
        record.append("step", step)
        record.append("parameters", parameters)
        record.append("optimizer", optimizer.checkpoint)
        return record
    }

    public mutating func restoreState(_ state: CheckpointRecord) throws {
        let restored = try state.doubles("parameters", count: parameters.count)
        try optimizer.restore(checkpoint: state.record("optimizer"))
        step = try state.int("step")
        parameters = restored
        pending = nil
    }
}
