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

/// Settings shared by the trainers, with the paper's defaults (Ergen & Kozat, sec. 4).
public struct TrainerSettings: Sendable {
    /// SGD step mu (Adam's step size too).
    public var learningRate = 0.1
    /// How SGD and diffusion SGD step: the paper's SGD, or Adam with these moment decays and epsilon.
    public var optimizer = Optimizer.sgd
    public var beta1 = 0.9
    public var beta2 = 0.999
    public var epsilon = 1e-8
    /// Samples per gradient step (their gradients averaged).
    public var batch = 1
    /// N, particles per node.
    public var particles = 80
    /// The particle evaluation's format: single runs the kernel in Float (weights stay double).
    public var precision = Precision.double
    /// Cov[gamma] = jitterVariance * I: the random walk of the parameters (PF) and Q (EKF).
    public var jitterVariance = 0.0004
    /// Var[eps]: the observation noise variance (PF likelihood, EKF R), fixed or estimated.
    public var observationNoise = ObservationNoise.fixed(0.01)
    /// Standard deviation of the initial parameters (SGD, EKF) ...
    public var initialScale = 0.1
    /// ... and of the initial particle cloud, which must be wide enough to contain good parameters.
    public var initialSpread = 0.5
    /// P0 = initialVariance * I for the EKF.
    public var initialVariance = 0.1
    public var resampling = ResamplingScheme.systematic
    public var resamplingPolicy = ResamplingPolicy.everyStep
    /// Liu-West shrinkage h, or nil for the paper's fixed jitter.
    public var liuWestShrinkage: Double?
    public var carryState = false
    /// ELM: the forgetting factor lambda of recursive least squares, in (0, 1] (1: no forgetting) ...
    public var forgetting = 1.0
    /// ... the ridge added to the least squares (it also makes beta defined from the first row) ...
    public var ridge = 1e-6
    /// ... the standard deviation of the fixed random LSTM weights, and the direct link (the last
    /// input column among the features).
    public var elmScale = 0.5
    public var directLink = false
    /// A saved model's theta to start from (`--init-model`): SGD and the EKF start at it, particle
    /// clouds are drawn around it with `initialSpread`; nil: theta_0 and the clouds around 0.
    public var initialCentre: [Double]?

    public init() {}
}

/// Initial parameters theta_0 ~ N(0, scale^2 I), keyed by (seed, node); `centre` exactly when given.
public func initialParameters(
    shape: LSTMShape, scale: Double, seed: UInt64, node: Int, centre: [Double]? = nil
) -> [Double] {
    if let centre { return centre }
    var random = RandomStream(seed: seed, node: node, purpose: .initialization, index: Int(UInt32.max))
    return (0..<shape.parameterCount).map { _ in scale * random.nextGaussian() }
}

/// Gradient descent on (d - d_hat)^2 / 2, gradient by backpropagation through the sequence: the
/// paper's SGD, or Adam, one sample or a mini-batch per step (`GradientStep`).
public struct SGDTrainer: OnlineTrainer {
    public var name: String { optimizer.optimizer.rawValue }
    public let model: LSTMModel
    public private(set) var parameters: [Double]
    public private(set) var optimizer: GradientStep
    private var pending: (estimate: Double, gradient: [Double])?
    public private(set) var step = 0

    public init(model: LSTMModel, settings: TrainerSettings, seed: UInt64, node: Int = 0) {
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

/// The EKF on a = [c_bar; y_bar; theta] (paper eqs. 10-11).
public struct EKFTrainer: OnlineTrainer {
    public let name = "ekf"
    public private(set) var filter: ExtendedKalmanFilter<LSTMStateSpace>
    /// R, fixed or estimated from this node's prediction errors.
    public private(set) var noise: NoiseEstimator
    private var prediction = 0.0

    public init(system: LSTMStateSpace, settings: TrainerSettings, seed: UInt64, node: Int = 0) {
        let n = system.shape.hidden
        let theta = initialParameters(
            shape: system.shape, scale: settings.initialScale, seed: seed, node: node, centre: settings.initialCentre)
        filter = ExtendedKalmanFilter(
            model: system, initialState: [Double](repeating: 0, count: 2 * n) + theta,
            initialCovariance: .identity(system.shape.stateCount, scale: settings.initialVariance),
            processNoise: settings.jitterVariance, observationNoise: settings.observationNoise.fixedValue ?? 1)
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

/// The particle filter on the LSTM's parameters (paper sec. 3.1).
public struct PFTrainer: OnlineTrainer {
    public let name = "pf"
    public private(set) var filter: ParticleFilter<LSTMParticleCloud>
    public private(set) var parameters: [Double]
    /// Var[eps], fixed or estimated from this node's prediction errors.
    public private(set) var noise: NoiseEstimator
    private var prediction = 0.0

    public init(model: LSTMModel, settings: TrainerSettings, seed: UInt64, node: Int = 0) {
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
