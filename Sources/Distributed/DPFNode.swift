import Dispatch
import LSTM
import Numerics
import Trainers

/// One graph node's share of the distributed particle filter (paper Algorithm 1): its particles, the
/// walk's lists of the current move, the end of its SMC step and Var[eps] of its own likelihood.
/// `DistributedParticleFilter` runs the steps of every local node in lockstep and owns the messages.
///
/// A node's particles live in one store, `pool`, and do not move while the node holds them: at a
/// step's start the N resampled particles are slots 0..<N; each move appends what arrives after them,
/// in lane groups of its own, and only those groups are evaluated (a particle that stays was
/// evaluated on this node's sequence when it came, or by `predict`, and its theta has not changed
/// since). `held` lists the slots the node holds, in id order: the order every sum, the resampling
/// and the messages follow, as if the held particles were stored in that order. A move's arrivals
/// are written after the last slot still in use (the N resampled particles are kept for the fallback
/// of a node the walk leaves empty). With the paper's walk no particle stays, so the pool holds the N
/// and one move's arrivals; with a walk that may stay, it also keeps the stayers' slots from earlier
/// moves of the step. `spare` is the room resampling selects into.
struct DPFNode {
    let node: Int
    /// N: the particles the node resamples to.
    let particleCount: Int
    let seed: UInt64
    let jitterVariance: Double
    let kernel: ParticleKernel
    /// The node's graph neighbours, in the order of its messages.
    let neighbors: [Int]
    /// The walk's choices from this node (next node, probability), and for each the neighbour's index
    /// in the messages, or -1 to stay.
    let choices: [(node: Int, probability: Double)]
    let walkTargets: [Int]
    /// exponent_k = 1 / (s pi_k): the power of this node's likelihood in a particle's weight.
    let exponent: Double

    var pool: ParticleStore
    var spare: ParticleStore
    var held: [Int] = []
    /// The next move's held list, built while `held` is still read (kept: its room is reused).
    var nextHeld: [Int] = []
    /// The slots of the particles that stay in the current move, and of those sent to each neighbour.
    var staying: [Int] = []
    var leaving: [[Int]]
    /// Where the k-th particle of the merged cloud comes from: (-1, a staying particle's slot) or
    /// (neighbour, the offset of its record in that neighbour's message); the arrivals alone, in order.
    var mergeOrder: [(from: Int, at: Int)] = []
    var arrivals: [(from: Int, at: Int)] = []
    /// Each message's read position during the merge.
    var mergeCursors: [Int]
    /// The room `ParticleStore.pack` keeps its slots' records in.
    var packDestinations: [Int] = []
    /// The slots `compact` moves.
    var compacted: [Int] = []
    /// The held particles' log-weights in id order, and the resampled ancestors' slots.
    var logWeights: [Double] = []
    var ancestorSlots: [Int] = []
    var end: SMCStepEnd
    var estimate: [Double]
    var noise: NoiseEstimator
    var prediction = 0.0
    /// Steps the walk left this node empty, and the particles it held over all moves.
    var emptySteps = 0
    var particlesHeld = 0

    init(node: Int, settings: DistributedSettings, walk: RandomWalk, neighbors: [Int], kernel: ParticleKernel) {
        let n = settings.pf.particles
        (self.node, particleCount, seed) = (node, n, settings.seed)
        (jitterVariance, self.kernel, self.neighbors) = (settings.pf.jitterVariance, kernel, neighbors)
        choices = walk.transitions[node]
        walkTargets = choices.map { node == $0.node ? -1 : neighbors.firstIndex(of: $0.node)! }
        exponent = walk.exponent(node: node, steps: settings.walkSteps)
        pool = ParticleStore(
            shape: settings.model.shape, count: n, firstID: node * n, initialSpread: settings.pf.initialSpread,
            centre: settings.pf.initialCentre, seed: settings.seed, node: node)
        spare = ParticleStore(emptyLike: pool)
        leaving = neighbors.map { _ in [] }
        mergeCursors = neighbors.map { _ in 0 }
        end = SMCStepEnd(trainer: "dpf", scheme: settings.pf.resampling, seed: settings.seed, node: node)
        estimate = [Double](repeating: 0, count: settings.model.shape.parameterCount)
        for i in 0..<n {
            for (j, value) in pool.particle(i).enumerated() { estimate[j] += value / Double(n) }
        }
        noise = NoiseEstimator(settings.pf.observationNoise)
    }

