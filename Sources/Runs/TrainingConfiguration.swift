import DataSources
import Distributed
import Foundation
import LSTM
import Trainers

/// Every option that shapes a run's results: the algorithm, the network, the model, the trainers'
/// settings and the data. The one source of truth: `config.toml`, `summary.json`'s `parameters`
/// and every checkpoint's header are this value encoded, under the command-line option names
/// (`walk-steps`), so a `--config` file and the command line read it back alike.
///
/// How a run is carried out (where results go, progress, checkpoints, timeouts) is `RunControl`.
public struct TrainingConfiguration: Codable, Equatable, Sendable {
    // The network and the algorithm.
    public var algorithm = Algorithm.dpf
    public var topology = "ring"
    public var walkSteps = 3
    public var walk = WalkKind.simple
    /// DEKF: the exchanged states' and covariances' format.
    public var exchangePrecision = Precision.double
    /// CPF: how the nodes sum the log-likelihoods.
    public var reduce = CentralizedReduce.allgather
    // The synchronisation protocols (avg, gm, fgm), as `SyncSettings` holds them.
    public var syncEvery = syncDefaults.every
    public var threshold = 0.01
    public var resolution = syncDefaults.resolution
    public var fgmEpsilon = syncDefaults.fgmEpsilon
    public var coordinator = syncDefaults.coordinator

    // The model and the trainers, with the paper's defaults as the trainers' settings hold them.
    public var hidden = 2
    public var pooling = Pooling.mean
    public var particles = pfDefaults.particles
    /// PF, DPF, CPF: the particle evaluation's format (weights and resampling stay in double).
    public var precision = Precision.double
    public var jitter = pfDefaults.jitterVariance
    public var observationNoise = pfDefaults.observationNoise
    public var learningRate = sgdDefaults.learningRate
    public var optimizer = sgdDefaults.optimizer
    public var beta1 = sgdDefaults.beta1
    public var beta2 = sgdDefaults.beta2
    public var epsilon = sgdDefaults.epsilon
    public var batch = sgdDefaults.batch
    public var initialVariance = ekfDefaults.initialVariance
    public var initialScale = sgdDefaults.initialScale
    public var initialSpread = pfDefaults.initialSpread
    public var resampling = pfDefaults.resampling
    public var liuWest: Double?
    public var forgetting = elmDefaults.forgetting
    public var ridge = elmDefaults.ridge
    public var elmScale = elmDefaults.scale
    public var directLink = elmDefaults.directLink
    /// A saved model (a run's directory or a model file) to start from.
    public var initModel: String?
    public var seed: UInt64 = 1

    // The data.
    public var data = "teacher"
    public var samples: Int?
    public var partition = Partition.roundRobin
    public var column: String?
    public var lags = 2
    public var horizon = 1
    public var lagLayout = CSVTimeSeries.LagLayout.vector
    public var normalize = Normalization.none
    public var normalizePrefix = 200
    public var wordVectors: String?
    public var teacherInput = 2
    public var teacherHidden: Int?
    public var teacherNoise = 0.002
    public var teacherScale = 1.0
    public var labelScale = 1.0

    public init() {}

    /// The command-line option names.
    enum CodingKeys: String, CodingKey {
        case algorithm, topology, walkSteps = "walk-steps", walk, exchangePrecision = "exchange-precision", reduce
        case syncEvery = "sync-every", threshold, resolution, fgmEpsilon = "fgm-epsilon", coordinator
        case hidden, pooling, particles, precision, jitter
        case observationNoise = "observation-noise", learningRate = "learning-rate", initialVariance =
            "initial-variance"
        case optimizer, beta1, beta2, epsilon, batch
        case forgetting, ridge, elmScale = "elm-scale", directLink = "direct-link", initModel = "init-model"
        case initialScale = "initial-scale", initialSpread = "initial-spread", resampling, liuWest = "liu-west", seed
        case data, samples, partition, column, lags, horizon, lagLayout = "lag-layout", normalize
        case normalizePrefix = "normalize-prefix", wordVectors = "word-vectors", teacherInput = "teacher-input"
        case teacherHidden = "teacher-hidden", teacherNoise = "teacher-noise", teacherScale = "teacher-scale"
        case labelScale = "label-scale"
    }

