import LSTM
import Numerics
import Trainers

/// Everything a distributed trainer needs besides the network: the model, the seed, and each
/// algorithm's own settings, with the paper's defaults. A trainer reads its own groups only: the
/// gradient trainers `sgd`, the EKF family `ekf`, the particle filters `pf` (the DPF also the walk,
/// the centralized PF `reduce`), the ELMs `elm`, the synchronisation protocols `sgd` and `sync`.
public struct DistributedSettings: Sendable {
    public var model: LSTMModel
    public var sgd = SGDSettings()
    public var ekf = EKFSettings()
    public var pf = PFSettings()
    public var elm = ELMSettings()
    /// DPF: s, the random-walk moves per step (paper: 3).
    public var walkSteps = 3
    public var walk = WalkKind.simple
    /// DEKF: the format of the exchanged states and covariances.
    public var exchangePrecision = Precision.double
    /// CPF: how the nodes sum the log-likelihoods (both ways give the same bits).
    public var reduce = CentralizedReduce.allgather
    public var seed: UInt64 = 1
    /// The synchronisation protocols' settings (avg, gm, fgm).
    public var sync = SyncSettings()

    public init(model: LSTMModel) { self.model = model }
}

/// One step of the online protocol at every local node, in lockstep with every other process.
public protocol DistributedTrainer: AnyObject {
    var algorithm: Algorithm { get }
    /// d_hat for each local node's sample, before its label is seen.
    func predict(_ samples: [Sample]) throws -> [Double]
    /// Learns from the labels of the same samples, talking to neighbours as the algorithm says.
    func update(_ samples: [Sample]) throws
    /// Each local node's current estimate of theta.
    var estimates: [[Double]] { get }
    /// Per local node, algorithm-specific counters for the report (name -> value).
    var diagnostics: [[String: Double]] { get }
    /// A per-step table for the report, held by the reporting process (nil elsewhere, or none).
    var trace: TrainerTrace? { get }
    /// Per local node, a particle filter's last step as the SMC trace records it; nil for the others.
    var stepTraces: [FilterStepTrace]? { get }
    /// Per local node, a particle filter's cloud as the model files keep it; nil for the others.
    var particleClouds: [ParticleCloudSnapshot]? { get }
    /// Everything a local node needs to continue bit for bit after a restart (the random streams
    /// are keyed by step, so the step count is their whole state). One record per local node.
    func checkpointState() throws -> [CheckpointRecord]
    func restoreState(_ states: [CheckpointRecord]) throws
}

/// A node's particles, N parameter vectors back to back in theta's layout, and their log-weights.
public struct ParticleCloudSnapshot: Sendable, Equatable {
    public var particles: [Double]
    public var logWeights: [Double]

    public init(particles: [Double], logWeights: [Double]) {
        (self.particles, self.logWeights) = (particles, logWeights)
    }

    /// The cloud of a kernel's particle block with these log-weights.
    init(_ block: ParticleParameters, logWeights: [Double]) {
        self.init(particles: (0..<block.count).flatMap { block.particle($0) }, logWeights: logWeights)
    }
}

extension DistributedTrainer {
    public var diagnostics: [[String: Double]] { [] }

    public var particleClouds: [ParticleCloudSnapshot]? { nil }

    public var trace: TrainerTrace? { nil }

    public var stepTraces: [FilterStepTrace]? { nil }

    public func checkpointState() throws -> [CheckpointRecord] {
        throw TrainerError.unsupported("checkpoints of \(algorithm.rawValue) (supported: all but cpf)")
    }

    public func restoreState(_ states: [CheckpointRecord]) throws {
        throw TrainerError.unsupported("checkpoints of \(algorithm.rawValue) (supported: all but cpf)")
    }
}

/// Builds the trainer for `algorithm` over `network`.
public func makeTrainer(_ algorithm: Algorithm, settings: DistributedSettings, network: Network) throws
    -> DistributedTrainer
{
    switch algorithm {
    case .sgd, .ekf, .pf, .elm: return LocalTrainers(algorithm, settings: settings, network: network)
    case .dsgd: return DiffusionSGD(settings: settings, network: network)
    case .dekf: return DiffusionEKF(settings: settings, network: network)
    case .dpf: return DistributedParticleFilter(settings: settings, network: network)
    case .cpf: return CentralizedParticleFilter(settings: settings, network: network)
    case .delm: return DistributedELM(settings: settings, network: network)
    case .avg, .gm, .fgm: return try SynchronizedLearners(algorithm, settings: settings, network: network)
    }
}

/// Named columns of numbers, one row per traced step (e.g. the synchronisation protocols' divergence).
public struct TrainerTrace: Sendable, Equatable {
    public var columns: [String]
    public var rows: [[Double]]

    public init(columns: [String], rows: [[Double]] = []) { (self.columns, self.rows) = (columns, rows) }
}