    /// Algorithm 1, lines 2-3: jitters the N particles (theta += gamma, keyed by (seed, node, step,
    /// id)) and predicts the mean of h(theta_i) on the node's sequence (equal weights after resampling).
    mutating func predict(_ sample: Sample, step: Int, probe: DPFProbe?) throws -> Double {
        let start = probe == nil ? 0 : DispatchTime.now().uptimeNanoseconds
        pool.jitter(variance: jitterVariance, seed: seed, node: node, step: step)
        probe?.addJitter(since: start)
        pool.evaluate(sample, with: kernel)
        prediction = pool.meanPrediction
        guard prediction.isFinite else {
            throw TrainerError.nonFinite(trainer: "dpf", step: step, what: "the prediction")
        }
        return prediction
    }

    /// Before the walk: the prediction's error updates Var[eps], and the node holds its N particles.
    mutating func startWalk(label: Double) {
        noise.observe(squaredError: (label - prediction) * (label - prediction))
        held.removeAll(keepingCapacity: true)
        held.append(contentsOf: 0..<pool.count)
    }

    /// The walk's move `walkStep` for the particles the node holds: each draws its next node (the first
    /// uniform of its stream (seed, node, walk step, walk, id)); those that stay are listed, the others
    /// packed into `outgoing`, one message per neighbour.
    mutating func route(walkStep: Int, into outgoing: inout [[Double]]) {
        for b in leaving.indices { leaving[b].removeAll(keepingCapacity: true) }
        staying.removeAll(keepingCapacity: true)
        let width = ParticleParameters.laneWidth
        for first in stride(from: 0, to: held.count, by: width) {
            let lanes = min(width, held.count - first)
            var indices = SIMD8<UInt32>(repeating: 0)
            for k in 0..<lanes { indices[k] = UInt32(pool.ids[held[first + k]]) }
            let uniforms = RandomStream.firstUniforms(
                seed: seed, node: node, step: walkStep, purpose: .walk, indices: indices)
            for k in 0..<lanes {
                let target = walkTargets[choice(uniforms[k])]
                if target < 0 {
                    staying.append(held[first + k])
                } else {
                    leaving[target].append(held[first + k])
                }
            }
        }
        pool.pack(leaving, into: &outgoing, destinations: &packDestinations)
    }

    /// The walk's choice that uniform u falls in.
    private func choice(_ u: Double) -> Int {
        var cumulative = 0.0
        for (c, choice) in choices.enumerated() {
            cumulative += choice.probability
            if u < cumulative { return c }
        }
        return choices.count - 1
    }

    /// Merges the staying particles and the neighbours' messages in id order: the arrivals are
    /// appended to the pool, in that order and in groups of their own, and evaluated on the node's
    /// sequence; the held list becomes the merged order of slots.
    mutating func receive(_ messages: [[Double]], on sample: Sample, probe: DPFProbe?) throws {
        compact(on: sample, limit: probe?.poolLimit)
        try merge(messages)
        nextHeld.removeAll(keepingCapacity: true)
        arrivals.removeAll(keepingCapacity: true)
        let width = ParticleParameters.laneWidth
        let inUse = max(particleCount, (staying.max() ?? -1) + 1)
        let firstSlot = (inUse + width - 1) / width * width
        for (from, at) in mergeOrder {
            if from < 0 {
                nextHeld.append(at)
            } else {
                nextHeld.append(firstSlot + arrivals.count)
                arrivals.append((from, at))
            }
        }
        swap(&held, &nextHeld)
        let arriving = arrivals
        if !arriving.isEmpty {
            withBaseAddresses(of: messages) { messages in
                pool.replaceGroups(from: firstSlot, count: arriving.count) { k in
                    let (from, at) = arriving[k], message = messages[from]
                    return ParticleSource(
                        id: Int(message[at]), logWeight: message[at + 1], theta: message + at + 2, stride: 1)
                }
            }
        }
        let groups =
            probe?.reevaluatesStayers == true
            ? 0..<pool.parameters.groups
            : firstSlot / width..<(firstSlot + arriving.count + width - 1) / width
        if !groups.isEmpty { pool.evaluate(sample, groups: groups, with: kernel) }
        probe?.sawPool(pool.count)
    }

