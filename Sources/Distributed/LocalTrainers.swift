import LSTM
import Trainers

/// The local trainers of the model layer, one per node, with no communication.
public final class LocalTrainers: DistributedTrainer {
    public let algorithm: Algorithm
    private var trainers: [any OnlineTrainer]

    public init(_ algorithm: Algorithm, settings: DistributedSettings, network: Network) {
        self.algorithm = algorithm
        trainers = network.localNodes.map { node -> any OnlineTrainer in
            switch algorithm {
            case .sgd:
                return SGDTrainer(model: settings.model, settings: settings.sgd, seed: settings.seed, node: node)
            case .ekf:
                return EKFTrainer(
                    system: LSTMStateSpace(model: settings.model, carryState: settings.ekf.carryState),
                    settings: settings.ekf, seed: settings.seed, node: node)
            case .elm:
                let elm = settings.elm
                let features = ELMFeatures(
                    model: settings.model, seed: settings.seed, scale: elm.scale, directLink: elm.directLink)
                return ELMTrainer(features: features, forgetting: elm.forgetting, ridge: elm.ridge)
            default:
                return PFTrainer(model: settings.model, settings: settings.pf, seed: settings.seed, node: node)
            }
        }
    }

    public func predict(_ samples: [Sample]) throws -> [Double] {
        try samples.indices.map { try trainers[$0].predict(samples[$0]) }
    }

    public func update(_ samples: [Sample]) throws {
        for a in samples.indices { try trainers[a].update(samples[a]) }
    }

    public var estimates: [[Double]] { trainers.map(\.parameters) }

    public var stepTraces: [FilterStepTrace]? {
        algorithm == .pf ? trainers.map { ($0 as! PFTrainer).filter.lastStep } : nil
    }

    public var particleClouds: [ParticleCloudSnapshot]? {
        guard algorithm == .pf else { return nil }
        return trainers.map { trainer in
            let filter = (trainer as! PFTrainer).filter
            return ParticleCloudSnapshot(filter.cloud.particles, logWeights: filter.logWeights)
        }
    }

    public func checkpointState() throws -> [CheckpointRecord] { try trainers.map { try $0.checkpointState() } }

    public func restoreState(_ states: [CheckpointRecord]) throws {
        guard states.count == trainers.count else {
            throw TrainerError.malformedCheckpoint("\(algorithm.rawValue): \(states.count) node states")
        }
        for a in trainers.indices { try trainers[a].restoreState(states[a]) }
    }
}
