import LSTM

// Each trainer's settings, with the paper's defaults (Ergen & Kozat, sec. 4). A trainer reads its
// own type only; `TrainingConfiguration` (Runs) makes each from the options.

/// Gradient descent: the paper's SGD or Adam (SGD, diffusion SGD, the synchronised learners).
public struct SGDSettings: Sendable, Equatable {
    /// The step mu (Adam's step size too).
    public var learningRate = 0.1
    /// The paper's SGD, or Adam with these moment decays and epsilon.
    public var optimizer = Optimizer.sgd
    public var beta1 = 0.9
    public var beta2 = 0.999
    public var epsilon = 1e-8
    /// Samples per gradient step (their gradients averaged).
    public var batch = 1
    /// theta_0 ~ N(0, initialScale^2 I), or exactly `initialCentre` (a saved model, `--init-model`).
    public var initialScale = 0.1
    public var initialCentre: [Double]?

    public init() {}
}

/// The EKF on a = [c_bar; y_bar; theta] (EKF, DEKF).
public struct EKFSettings: Sendable, Equatable {
    /// Q = processNoise I: the parameters' random walk, Cov[gamma].
    public var processNoise = 0.0004
    /// R = Var[eps], fixed or estimated from the node's prediction errors.
    public var observationNoise = ObservationNoise.fixed(0.01)
    /// P0 = initialVariance I.
    public var initialVariance = 0.1
    /// theta_0 as for SGD.
    public var initialScale = 0.1
    public var initialCentre: [Double]?
    /// Each sequence starts from the previous one's pooled state (eqs. 6-7), not from zero.
    public var carryState = false

    public init() {}
}

/// The particle filters on theta (PF, DPF, centralized PF).
public struct PFSettings: Sendable, Equatable {
    /// N, particles per node.
    public var particles = 80
    /// The particle evaluation's format: single runs the kernel in Float (weights stay double).
    public var precision = Precision.double
    /// Cov[gamma] = jitterVariance I: the parameters' random walk.
    public var jitterVariance = 0.0004
    /// Var[eps] of the likelihood, fixed or estimated.
    public var observationNoise = ObservationNoise.fixed(0.01)
    /// The initial cloud, theta ~ N(initialCentre or 0, initialSpread^2 I): wide enough to contain
    /// good parameters.
    public var initialSpread = 0.5
    public var initialCentre: [Double]?
    public var resampling = ResamplingScheme.systematic
    public var resamplingPolicy = ResamplingPolicy.everyStep
    /// Liu-West shrinkage h, or nil for the paper's fixed jitter.
    public var liuWestShrinkage: Double?
    public var carryState = false

    public init() {}
}

/// An ELM-trained LSTM: fixed random LSTM weights, the readout by recursive least squares (elm, delm).
public struct ELMSettings: Sendable, Equatable {
    /// lambda of recursive least squares, in (0, 1] (1: no forgetting).
    public var forgetting = 1.0
    /// The ridge added to the least squares (it also makes beta defined from the first row).
    public var ridge = 1e-6
    /// The standard deviation of the fixed random LSTM weights.
    public var scale = 0.5
    /// The last input column among the features.
    public var directLink = false

    public init() {}
}
