import LSTM
import Numerics
import Trainers

/// The Markov-chain distributed particle filter (Lee & West; paper Algorithm 1).
///
/// Each node holds N particles (theta, a global id). At step t, node k:
/// 1. jitters its particles (theta += gamma, keyed by (seed, k, t, id)) and predicts
///    d_hat = mean of h(theta_i; X_k,t) (weights are equal after resampling): `predict`;
/// 2. then, for each of s moves, every particle draws its next node from the walk (keyed by
///    (seed, node, move, id)), particles are packed per neighbour as [id, log-weight, theta...] and
///    sent by one neighbour exchange (`DPFNode.route`); each node merges what stays and what arrived
///    in id order (the canonical order, whatever the order of the messages: `DPFNode.receive`) and
///    adds exponent_j * log p(d_j | theta) for its own (X_j, d_j), exponent_j = 1 / (s pi_j)
///    (`DPFNode.weigh`);
/// 3. normalises, estimates theta by the weighted mean, and resamples back to N particles with
///    ids k N + i (`DPFNode.finish`, through the particle filters' one `SMCStepEnd`).
///
/// A node that ends the walk holding no particle falls back on a local PF step: it keeps the N
/// particles it jittered in step 1, weighted by its own likelihood only (counted as `empty_steps`).
/// The walk's particle count is conserved: every particle is either kept or sent to exactly one
/// neighbour, and every sent particle is received (`particles_held` lets a test check the total).
public final class DistributedParticleFilter: DistributedTrainer {
    public let algorithm = Algorithm.dpf
    private let network: Network
    private let settings: DistributedSettings
    public let walk: RandomWalk
    /// The batched evaluator of every node's particles (public for the benchmark's timing).
    public let kernel: ParticleKernel
    /// What a benchmark or a test watches or sets inside the steps, when given.
    public var probe: DPFProbe?
    /// Each local node's state.
    private var nodes: [DPFNode]
    /// Per local node and neighbour, the message of the current move, sent and received (kept: their
    /// room is reused).
    private var outgoing: [[[Double]]]
    private var incoming: [[[Double]]] = []
    /// Per local node, the last prediction (kept: a caller that lets go of it before the next step
    /// costs no copy).
    private var predictions: [Double]
    private var step = 0

    public var estimates: [[Double]] { nodes.map(\.estimate) }
    public var stepTraces: [FilterStepTrace]? { nodes.map(\.end.trace) }

    /// Each node's particles after the last resampling: equally weighted.
    public var particleClouds: [ParticleCloudSnapshot]? {
        nodes.map {
            ParticleCloudSnapshot($0.pool.parameters, logWeights: [Double](repeating: 0, count: $0.pool.count))
        }
    }

    public init(settings: DistributedSettings, network: Network) {
        precondition(settings.walkSteps >= 1, "the DPF needs at least one walk move")
        self.network = network
        self.settings = settings
        let walk = RandomWalk(topology: network.topology, kind: settings.walk)
        let kernel = ParticleKernel(
            shape: settings.model.shape, pooling: settings.model.pooling, precision: settings.pf.precision)
        (self.walk, self.kernel) = (walk, kernel)
        nodes = network.localNodes.map {
            DPFNode(
                node: $0, settings: settings, walk: walk, neighbors: network.topology.neighbors[$0], kernel: kernel)
        }
        outgoing = nodes.map { $0.neighbors.map { _ in [] } }
        predictions = nodes.map { _ in 0 }
    }

    public var diagnostics: [[String: Double]] {
        nodes.map {
            [
                "empty_steps": Double($0.emptySteps), "particles_held": Double($0.particlesHeld),
                "degenerate_steps": Double($0.end.degenerateSteps),
            ]
        }
    }

    public func checkpointState() throws -> [CheckpointRecord] {
        nodes.map { node in
            // Between steps the pool holds the N resampled particles and nothing else.
            let home = node.pool
            var record = CheckpointRecord()
            record.append("step", step)
            record.append("ids", home.ids)
            record.append("particles", (0..<home.count).flatMap { home.particle($0) })
            record.append("estimate", node.estimate)
            record.append("empty_steps", node.emptySteps)
            record.append("particles_held", node.particlesHeld)
            record.append("degenerate_steps", node.end.degenerateSteps)
            node.noise.save(into: &record)
            return record
        }
    }

    public func restoreState(_ states: [CheckpointRecord]) throws {
        let nTheta = settings.model.shape.parameterCount
        guard states.count == nodes.count else {
            throw TrainerError.malformedCheckpoint("dpf: \(states.count) node states")
        }
        for (a, state) in states.enumerated() {
            let nodeIDs = try state.ints("ids")
            let flat = try state.doubles("particles", count: nodeIDs.count * nTheta)
            nodes[a].estimate = try state.doubles("estimate", count: nTheta)
            (nodes[a].emptySteps, nodes[a].particlesHeld, nodes[a].end.degenerateSteps) =
                (try state.int("empty_steps"), try state.int("particles_held"), try state.int("degenerate_steps"))
            step = try state.int("step")
            try nodes[a].noise.restore(from: state)
            nodes[a].pool.restore(
                ids: nodeIDs, particles: flat, logWeights: [Double](repeating: 0, count: nodeIDs.count))
        }
    }

    public func predict(_ samples: [Sample]) throws -> [Double] {
        step += 1
        for a in nodes.indices { predictions[a] = try nodes[a].predict(samples[a], step: step, probe: probe) }
        return predictions
    }

    public func update(_ samples: [Sample]) throws {
        for a in nodes.indices { nodes[a].startWalk(label: samples[a].label) }
        for move in 0..<settings.walkSteps {
            let walkStep = (step - 1) * settings.walkSteps + move
            for a in nodes.indices { nodes[a].route(walkStep: walkStep, into: &outgoing[a]) }
            try network.exchange(&outgoing, into: &incoming)
            for a in nodes.indices {
                try nodes[a].receive(incoming[a], on: samples[a], probe: probe)
                nodes[a].weigh(label: samples[a].label)
            }
        }
        for a in nodes.indices { try nodes[a].finish(label: samples[a].label, step: step) }
    }
}