    /// The first bad value, as the one line a user sees (status 2).
    public func validate() throws {
        func check(_ condition: Bool, _ message: @autoclosure () -> String) throws {
            if !condition { throw RunError(message(), status: .usage) }
        }
        try check(walkSteps >= 1, "--walk-steps \(walkSteps): must be at least 1")
        try check(syncEvery >= 1, "--sync-every \(syncEvery): must be at least 1")
        try check(threshold >= 0, "--threshold \(threshold): must be >= 0 (inf: never synchronise)")
        try check(fgmEpsilon > 0 && fgmEpsilon < 1, "--fgm-epsilon \(fgmEpsilon): must be in (0, 1)")
        try check(coordinator >= 0, "--coordinator \(coordinator): must be a node, 0 or more")
        try check(hidden >= 1, "--hidden \(hidden): must be at least 1")
        try check(particles >= 1, "--particles \(particles): must be at least 1")
        try check(jitter >= 0 && jitter.isFinite, "--jitter \(jitter): must be a finite variance >= 0")
        if let r = observationNoise.fixedValue {
            try check(r > 0 && r.isFinite, "--observation-noise \(r): must be a finite variance > 0, or auto")
        }
        try check(
            learningRate > 0 && learningRate.isFinite, "--learning-rate \(learningRate): must be positive and finite")
        try check(
            initialVariance > 0 && initialVariance.isFinite,
            "--initial-variance \(initialVariance): must be positive and finite")
        try check(beta1 >= 0 && beta1 < 1, "--beta1 \(beta1): must be in [0, 1)")
        try check(beta2 >= 0 && beta2 < 1, "--beta2 \(beta2): must be in [0, 1)")
        try check(epsilon > 0 && epsilon.isFinite, "--epsilon \(epsilon): must be positive and finite")
        try check(batch >= 1, "--batch \(batch): must be at least 1")
        try check(forgetting > 0 && forgetting <= 1, "--forgetting \(forgetting): must be in (0, 1]")
        try check(ridge >= 0 && ridge.isFinite, "--ridge \(ridge): must be finite and >= 0")
        try check(elmScale > 0 && elmScale.isFinite, "--elm-scale \(elmScale): must be positive and finite")
        if initModel != nil {
            try check(
                !algorithm.isELM,
                "--init-model: \(algorithm.rawValue) draws its fixed weights from --seed and solves its readout; "
                    + "it starts afresh")
        }
        if let h = liuWest { try check(h > 0 && h < 1, "--liu-west \(h): must be in (0, 1)") }
        // TOML integers are signed 64-bit: a larger seed could not be written to config.toml.
        try check(seed <= UInt64(Int64.max), "--seed \(seed): must be at most \(Int64.max)")
        if let samples { try check(samples >= 1, "--samples \(samples): must be at least 1") }
        try check(lags >= 1 && horizon >= 1, "--lags and --horizon must be at least 1")
        try check(
            teacherInput >= 1 && teacherNoise >= 0 && (teacherHidden ?? 1) >= 1,
            "teacher sizes must be at least 1, its noise >= 0")
        try check(labelScale.isFinite && labelScale != 0, "--label-scale \(labelScale): must be finite and non-zero")
    }

    /// The trained LSTM's sizes for data of `inputSize` columns. An ELM's direct link is a column of
    /// its features, not part of the fixed LSTM (`ELMFeatures`).
    public func modelShape(inputSize: Int) -> LSTMShape {
        LSTMShape(hidden: hidden, input: inputSize, directLink: directLink && !algorithm.isELM)
    }

    // Each trainer's settings, read from the options: where an option reaches the trainers. An option
    // that shapes a trainer is read here (ConfigurationTests checks that each one changes something).

