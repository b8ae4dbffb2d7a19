import LSTM

/// The EKF on a = [c_bar; y_bar; theta] (paper eqs. 10-11).
public struct EKFTrainer: OnlineTrainer {
    public let name = "ekf"
    public private(set) var filter: ExtendedKalmanFilter<LSTMStateSpace>
    /// R, fixed or estimated from this node's prediction errors.
    public private(set) var noise: NoiseEstimator
    private var prediction = 0.0

    public init(system: LSTMStateSpace, settings: EKFSettings, seed: UInt64, node: Int = 0) {
        let n = system.shape.hidden
        let theta = initialParameters(
            shape: system.shape, scale: settings.initialScale, seed: seed, node: node, centre: settings.initialCentre)
        filter = ExtendedKalmanFilter(
            model: system, initialState: [Double](repeating: 0, count: 2 * n) + theta,
            initialCovariance: .identity(system.shape.stateCount, scale: settings.initialVariance),
            processNoise: settings.processNoise, observationNoise: settings.observationNoise.fixedValue ?? 1)
        noise = NoiseEstimator(settings.observationNoise)
    }

    public var parameters: [Double] { filter.model.parameters(of: filter.state) }

    public mutating func predict(_ sample: Sample) throws -> Double {
        filter.timeUpdate(input: sample)
        let prediction = filter.predictedObservation(input: sample)
        guard prediction.isFinite else {
            throw TrainerError.nonFinite(trainer: name, step: filter.step, what: "the prediction")
        }
        self.prediction = prediction
        return prediction
    }

    public mutating func update(_ sample: Sample) throws {
        noise.observe(squaredError: (sample.label - prediction) * (sample.label - prediction))
        filter.observationNoise = noise.variance
        try filter.measurementUpdate(observation: sample.label, input: sample)
    }

    public func checkpointState() -> CheckpointRecord {
        var record = filter.checkpoint
        noise.save(into: &record)
        return record
    }

    public mutating func restoreState(_ state: CheckpointRecord) throws {
        try filter.restore(checkpoint: state)
        try noise.restore(from: state)
    }
}