    /// With a walk that may stay, each move's arrivals keep their groups in use while any of them
    /// stays, and the pool would grow with every move (by half of N a move with the lazy walk). Past
    /// `limit` slots (3 N by default), the particles that stay beyond the N resampled ones are moved
    /// down to just after them, by way of the spare store, and evaluated there again: the same theta
    /// on the same sequence, so the same numbers.
    private mutating func compact(on sample: Sample, limit: Int?) {
        let n = particleCount, width = ParticleParameters.laneWidth
        guard let last = staying.max(), last >= (limit ?? 3 * n) else { return }
        compacted.removeAll(keepingCapacity: true)
        for slot in staying where slot >= n { compacted.append(slot) }
        let moved = compacted, first = (n + width - 1) / width * width
        // Each copy of a store is scoped to its read, so the store written next is not shared (no copy).
        do {
            let pool = self.pool
            pool.parameters.values.withUnsafeBufferPointer { values in
                spare.assemble(count: moved.count) { pool.source(moved[$0], in: values.baseAddress!) }
            }
        }
        do {
            let spare = self.spare
            spare.parameters.values.withUnsafeBufferPointer { values in
                pool.replaceGroups(from: first, count: moved.count) { spare.source($0, in: values.baseAddress!) }
            }
        }
        pool.evaluate(sample, groups: first / width..<(first + moved.count + width - 1) / width, with: kernel)
        var next = first
        for i in staying.indices where staying[i] >= n {
            staying[i] = next
            next += 1
        }
    }

    /// The merge order of the staying particles and the messages, by id (`mergeOrder`).
    private mutating func merge(_ messages: [[Double]]) throws {
        let record = pool.packedSize
        for (b, message) in messages.enumerated() where message.count % record != 0 {
            throw TrainerError.malformedMessage(
                from: neighbors[b], what: "\(message.count) numbers, not a whole number of particles")
        }
        mergeOrder.removeAll(keepingCapacity: true)
        for b in messages.indices { mergeCursors[b] = 0 }
        var stay = 0
        while true {
            // The smallest id among the next staying particle and each message's next particle.
            var best = stay < staying.count ? pool.ids[staying[stay]] : Int.max, from = -1
            for b in messages.indices where mergeCursors[b] < messages[b].count {
                guard let id = Int(exactly: messages[b][mergeCursors[b]]), id >= 0 else {
                    throw TrainerError.malformedMessage(
                        from: neighbors[b], what: "particle id \(messages[b][mergeCursors[b]])")
                }
                if id < best { (best, from) = (id, b) }
            }
            if from >= 0 {
                mergeOrder.append((from, mergeCursors[from]))
                mergeCursors[from] += record
            } else if stay < staying.count {
                mergeOrder.append((-1, staying[stay]))
                stay += 1
            } else {
                break
            }
        }
    }

    /// Algorithm 1's weighting: adds exponent_k * log p(d_k | theta) for the node's own sequence to
    /// every particle it holds.
    mutating func weigh(label: Double) {
        pool.weigh(label: label, variance: noise.variance, exponent: exponent, slots: held)
        particlesHeld += held.count
    }

    /// Normalises, estimates and resamples back to N particles with ids node N + i. A node the walk
    /// left empty falls back on its own jittered particles, weighted by its own likelihood only (a
    /// local PF step).
    mutating func finish(label: Double, step: Int) throws {
        let n = particleCount
        if held.isEmpty {
            // Slots 0..<N are still the jittered particles, with their estimates from `predict`.
            emptySteps += 1
            pool.clearLogWeights(0..<n)
            held.append(contentsOf: 0..<n)
            pool.weigh(label: label, variance: noise.variance, exponent: 1, slots: held)
        }
        logWeights.removeAll(keepingCapacity: true)
        for slot in held { logWeights.append(pool.logWeights[slot]) }
        let pool = self.pool, held = self.held
        try end.finish(
            logWeights: &logWeights, observationNoise: noise.variance, step: step, resampleTo: n,
            estimate: &estimate
        ) { weights, mean in pool.weightedMean(weights, slots: held, into: &mean) }
        // The ancestors' indices in the held list become their slots.
        ancestorSlots.removeAll(keepingCapacity: true)
        for k in end.ancestors { ancestorSlots.append(held[k]) }
        spare.select(ancestorSlots, from: pool, firstID: node * n)
        swap(&self.pool, &spare)
    }
}

/// What a benchmark or a test sets or reads inside the DPF's steps; none of it changes a number.
public final class DPFProbe {
    /// The wall time of the jitter, the Gaussians added to every parameter of every particle at every
    /// step: with the kernel, the part of a step the paper's filter cannot do without.
    public private(set) var jitterSeconds = 0.0
    /// The most slots any node's pool has used.
    public private(set) var largestPool = 0
    /// Evaluate every held particle at every move, stayers too: the same numbers, slower (a test's oracle).
    public var reevaluatesStayers = false
    /// The slots a node's pool may use before the particles that stay are moved down; nil is 3 N.
    public var poolLimit: Int?

    public init() {}

    func addJitter(since start: UInt64) {
        jitterSeconds += Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    }

    func sawPool(_ slots: Int) { largestPool = max(largestPool, slots) }
}