    /// SGD and Adam: sgd, dsgd, and the learners of avg, gm and fgm.
    public var sgd: SGDSettings {
        var sgd = SGDSettings()
        (sgd.learningRate, sgd.optimizer, sgd.batch) = (learningRate, optimizer, batch)
        (sgd.beta1, sgd.beta2, sgd.epsilon, sgd.initialScale) = (beta1, beta2, epsilon, initialScale)
        return sgd
    }

    /// ekf and dekf: Q is Cov[gamma] (`--jitter`), R is Var[eps].
    public var ekf: EKFSettings {
        var ekf = EKFSettings()
        (ekf.processNoise, ekf.observationNoise) = (jitter, observationNoise)
        (ekf.initialVariance, ekf.initialScale) = (initialVariance, initialScale)
        return ekf
    }

    /// pf, dpf and cpf.
    public var pf: PFSettings {
        var pf = PFSettings()
        (pf.particles, pf.precision, pf.jitterVariance, pf.observationNoise) = (
            particles, precision, jitter, observationNoise
        )
        (pf.initialSpread, pf.resampling, pf.liuWestShrinkage) = (initialSpread, resampling, liuWest)
        return pf
    }

    /// elm and delm.
    public var elm: ELMSettings {
        var elm = ELMSettings()
        (elm.forgetting, elm.ridge, elm.scale, elm.directLink) = (forgetting, ridge, elmScale, directLink)
        return elm
    }

    /// avg, gm and fgm (and delm's `every`).
    public var sync: SyncSettings {
        var sync = SyncSettings()
        (sync.every, sync.threshold, sync.resolution) = (syncEvery, threshold, resolution)
        (sync.fgmEpsilon, sync.coordinator) = (fgmEpsilon, coordinator)
        return sync
    }

    /// Every trainer's settings for data of `inputSize` columns, each trainer reading its own.
    public func distributedSettings(inputSize: Int) -> DistributedSettings {
        var settings = DistributedSettings(model: LSTMModel(shape: modelShape(inputSize: inputSize), pooling: pooling))
        (settings.sgd, settings.ekf, settings.pf, settings.elm, settings.sync) = (sgd, ekf, pf, elm, sync)
        (settings.walkSteps, settings.walk, settings.exchangePrecision, settings.reduce) = (
            walkSteps, walk, exchangePrecision, reduce
        )
        settings.seed = seed
        return settings
    }

    /// As `--config` reads it: one `option = value` line per set option (TOML, keys sorted).
    public func toml() throws -> String {
        try optionValues(of: self).sorted { $0.name < $1.name }.map { "\($0.name) = \($0.value.toml)\n" }.joined()
    }

    /// The configuration as a JSON object (unset options left out), for summary.json.
    public func jsonObject() throws -> [String: Any] {
        Dictionary(uniqueKeysWithValues: try optionValues(of: self).map { ($0.name, $0.value.json) })
    }
}

private let (sgdDefaults, ekfDefaults, pfDefaults, elmDefaults) = (
    SGDSettings(), EKFSettings(), PFSettings(), ELMSettings()
)
private let syncDefaults = SyncSettings()

/// How samples are dealt to nodes.
public enum Partition: String, CaseIterable, Codable, Sendable {
    /// Sample i to node i mod K.
    case roundRobin = "round-robin"
    /// Contiguous blocks, node k the k-th.
    case blocks
}

/// How a CSV series is scaled, from the statistics of its first `normalize-prefix` rows.
public enum Normalization: String, CaseIterable, Codable, Sendable {
    case none, minmax, zscore
}

/// A TOML basic string.
func quotedTOML(_ text: String) -> String {
    var quoted = "\""
    for scalar in text.unicodeScalars {
        switch scalar {
        case "\\": quoted += "\\\\"
        case "\"": quoted += "\\\""
        case "\n": quoted += "\\n"
        case "\t": quoted += "\\t"
        case "\r": quoted += "\\r"
        default:
            quoted +=
                scalar.properties.generalCategory == .control
                ? String(format: "\\u%04X", scalar.value) : String(scalar)
        }
    }
    return quoted + "\""
}
