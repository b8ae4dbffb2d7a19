import Dispatch
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
    /// When set, `jitterSeconds` accumulates the wall time of the jitter, the Gaussians added to every
    /// parameter of every particle at every step: with the kernel, the part of a step the paper's
    /// filter cannot do without (the benchmark prints both).
    public var timesJitter = false
    public private(set) var jitterSeconds = 0.0
    /// Per local node: its particles (the N resampled ones, and what the walk brings), which of them it
    /// holds, and the room the next resampling is selected into.
    private var nodeStores: [NodeStores]
    /// Per local node and neighbour, the message of the current move (kept: its room is reused).
    private var outgoing: [[[Double]]]
    /// Per local node, the slots of the particles that stay in the current move.
    private var staying: [[Int]]
    /// Per local node and neighbour, the message received in the current move (kept, like `outgoing`).
    private var incoming: [[[Double]]] = []
    /// Per local node and neighbour, the slots of the particles sent to it in the current move.
    private var leaving: [[[Int]]]
    /// Per local node, where the k-th particle of the merged cloud comes from: (-1, a staying
    /// particle's slot) or (neighbour, the offset of its record in that neighbour's message).
    private var mergeOrder: [[(from: Int, at: Int)]]
    /// Per local node, the merge order's arrivals alone, in order.
    private var arrivals: [[(from: Int, at: Int)]]
    /// Per local node, where each of its walk's choices sends a particle: the neighbour's index in its
    /// messages, or -1 to stay.
    private let walkTargets: [[Int]]
    /// Per local node, the room `ParticleStore.pack` keeps its slots' records in.
    private var packDestinations: [[Int]]
    /// Per local node, each message's read position during the merge.
    private var mergeCursors: [[Int]]
    /// Per local node, the resampled ancestors (kept: its room is reused).
    private var ancestors: [[Int]]
    /// Per local node, the held particles' log-weights in id order, and their normalised weights.
    private var cloudLogWeights: [[Double]]
    private var cloudWeights: [[Double]]
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
    /// For tests: evaluate every held particle at every move, stayers too (the same numbers, slower).
    var reevaluatesStayers = false
    /// The slots a node's pool may use before the particles that stay are moved down (`compact`);
    /// nil is 3 N. For tests, with the largest pool any node has held.
    var poolLimit: Int?
    private(set) var largestPool = 0
    /// Per local node, the slots `compact` moves (kept: its room is reused).
    private var compacted: [[Int]]

    /// A node's particles live in one store, `pool`, and do not move while the node holds them: at a
    /// step's start the N resampled particles are slots 0..<N; each move appends what arrives after
    /// them, in lane groups of its own, and only those groups are evaluated (a particle that stays was
    /// evaluated on this node's sequence when it came, or by `predict`, and its theta has not changed
    /// since). `held` lists the slots the node holds, in id order: the order every sum, the
    /// resampling and the messages follow, as if the held particles were stored in that order.
    /// A move's arrivals are written after the last slot still in use (the N resampled particles are
    /// kept for the fallback of a node the walk leaves empty). With the paper's walk no particle stays,
    /// so the pool holds the N and one move's arrivals; with a walk that may stay, it also keeps the
    /// stayers' slots from earlier moves of the step. `spare` is the room resampling selects into.
    private struct NodeStores {
        var pool: ParticleStore
        var spare: ParticleStore
        var held: [Int] = []
        var nextHeld: [Int] = []

        /// Copies of the held particles at `slots` become slots 0..<N, in order.
        mutating func resample(_ slots: [Int], firstID: Int) {
            spare.select(slots, from: pool, firstID: firstID)
            swap(&pool, &spare)
        }
    }

    /// Each node's particles after the last resampling: equally weighted.
    public var particleClouds: [ParticleCloudSnapshot]? {
        nodeStores.map {
            ParticleCloudSnapshot($0.pool.parameters, logWeights: [Double](repeating: 0, count: $0.pool.count))
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
            return NodeStores(pool: home, spare: ParticleStore(emptyLike: home))
        }
        outgoing = network.localNodes.map { network.topology.neighbors[$0].map { _ in [] } }
        walkTargets = network.localNodes.map { [walk] node in
            walk.transitions[node].map {
                node == $0.node ? -1 : network.topology.neighbors[node].firstIndex(of: $0.node)!
            }
        }
        staying = network.localNodes.map { _ in [] }
        leaving = outgoing.map { $0.map { _ in [] } }
        mergeOrder = network.localNodes.map { _ in [] }
        mergeCursors = outgoing.map { $0.map { _ in 0 } }
        arrivals = mergeOrder
        compacted = network.localNodes.map { _ in [] }
        packDestinations = mergeCursors.map { _ in [] }
        ancestors = network.localNodes.map { _ in [] }
        cloudLogWeights = network.localNodes.map { _ in [] }
        cloudWeights = cloudLogWeights
        estimates = nodeStores.map { stores in
            var sum = [Double](repeating: 0, count: shape.parameterCount)
            for i in 0..<count {
                for (j, value) in stores.pool.particle(i).enumerated() { sum[j] += value / Double(count) }
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
            // Between steps the pool holds the N resampled particles and nothing else.
            let home = nodeStores[a].pool
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
            nodeStores[a].pool.restore(
                ids: nodeIDs, particles: flat, logWeights: [Double](repeating: 0, count: nodeIDs.count))
        }
    }

    public func predict(_ samples: [Sample]) throws -> [Double] {
        step += 1
        for (a, node) in network.localNodes.enumerated() {
            let start = timesJitter ? DispatchTime.now().uptimeNanoseconds : 0
            nodeStores[a].pool.jitter(
                variance: settings.trainer.jitterVariance, seed: settings.seed, node: node, step: step)
            if timesJitter { jitterSeconds += Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 }
            nodeStores[a].pool.evaluate(samples[a], with: kernel)
            let prediction = nodeStores[a].pool.meanPrediction
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
        for a in nodeStores.indices {
            let count = nodeStores[a].pool.count
            nodeStores[a].held.removeAll(keepingCapacity: true)
            nodeStores[a].held.append(contentsOf: 0..<count)
        }
        for move in 0..<settings.walkSteps {
            for a in nodeStores.indices { route(a, move: move) }
            try network.exchange(&outgoing, into: &incoming)
            for a in nodeStores.indices {
                try receive(incoming[a], a, on: samples[a])
                weigh(a, on: samples[a])
            }
        }
        for a in nodeStores.indices { try finishStep(a, on: samples[a]) }
    }

    /// The walk's move for node a's particles (its N at the first move, what it holds after):
    /// each draws its next node; those that stay are listed, the others packed for their neighbour.
    private func route(_ a: Int, move: Int) {
        let node = network.localNodes[a], choices = walk.transitions[node], targets = walkTargets[a]
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
        let pool = nodeStores[a].pool, held = nodeStores[a].held
        let walkStep = (step - 1) * settings.walkSteps + move, width = ParticleParameters.laneWidth
        for first in stride(from: 0, to: held.count, by: width) {
            let lanes = min(width, held.count - first)
            var indices = SIMD8<UInt32>(repeating: 0)
            for k in 0..<lanes { indices[k] = UInt32(pool.ids[held[first + k]]) }
            // Particle i's draw is the first uniform of its stream (seed, node, walk step, walk, id).
            let uniforms = RandomStream.firstUniforms(
                seed: settings.seed, node: node, step: walkStep, purpose: .walk, indices: indices)
            for k in 0..<lanes {
                let u = uniforms[k]
                var next = choices.count - 1, cumulative = 0.0
                for (c, choice) in choices.enumerated() {
                    cumulative += choice.probability
                    if u < cumulative {
                        next = c
                        break
                    }
                }
                if targets[next] < 0 {
                    stays.append(held[first + k])
                } else {
                    leaves[targets[next]].append(held[first + k])
                }
            }
        }
        pool.pack(leaves, into: &outgoing[a], destinations: &packDestinations[a])
    }

    /// Merges node a's staying particles and the neighbours' messages in id order: the arrivals are
    /// appended to the pool, in that order and in groups of their own (`ParticleStore.replaceGroups`),
    /// and evaluated on the node's sequence; the held list becomes the merged order of slots.
    private func receive(_ messages: [[Double]], _ a: Int, on sample: Sample) throws {
        compact(a, on: sample)
        let record = nodeStores[a].pool.packedSize
        try merge(messages, a, source: nodeStores[a].pool, record: record)
        // Taken out of the class's arrays while in use (as in `route`).
        var held: [Int] = [], arriving: [(from: Int, at: Int)] = []
        swap(&held, &nodeStores[a].nextHeld)
        swap(&arriving, &arrivals[a])
        defer {
            swap(&held, &nodeStores[a].nextHeld)
            swap(&arriving, &arrivals[a])
        }
        held.removeAll(keepingCapacity: true)
        arriving.removeAll(keepingCapacity: true)
        let width = ParticleParameters.laneWidth
        let inUse = max(settings.trainer.particles, (staying[a].max() ?? -1) + 1)
        let firstSlot = (inUse + width - 1) / width * width
        for (from, at) in mergeOrder[a] {
            if from < 0 {
                held.append(at)
            } else {
                held.append(firstSlot + arriving.count)
                arriving.append((from, at))
            }
        }
        swap(&held, &nodeStores[a].held)
        if !arriving.isEmpty {
            withBaseAddresses(of: messages) { messages in
                nodeStores[a].pool.replaceGroups(from: firstSlot, count: arriving.count) { k in
                    let (from, at) = arriving[k], message = messages[from]
                    return ParticleSource(
                        id: Int(message[at]), logWeight: message[at + 1], theta: message + at + 2, stride: 1)
                }
            }
        }
        let groups =
            reevaluatesStayers
            ? 0..<nodeStores[a].pool.parameters.groups
            : firstSlot / width..<(firstSlot + arriving.count + width - 1) / width
        if !groups.isEmpty { nodeStores[a].pool.evaluate(sample, groups: groups, with: kernel) }
        largestPool = max(largestPool, nodeStores[a].pool.count)
    }

    /// With a walk that may stay, each move's arrivals keep their groups in use while any of them
    /// stays, and the pool would grow with every move (by half of N a move with the lazy walk). Past
    /// `poolLimit` slots, the particles that stay beyond the N resampled ones are moved down to just
    /// after them, by way of the spare store, and evaluated there again: the same theta on the same
    /// sequence, so the same numbers.
    private func compact(_ a: Int, on sample: Sample) {
        let n = settings.trainer.particles, width = ParticleParameters.laneWidth
        guard let last = staying[a].max(), last >= (poolLimit ?? 3 * n) else { return }
        var moved: [Int] = []
        swap(&moved, &compacted[a])
        defer { swap(&moved, &compacted[a]) }
        moved.removeAll(keepingCapacity: true)
        for slot in staying[a] where slot >= n { moved.append(slot) }
        let pool = nodeStores[a].pool
        pool.parameters.values.withUnsafeBufferPointer { values in
            nodeStores[a].spare.assemble(count: moved.count) { pool.source(moved[$0], in: values.baseAddress!) }
        }
        let first = (n + width - 1) / width * width, spare = nodeStores[a].spare
        spare.parameters.values.withUnsafeBufferPointer { values in
            nodeStores[a].pool.replaceGroups(from: first, count: moved.count) {
                spare.source($0, in: values.baseAddress!)
            }
        }
        nodeStores[a].pool.evaluate(
            sample, groups: first / width..<(first + moved.count + width - 1) / width, with: kernel)
        var next = first
        for i in staying[a].indices where staying[a][i] >= n {
            staying[a][i] = next
            next += 1
        }
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
        let held = nodeStores[a].held
        nodeStores[a].pool.weigh(
            label: sample.label, variance: noise[a].variance,
            exponent: walk.exponent(node: node, steps: settings.walkSteps), slots: held)
        particlesHeld[a] += nodeStores[a].held.count
    }

    /// Normalises, estimates and resamples back to N particles. A node the walk left empty falls
    /// back on its own jittered particles, weighted by its own likelihood only (a local PF step).
    private func finishStep(_ a: Int, on sample: Sample) throws {
        let node = network.localNodes[a], count = settings.trainer.particles
        if nodeStores[a].held.isEmpty {
            // Slots 0..<N are still the jittered particles, with their estimates from `predict`.
            emptySteps[a] += 1
            nodeStores[a].pool.clearLogWeights(0..<count)
            nodeStores[a].held.append(contentsOf: 0..<count)
            let home = nodeStores[a].held
            nodeStores[a].pool.weigh(label: sample.label, variance: noise[a].variance, exponent: 1, slots: home)
        }
        let held = nodeStores[a].held, pool = nodeStores[a].pool
        cloudLogWeights[a].removeAll(keepingCapacity: true)
        for slot in held { cloudLogWeights[a].append(pool.logWeights[slot]) }
        cloudWeights[a].removeAll(keepingCapacity: true)
        cloudWeights[a].append(contentsOf: repeatElement(0, count: held.count))
        let finite = cloudLogWeights[a].withUnsafeBufferPointer { log in
            cloudWeights[a].withUnsafeMutableBufferPointer { ParticleStore.normalize(log, into: $0) }
        }
        if !finite { degenerateSteps[a] += 1 }
        let weights = cloudWeights[a]
        pool.weightedMean(weights, slots: held, into: &estimates[a])
        // Every particle starts the step at log-weight 0 (resampled), so the mean of exp(log-weight)
        // is the step's likelihood increment.
        lastSteps[a] = FilterStepTrace(
            effectiveSampleSize: effectiveSampleSize(weights), resampled: true,
            logLikelihoodIncrement: logMeanExp(cloudLogWeights[a][...]), particles: weights.count,
            observationNoise: noise[a].variance)
        guard estimates[a].allSatisfy(\.isFinite) else {
            throw TrainerError.nonFinite(trainer: "dpf", step: step, what: "the posterior mean")
        }
        var random = RandomStream(seed: settings.seed, node: node, step: step, purpose: .resampling)
        settings.trainer.resampling.ancestors(weights: weights, count: count, random: &random, into: &ancestors[a])
        // The ancestors' indices in the held list become their slots.
        for k in ancestors[a].indices { ancestors[a][k] = held[ancestors[a][k]] }
        nodeStores[a].resample(ancestors[a], firstID: node * count)
    }
}
