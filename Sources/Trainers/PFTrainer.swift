import LSTM

/// The particle filter on the LSTM's parameters (paper sec. 3.1).
public struct PFTrainer: OnlineTrainer {
    public let name = "pf"
    public private(set) var filter: ParticleFilter<LSTMParticleCloud>
    public private(set) var parameters: [Double]
    /// Var[eps], fixed or estimated from this node's prediction errors.
    public private(set) var noise: NoiseEstimator
    private var prediction = 0.0

    public init(model: LSTMModel, settings: PFSettings, seed: UInt64, node: Int = 0) {
        let cloud = LSTMParticleCloud(
            model: model, count: settings.particles, initialSpread: settings.initialSpread,
            centre: settings.initialCentre,
            jitterVariance: settings.jitterVariance, liuWestShrinkage: settings.liuWestShrinkage,
            carryState: settings.carryState, seed: seed, node: node, precision: settings.precision)
        filter = ParticleFilter(
            cloud: cloud, observationNoise: settings.observationNoise.fixedValue ?? 1, scheme: settings.resampling,
            policy: settings.resamplingPolicy, seed: seed, node: node)
        parameters = cloud.weightedMean(filter.weights)
        noise = NoiseEstimator(settings.observationNoise)
    }

    public mutating func predict(_ sample: Sample) throws -> Double {
        prediction = try filter.predict(input: sample)
        return prediction
    }

    public mutating func update(_ sample: Sample) throws {
        noise.observe(squaredError: (sample.label - prediction) * (sample.label - prediction))
        filter.observationNoise = noise.variance
        parameters = try filter.update(observation: sample.label)
    }

    public func checkpointState() throws -> CheckpointRecord {
        let cloud = filter.cloud
        guard !cloud.carryState else { throw TrainerError.unsupported("checkpoints of pf with carried LSTM state") }
        var record = CheckpointRecord()
        record.append("step", filter.step)
        record.append("degenerate_steps", filter.degenerateSteps)
        record.append("resampled_steps", filter.resampledSteps)
        record.append("ids", cloud.ids)
        record.append("particles", (0..<cloud.count).flatMap { cloud.particles.particle($0) })
        record.append("log_weights", filter.logWeights)
        record.append("estimate", parameters)
        noise.save(into: &record)
        return record
    }

    public mutating func restoreState(_ state: CheckpointRecord) throws {
        let nTheta = parameters.count
        let ids = try state.ints("ids")
        guard !ids.isEmpty else { throw TrainerError.malformedCheckpoint("pf: no particles") }
        let flat = try state.doubles("particles", count: ids.count * nTheta)
        let particles = ids.indices.map { Array(flat[($0 * nTheta)..<(($0 + 1) * nTheta)]) }
        let logWeights = try state.doubles("log_weights", count: ids.count)
        let estimate = try state.doubles("estimate", count: nTheta)
        var cloud = filter.cloud
        cloud.restore(ids: ids, particles: particles)
        filter.restore(
            cloud: cloud, logWeights: logWeights, step: try state.int("step"),
            degenerateSteps: try state.int("degenerate_steps"), resampledSteps: try state.int("resampled_steps"))
        parameters = estimate
        try noise.restore(from: state)
    }
}
