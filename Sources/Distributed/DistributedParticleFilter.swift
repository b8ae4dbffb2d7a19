import LSTM
import Numerics
import Trainers

/// The Markov-chain distributed particle filter (Lee & West; paper Algorithm 1).
///
/// Each node holds N particles (theta, a global id). At step t, node k:
/// 1. jitters its particles (theta += gamma, keyed by (seed, k, t, id)) and predicts
///    d_hat = mean of h(theta_i; X_k,t) (weights are equal after resampling);
/// 2. then, for each of s moves, every particle draws its next node from the walk (keyed by
///    (seed, node, move, id)), particles are packed per neighbour as [id, log-weight, theta...] and
///    sent by one neighbour exchange; each node sorts what it holds by id (the canonical order) and
///    adds exponent_j * log p(d_j | theta) for its own (X_j, d_j), exponent_j = 1 / (s pi_j);
/// 3. normalises, estimates theta by the weighted mean, and resamples back to N particles with
///    ids k N + i.
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
    private let kernel: ParticleKernel
    private var output = KernelOutput()
    private var particles: [[[Double]]]
    private var ids: [[Int]]
    private var ownObservations: [[Double]]
    private var step = 0
    public private(set) var estimates: [[Double]]
    private var emptySteps: [Int]
    private var particlesHeld: [Int]
    private var degenerateSteps: [Int]

    /// Each node's particles after the last resampling: equally weighted.
    public var particleClouds: [ParticleCloudSnapshot]? {
        particles.map { ParticleCloudSnapshot(particles: $0.flatMap { $0 }, logWeights: $0.map { _ in 0 }) }
    }

    public init(settings: DistributedSettings, network: Network) {
        self.network = network
        self.settings = settings
        walk = RandomWalk(topology: network.topology, kind: settings.walk)
        kernel = ParticleKernel(shape: settings.model.shape, pooling: settings.model.pooling)
        let count = settings.trainer.particles, nTheta = settings.model.shape.parameterCount
        ids = network.localNodes.map { k in Array((k * count)..<((k + 1) * count)) }
        particles = zip(network.localNodes, ids).map { node, nodeIDs in
            nodeIDs.map { id in
                var random = RandomStream(seed: settings.seed, node: node, purpose: .initialization, index: id)
                let centre = settings.trainer.initialCentre
                return (0..<nTheta).map { j in
                    (centre?[j] ?? 0) + settings.trainer.initialSpread * random.nextGaussian()
                }
            }
        }
        ownObservations = network.localNodes.map { _ in [] }
        estimates = particles.map { cloud in
            var sum = [Double](repeating: 0, count: nTheta)
            for theta in cloud { for j in sum.indices { sum[j] += theta[j] / Double(count) } }
            return sum
        }
        emptySteps = network.localNodes.map { _ in 0 }
        particlesHeld = emptySteps
        degenerateSteps = emptySteps
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
            var record = CheckpointRecord()
            record.append("step", step)
            record.append("ids", ids[a])
            record.append("particles", particles[a].flatMap { $0 })
            record.append("estimate", estimates[a])
            record.append("empty_steps", emptySteps[a])
            record.append("particles_held", particlesHeld[a])
            record.append("degenerate_steps", degenerateSteps[a])
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
            ids[a] = nodeIDs
            particles[a] = nodeIDs.indices.map { Array(flat[($0 * nTheta)..<(($0 + 1) * nTheta)]) }
        }
    }

    private func observations(_ cloud: [[Double]], on sample: Sample) -> [Double] {
        guard !cloud.isEmpty else { return [] }
        kernel.evaluate(
            ParticleParameters(shape: settings.model.shape, particles: cloud), sample: sample, into: &output)
        return Array(output.estimates.prefix(cloud.count))
    }

    public func predict(_ samples: [Sample]) throws -> [Double] {
        step += 1
        let sd = settings.trainer.jitterVariance.squareRoot()
        return try network.localNodes.enumerated().map { a, node in
            for i in particles[a].indices {
                var random = RandomStream(
                    seed: settings.seed, node: node, step: step, purpose: .jitter, index: ids[a][i])
                for j in particles[a][i].indices { particles[a][i][j] += sd * random.nextGaussian() }
            }
            ownObservations[a] = observations(particles[a], on: samples[a])
            let prediction = ownObservations[a].reduce(0, +) / Double(particles[a].count)
            guard prediction.isFinite else {
                throw TrainerError.nonFinite(trainer: "dpf", step: step, what: "the prediction")
            }
            return prediction
        }
    }

    /// A particle on the move.
    private struct Walker {
        var id: Int
        var logWeight: Double
        var theta: [Double]
    }

    public func update(_ samples: [Sample]) throws {
        let topology = network.topology, nodes = network.localNodes
        let s = settings.walkSteps, noise = settings.trainer.observationNoise
        let nTheta = settings.model.shape.parameterCount
        var walkers = nodes.indices.map { a in
            particles[a].indices.map { Walker(id: ids[a][$0], logWeight: 0, theta: particles[a][$0]) }
        }
        for move in 0..<s {
            var outgoing = nodes.map { topology.neighbors[$0].map { _ in [Double]() } }
            var staying = nodes.map { _ in [Walker]() }
            for (a, node) in nodes.enumerated() {
                let choices = walk.transitions[node]
                for walker in walkers[a] {
                    var random = RandomStream(
                        seed: settings.seed, node: node, step: (step - 1) * s + move, purpose: .walk, index: walker.id)
                    let u = random.nextUniform()
                    var next = choices[choices.count - 1].node, cumulative = 0.0
                    for choice in choices {
                        cumulative += choice.probability
                        if u < cumulative {
                            next = choice.node
                            break
                        }
                    }
                    if next == node {
                        staying[a].append(walker)
                    } else {
                        let b = topology.neighbors[node].firstIndex(of: next)!
                        outgoing[a][b].append(Double(walker.id))
                        outgoing[a][b].append(walker.logWeight)
                        outgoing[a][b].append(contentsOf: walker.theta)
                    }
                }
            }
            let incoming = try network.exchange(outgoing)
            for (a, node) in nodes.enumerated() {
                var arrived = staying[a]
                for (b, message) in incoming[a].enumerated() {
                    let record = 2 + nTheta
                    guard message.count % record == 0 else {
                        throw TrainerError.malformedMessage(
                            from: topology.neighbors[node][b],
                            what: "\(message.count) numbers, not a whole number of particles")
                    }
                    for start in stride(from: 0, to: message.count, by: record) {
                        guard let id = Int(exactly: message[start]) else {
                            throw TrainerError.malformedMessage(
                                from: topology.neighbors[node][b], what: "particle id \(message[start])")
                        }
                        arrived.append(
                            Walker(
                                id: id, logWeight: message[start + 1],
                                theta: Array(message[(start + 2)..<(start + record)])))
                    }
                }
                // The canonical order: results do not depend on which neighbour's message came first.
                arrived.sort { $0.id < $1.id }
                let h = observations(arrived.map(\.theta), on: samples[a])
                let exponent = walk.exponent(node: node, steps: s)
                for i in arrived.indices {
                    arrived[i].logWeight += exponent * logLikelihood(samples[a].label, h[i], variance: noise)
                }
                walkers[a] = arrived
                particlesHeld[a] += arrived.count
            }
        }
        for (a, node) in nodes.enumerated() {
            var cloud = walkers[a]
            if cloud.isEmpty {
                emptySteps[a] += 1
                cloud = particles[a].indices.map {
                    Walker(
                        id: ids[a][$0],
                        logWeight: logLikelihood(samples[a].label, ownObservations[a][$0], variance: noise),
                        theta: particles[a][$0])
                }
            }
            var weights = normalizedWeights(fromLog: cloud.map(\.logWeight)) ?? []
            if weights.isEmpty {
                degenerateSteps[a] += 1
                weights = [Double](repeating: 1 / Double(cloud.count), count: cloud.count)
            }
            var estimate = [Double](repeating: 0, count: nTheta)
            for (walker, w) in zip(cloud, weights) where w > 0 {
                for j in estimate.indices { estimate[j] += w * walker.theta[j] }
            }
            guard estimate.allSatisfy(\.isFinite) else {
                throw TrainerError.nonFinite(trainer: "dpf", step: step, what: "the posterior mean")
            }
            estimates[a] = estimate
            let count = settings.trainer.particles
            var random = RandomStream(seed: settings.seed, node: node, step: step, purpose: .resampling)
            let ancestors = settings.trainer.resampling.ancestors(weights: weights, count: count, random: &random)
            particles[a] = ancestors.map { cloud[$0].theta }
            ids[a] = Array((node * count)..<((node + 1) * count))
        }
    }
}
