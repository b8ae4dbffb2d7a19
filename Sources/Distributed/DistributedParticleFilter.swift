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
///    sent by one neighbour exchange (`route`); each node merges what stays and what arrived in id
///    order (the canonical order, whatever the order of the messages: `receive`) and adds
///    exponent_j * log p(d_j | theta) for its own (X_j, d_j), exponent_j = 1 / (s pi_j);
/// 3. normalises, estimates theta by the weighted mean, and resamples back to N particles with
///    ids k N + i (`finishStep`).
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
    /// Per local node: its N particles after resampling (jittered and evaluated by `predict`), the
    /// particles it holds during the walk, and the room the next move's particles are merged into.
    private var nodeStores: [NodeStores]
    /// Per local node and neighbour, the message of the current move (kept: its room is reused).
    private var outgoing: [[[Double]]]
    /// Per local node, the indices of the particles that stay in the current move.
    private var staying: [[Int]]
    /// Per local node and neighbour, the message received in the current move (kept, like `outgoing`).
    private var incoming: [[[Double]]] = []
    /// Per local node and neighbour, the indices of the particles sent to it in the current move.
    private var leaving: [[[Int]]]
    /// Per local node, where the k-th particle of the merged cloud comes from: (-1, a staying
    /// particle's index) or (neighbour, the offset of its record in that neighbour's message).
    private var mergeOrder: [[(from: Int, at: Int)]]
    /// Per local node, each message's read position during the merge.
    private var mergeCursors: [[Int]]
    /// Per local node, the resampled ancestors (kept: its room is reused).
    private var ancestors: [[Int]]
    private var step = 0
    public private(set) var estimates: [[Double]]
    private var emptySteps: [Int]
    private var particlesHeld: [Int]
    private var degenerateSteps: [Int]
    /// Per local node, Var[eps] of its own likelihood: fixed, or estimated from its own errors.
    private var noise: [NoiseEstimator]
    private var predictions: [Double]
    /// Per local node, the last step as the SMC trace records it.
    public private(set) var lastSteps: [FilterStepTrace]
    public var stepTraces: [FilterStepTrace]? { lastSteps }

    private struct NodeStores {
        var home: ParticleStore
        var held: ParticleStore
        var next: ParticleStore

        mutating func advance() { swap(&held, &next) }

        /// Normalises the cloud the step ends with (held, or home when the walk left none); false
        /// when no weight was finite.
        mutating func normalize(home fallback: Bool) -> Bool {
            fallback ? home.normalizeWeights() : held.normalizeWeights()
        }

        /// Copies of the ending cloud's particles at `ancestors` become the new home.
        mutating func resample(_ ancestors: [Int], home fallback: Bool, firstID: Int) {
            next.select(ancestors, from: fallback ? home : held, firstID: firstID)
            swap(&home, &next)
        }
    }

    /// Each node's particles after the last resampling: equally weighted.
    public var particleClouds: [ParticleCloudSnapshot]? {
        nodeStores.map {
            ParticleCloudSnapshot($0.home.parameters, logWeights: [Double](repeating: 0, count: $0.home.count))
        }
    }

    public init(settings: DistributedSettings, network: Network) {
        precondition(settings.walkSteps >= 1, "the DPF needs at least one walk move")
        self.network = network
        self.settings = settings
        walk = RandomWalk(topology: network.topology, kind: settings.walk)
        kernel = ParticleKernel(
            shape: settings.model.shape, pooling: settings.model.pooling, precision: settings.trainer.precision)
        let count = settings.trainer.particles, shape = settings.model.shape
        nodeStores = network.localNodes.map { node in
            let home = ParticleStore(
                shape: shape, count: count, firstID: node * count, initialSpread: settings.trainer.initialSpread,
                centre: settings.trainer.initialCentre, seed: settings.seed, node: node)
            return NodeStores(home: home, held: ParticleStore(emptyLike: home), next: ParticleStore(emptyLike: home))
        }
        outgoing = network.localNodes.map { network.topology.neighbors[$0].map { _ in [] } }
        staying = network.localNodes.map { _ in [] }
        leaving = outgoing.map { $0.map { _ in [] } }
        mergeOrder = network.localNodes.map { _ in [] }
        mergeCursors = outgoing.map { $0.map { _ in 0 } }
        ancestors = network.localNodes.map { _ in [] }
        estimates = nodeStores.map { stores in
            var sum = [Double](repeating: 0, count: shape.parameterCount)
            for i in 0..<count {
                for (j, value) in stores.home.particle(i).enumerated() { sum[j] += value / Double(count) }
            }
            return sum
        }
        emptySteps = network.localNodes.map { _ in 0 }
        particlesHeld = emptySteps
        degenerateSteps = emptySteps
        noise = network.localNodes.map { _ in NoiseEstimator(settings.trainer.observationNoise) }
        predictions = network.localNodes.map { _ in 0 }
        lastSteps = network.localNodes.map { _ in .none }
    }

    public var diagnostics: [[String: Double]] {
        network.localNodes.indices.map {
            [
                "empty_steps": Double(emptySteps[$0]), "particles_held": Double(particlesHeld[$0]),
                "degenerate_steps": Double(degenerateSteps[$0]),
            ]
        }
    }

    public func checkpointState() throws -> [CheckpointRecord] {
        network.localNodes.indices.map { a in
            let home = nodeStores[a].home
            var record = CheckpointRecord()
            record.append("step", step)
            record.append("ids", home.ids)
            record.append("particles", (0..<home.count).flatMap { home.particle($0) })
            record.append("estimate", estimates[a])
            record.append("empty_steps", emptySteps[a])
            record.append("particles_held", particlesHeld[a])
            record.append("degenerate_steps", degenerateSteps[a])
            noise[a].save(into: &record)
            return record
        }
    }

    public func restoreState(_ states: [CheckpointRecord]) throws {
        let nTheta = settings.model.shape.parameterCount
        guard states.count == network.localNodes.count else {
            throw TrainerError.malformedCheckpoint("dpf: \(states.count) node states")
        }
        for (a, state) in states.enumerated() {
            let nodeIDs = try state.ints("ids")
            let flat = try state.doubles("particles", count: nodeIDs.count * nTheta)
            estimates[a] = try state.doubles("estimate", count: nTheta)
            (emptySteps[a], particlesHeld[a], degenerateSteps[a]) =
                (try state.int("empty_steps"), try state.int("particles_held"), try state.int("degenerate_steps"))
            step = try state.int("step")
            try noise[a].restore(from: state)
            nodeStores[a].home.restore(
                ids: nodeIDs, particles: flat, logWeights: [Double](repeating: 0, count: nodeIDs.count))
        }
    }

    public func predict(_ samples: [Sample]) throws -> [Double] {
        step += 1
        for (a, node) in network.localNodes.enumerated() {
            nodeStores[a].home.jitter(
                variance: settings.trainer.jitterVariance, seed: settings.seed, node: node, step: step)
            nodeStores[a].home.evaluate(samples[a], with: kernel)
            let prediction = nodeStores[a].home.meanPrediction
            guard prediction.isFinite else {
                throw TrainerError.nonFinite(trainer: "dpf", step: step, what: "the prediction")
            }
            predictions[a] = prediction
        }
        // The kept array itself: a caller that lets go of it before the next step costs no copy.
        return predictions
    }

    public func update(_ samples: [Sample]) throws {
        for a in nodeStores.indices {
            let error = samples[a].label - predictions[a]
            noise[a].observe(squaredError: error * error)
        }
        for move in 0..<settings.walkSteps {
            for a in nodeStores.indices { route(a, move: move) }
            try network.exchange(&outgoing, into: &incoming)
            for a in nodeStores.indices {
                try receive(incoming[a], a, move: move)
                weigh(a, on: samples[a])
            }
        }
        for a in nodeStores.indices { try finishStep(a, on: samples[a]) }
    }

    /// The walk's move for node a's particles (its N at the first move, what it holds after):
    /// each draws its next node; those that stay are listed, the others packed for their neighbour.
    private func route(_ a: Int, move: Int) {
        let node = network.localNodes[a], choices = walk.transitions[node]
        let neighbours = network.topology.neighbors[node]
        // The lists are taken out of the class's arrays while they are filled: an element of a
        // property would be checked for exclusive access at every append.
        var stays: [Int] = [], leaves: [[Int]] = []
        swap(&stays, &staying[a])
        swap(&leaves, &leaving[a])
        defer {
            swap(&stays, &staying[a])
            swap(&leaves, &leaving[a])
        }
        for b in leaves.indices { leaves[b].removeAll(keepingCapacity: true) }
        stays.removeAll(keepingCapacity: true)
        let source = move == 0 ? nodeStores[a].home : nodeStores[a].held
        let walkStep = (step - 1) * settings.walkSteps + move, width = ParticleParameters.laneWidth
        for first in stride(from: 0, to: source.count, by: width) {
            let lanes = min(width, source.count - first)
            var indices = SIMD8<UInt32>(repeating: 0)
            for k in 0..<lanes { indices[k] = UInt32(source.ids[first + k]) }
            // Particle i's draw is the first uniform of its stream (seed, node, walk step, walk, id).
            let uniforms = RandomStream.firstUniforms(
                seed: settings.seed, node: node, step: walkStep, purpose: .walk, indices: indices)
            for k in 0..<lanes {
                let u = uniforms[k]
                var next = choices[choices.count - 1].node, cumulative = 0.0
                for choice in choices {
                    cumulative += choice.probability
                    if u < cumulative {
                        next = choice.node
                        break
                    }
                }
                if next == node {
                    stays.append(first + k)
                } else {
                    leaves[neighbours.firstIndex(of: next)!].append(first + k)
                }
            }
        }
        for b in outgoing[a].indices {
            leaves[b].withUnsafeBufferPointer { source.pack($0, into: &outgoing[a][b]) }
        }
    }

    /// Merges node a's staying particles and the neighbours' messages into one store in id order.
    /// Each part is already in id order (a sender packs in its own id order), so this is a merge: its
    /// order first, then the store filled a group at a time (`ParticleStore.assemble`).
    private func receive(_ messages: [[Double]], _ a: Int, move: Int) throws {
        let record = nodeStores[a].home.packedSize
        let source = move == 0 ? nodeStores[a].home : nodeStores[a].held
        try merge(messages, a, source: source, record: record)
        let order = mergeOrder[a]
        let width = ParticleParameters.laneWidth
        source.parameters.values.withUnsafeBufferPointer { staying in
            withBaseAddresses(of: messages) { messages in
                nodeStores[a].next.assemble(count: order.count) { k in
                    let (from, at) = order[k]
                    if from < 0 {
                        return ParticleSource(
                            id: source.ids[at], logWeight: source.logWeights[at],
                            theta: staying.baseAddress! + source.parameters.index(parameter: 0, particle: at),
                            stride: width)
                    }
                    let message = messages[from]
                    return ParticleSource(
                        id: Int(message[at]), logWeight: message[at + 1], theta: message + at + 2, stride: 1)
                }
            }
        }
        nodeStores[a].advance()
    }

    /// The merge order of node a's staying particles and the messages, by id (`mergeOrder[a]`).
    private func merge(_ messages: [[Double]], _ a: Int, source: ParticleStore, record: Int) throws {
        let node = network.localNodes[a]
        for (b, message) in messages.enumerated() where message.count % record != 0 {
            throw TrainerError.malformedMessage(
                from: network.topology.neighbors[node][b],
                what: "\(message.count) numbers, not a whole number of particles")
        }
        // Taken out of the class's arrays while in use (as in `route`).
        var order: [(from: Int, at: Int)] = [], cursors: [Int] = []
        swap(&order, &mergeOrder[a])
        swap(&cursors, &mergeCursors[a])
        defer {
            swap(&order, &mergeOrder[a])
            swap(&cursors, &mergeCursors[a])
        }
        let stays = staying[a]
        order.removeAll(keepingCapacity: true)
        for b in messages.indices { cursors[b] = 0 }
        var stay = 0
        while true {
            // The smallest id among the next staying particle and each message's next particle.
            var best = stay < stays.count ? source.ids[stays[stay]] : Int.max, from = -1
            for b in messages.indices where cursors[b] < messages[b].count {
                guard let id = Int(exactly: messages[b][cursors[b]]), id >= 0 else {
                    throw TrainerError.malformedMessage(
                        from: network.topology.neighbors[node][b], what: "particle id \(messages[b][cursors[b]])")
                }
                if id < best { (best, from) = (id, b) }
            }
            if from >= 0 {
                order.append((from, cursors[from]))
                cursors[from] += record
            } else if stay < stays.count {
                order.append((-1, stays[stay]))
                stay += 1
            } else {
                break
            }
        }
    }

    /// Adds exponent_k * log p(d_k | theta) for node k's own sequence to every particle it holds.
    private func weigh(_ a: Int, on sample: Sample) {
        let node = network.localNodes[a]
        nodeStores[a].held.evaluate(sample, with: kernel)
        nodeStores[a].held.weigh(
            label: sample.label, variance: noise[a].variance,
            exponent: walk.exponent(node: node, steps: settings.walkSteps))
        particlesHeld[a] += nodeStores[a].held.count
    }

    /// Normalises, estimates and resamples back to N particles. A node the walk left empty falls
    /// back on its own jittered particles, weighted by its own likelihood only (a local PF step).
    private func finishStep(_ a: Int, on sample: Sample) throws {
        let node = network.localNodes[a], count = settings.trainer.particles
        let empty = nodeStores[a].held.count == 0
        if empty {
            emptySteps[a] += 1
            nodeStores[a].home.weigh(label: sample.label, variance: noise[a].variance)
        }
        if !nodeStores[a].normalize(home: empty) { degenerateSteps[a] += 1 }
        let weights = empty ? nodeStores[a].home.normalizedWeights : nodeStores[a].held.normalizedWeights
        (empty ? nodeStores[a].home : nodeStores[a].held).weightedMean(weights, into: &estimates[a])
        // Every particle starts the step at log-weight 0 (resampled), so the mean of exp(log-weight)
        // is the step's likelihood increment.
        lastSteps[a] = FilterStepTrace(
            effectiveSampleSize: effectiveSampleSize(weights), resampled: true,
            logLikelihoodIncrement: empty ? nodeStores[a].home.logMeanWeight : nodeStores[a].held.logMeanWeight,
            particles: weights.count, observationNoise: noise[a].variance)
        guard estimates[a].allSatisfy(\.isFinite) else {
            throw TrainerError.nonFinite(trainer: "dpf", step: step, what: "the posterior mean")
        }
        var random = RandomStream(seed: settings.seed, node: node, step: step, purpose: .resampling)
        settings.trainer.resampling.ancestors(weights: weights, count: count, random: &random, into: &ancestors[a])
        nodeStores[a].resample(ancestors[a], home: empty, firstID: node * count)
    }
}

/// Runs `body` with the base address of each of `arrays` (an empty array's is a valid pointer never
/// read): the DPF's merge reads several neighbours' messages at once. The addresses live on the stack
/// and each array is borrowed by a nested `withUnsafeBufferPointer`, so none outlives its borrow.
private func withBaseAddresses<R>(of arrays: [[Double]], _ body: (UnsafePointer<UnsafePointer<Double>>) -> R) -> R {
    withUnsafeTemporaryAllocation(of: UnsafePointer<Double>.self, capacity: max(1, arrays.count)) { bases in
        var empty = 0.0
        return withUnsafePointer(to: &empty) { empty in
            func borrow(_ b: Int) -> R {
                if b == arrays.count { return body(UnsafePointer(bases.baseAddress!)) }
                return arrays[b].withUnsafeBufferPointer {
                    bases[b] = $0.baseAddress ?? empty
                    return borrow(b + 1)
                }
            }
            return borrow(0)
        }
    }
}
