import DataSources
import LSTM
import Testing

@testable import Distributed

/// K nodes in one process: properties of single moves that a whole-run summary cannot show.
@Suite("Distributed trainers in one process")
struct InProcessTests {
    func run(
        _ algorithm: Algorithm, topology: Topology, steps: Int,
        configure: (inout DistributedSettings) -> Void = { _ in }
    )
        throws -> (DistributedTrainer, [[Double]])
    {
        let network = InProcessNetwork(topology: topology)
        let teacher = SyntheticTeacher(
            shape: LSTMShape(hidden: 2, input: 2), noiseVariance: 0.002, count: .max, seed: 5)
        var settings = DistributedSettings(model: LSTMModel(shape: LSTMShape(hidden: 2, input: 2)))
        settings.pf.particles = 16
        configure(&settings)
        let trainer = try makeTrainer(algorithm, settings: settings, network: network)
        var predictions = [[Double]]()
        for t in 0..<steps {
            let samples = (0..<topology.nodeCount).map { teacher.sample(t * topology.nodeCount + $0) }
            predictions.append(try trainer.predict(samples))
            try trainer.update(samples)
        }
        return (trainer, predictions)
    }

    @Test(
        "DPF moves conserve particles: every move, the nodes together hold K N",
        arguments: [
            ("line", 5, WalkKind.simple), ("star", 4, .lazy), ("ring", 3, .metropolis),
        ])
    func conservation(spec: String, nodes: Int, walk: WalkKind) throws {
        let steps = 6, s = 4
        let (trainer, _) = try run(.dpf, topology: Topology.named(spec, nodes: nodes), steps: steps) {
            $0.walkSteps = s
            $0.walk = walk
        }
        let held = trainer.diagnostics.map { $0["particles_held"]! }
        #expect(held.reduce(0, +) == Double(nodes * 16 * s * steps))
        // Particles did move: on a star with s moves some node held more than its N at some point.
        #expect(Set(held).count > 1 || walk == .metropolis)
    }

    @Test("same seed, same numbers; another seed, other numbers", arguments: [Algorithm.dpf, .dekf, .cpf, .dsgd])
    func reproducible(algorithm: Algorithm) throws {
        let ring = try Topology.ring(3)
        let (_, first) = try run(algorithm, topology: ring, steps: 5)
        let (_, second) = try run(algorithm, topology: ring, steps: 5)
        let (_, other) = try run(algorithm, topology: ring, steps: 5) { $0.seed = 2 }
        #expect(first == second)
        #expect(first != other)
    }

    @Test("the centralized PF: every node holds the same posterior")
    func centralizedAgrees() throws {
        let (trainer, _) = try run(.cpf, topology: Topology.ring(4), steps: 5)
        #expect(Set(trainer.estimates).count == 1)
    }

    @Test("diffusion SGD and DEKF on a complete graph with equal weights reach consensus each step")
    func consensus() throws {
        for algorithm in [Algorithm.dsgd, .dekf] {
            let (trainer, _) = try run(algorithm, topology: Topology.complete(3), steps: 3)
            let estimates = trainer.estimates
            // Metropolis weights on K3 are all 1/3: every node ends with the same average.
            for e in estimates.dropFirst() {
                #expect(zip(e, estimates[0]).allSatisfy { abs($0 - $1) < 1e-12 }, "\(algorithm)")
            }
        }
    }

    /// DEKF on a ring of 3 for 20 steps: the predictions and the bytes node 0 sent.
    func dekf(exchangeChunk: Int = 1 << 22, precision: Precision = .double) throws -> ([[Double]], Int) {
        let network = InProcessNetwork(topology: try Topology.ring(3))
        let shape = LSTMShape(hidden: 2, input: 2)
        let teacher = SyntheticTeacher(shape: shape, noiseVariance: 0.002, count: .max, seed: 5)
        var settings = DistributedSettings(model: LSTMModel(shape: shape))
        settings.exchangePrecision = precision
        let trainer = DiffusionEKF(settings: settings, network: network, exchangeChunk: exchangeChunk)
        var predictions = [[Double]]()
        for t in 0..<20 {
            let samples = (0..<3).map { teacher.sample(t * 3 + $0) }
            predictions.append(try trainer.predict(samples))
            try trainer.update(samples)
        }
        return (predictions, network.traffic[0].bytesSent)
    }

    @Test(
        "DEKF's covariance exchange in pieces: the same numbers and bytes, whatever the piece", arguments: [2, 10, 64])
    func dekfInPieces(chunk: Int) throws {
        // n_a = 2 n + n_theta = 46: 46 + 46 * 47 / 2 = 1127 numbers, so every piece size splits rows.
        let (whole, wholeBytes) = try dekf()
        let (pieces, piecesBytes) = try dekf(exchangeChunk: chunk)
        #expect(pieces == whole)
        #expect(piecesBytes == wholeBytes)
    }

    @Test("DEKF's single-precision exchange: half the estimate's bytes, predictions close to double's")
    func dekfSingleExchange() throws {
        let (double, doubleBytes) = try dekf()
        let (single, singleBytes) = try dekf(exchangeChunk: 10, precision: .single)
        // Per step, to each of 2 neighbours: the sample (2 + m p numbers, double either way) and
        // 1127 numbers of estimate, 564 doubles' worth in single.
        #expect(doubleBytes - singleBytes == 20 * 2 * (1127 - 564) * 8)
        let worst = zip(double.joined(), single.joined()).map { abs($0 - $1) }.max()!
        #expect(worst > 0 && worst < 1e-4, "largest prediction difference \(worst)")
    }
}

@Suite("DPF: a particle that stays is not evaluated again")
struct StayingParticleTests {
    /// Predictions and estimates of a DPF run, and the particle-columns its kernel ran.
    func run(walk: WalkKind, reevaluating: Bool) throws -> ([[Double]], [[Double]], Int) {
        let topology = try Topology.named("star", nodes: 5)
        let teacher = SyntheticTeacher(
            shape: LSTMShape(hidden: 3, input: 2), noiseVariance: 0.002, count: .max, seed: 8)
        var settings = DistributedSettings(model: LSTMModel(shape: LSTMShape(hidden: 3, input: 2)))
        (settings.pf.particles, settings.walk, settings.walkSteps) = (13, walk, 4)
        let trainer = DistributedParticleFilter(settings: settings, network: InProcessNetwork(topology: topology))
        let probe = DPFProbe()
        probe.reevaluatesStayers = reevaluating
        trainer.probe = probe
        trainer.kernel.timesEvaluations = true
        var predictions = [[Double]]()
        for t in 0..<12 {
            let samples = (0..<topology.nodeCount).map { teacher.sample(t * topology.nodeCount + $0) }
            predictions.append(try trainer.predict(samples))
            try trainer.update(samples)
        }
        return (predictions, trainer.estimates, trainer.kernel.evaluatedColumns)
    }

    @Test(
        "the same numbers as evaluating every held particle at every move, with fewer evaluations",
        arguments: [WalkKind.lazy, .metropolis])
    func sameNumbers(walk: WalkKind) throws {
        let (predictions, estimates, columns) = try run(walk: walk, reevaluating: false)
        let (everyPredictions, everyEstimates, everyColumns) = try run(walk: walk, reevaluating: true)
        #expect(predictions == everyPredictions)
        #expect(estimates == everyEstimates)
        // Not vacuous: particles stayed, and their evaluations were saved.
        #expect(columns < everyColumns * 9 / 10, "\(columns) columns against \(everyColumns)")
    }

    @Test("the paper's walk, where nothing stays: the same numbers as evaluating every held particle")
    func simpleWalk() throws {
        let (predictions, estimates, _) = try run(walk: .simple, reevaluating: false)
        let (everyPredictions, everyEstimates, _) = try run(walk: .simple, reevaluating: true)
        #expect(predictions == everyPredictions && estimates == everyEstimates)
    }
}

@Suite("DPF: the pool's room with a walk that may stay")
struct PoolCompactionTests {
    func run(limit: Int?) throws -> ([[Double]], [[Double]], Int) {
        let topology = try Topology.ring(3)
        let teacher = SyntheticTeacher(
            shape: LSTMShape(hidden: 2, input: 2), noiseVariance: 0.002, count: .max, seed: 9)
        var settings = DistributedSettings(model: LSTMModel(shape: LSTMShape(hidden: 2, input: 2)))
        (settings.pf.particles, settings.walk, settings.walkSteps) = (24, .lazy, 12)
        let trainer = DistributedParticleFilter(settings: settings, network: InProcessNetwork(topology: topology))
        let probe = DPFProbe()
        probe.poolLimit = limit
        trainer.probe = probe
        var predictions = [[Double]]()
        for t in 0..<8 {
            let samples = (0..<topology.nodeCount).map { teacher.sample(t * topology.nodeCount + $0) }
            predictions.append(try trainer.predict(samples))
            try trainer.update(samples)
        }
        return (predictions, trainer.estimates, probe.largestPool)
    }

    @Test("stayers moved down past the limit: the same numbers as a pool without limit, in less room")
    func compaction() throws {
        let (predictions, estimates, largest) = try run(limit: nil)
        let (freePredictions, freeEstimates, freeLargest) = try run(limit: .max)
        #expect(predictions == freePredictions)
        #expect(estimates == freeEstimates)
        // Twelve moves of the lazy walk spread the pool well past 3 N = 72 slots without a limit.
        #expect(freeLargest > 2 * 72, "the pool without limit held only \(freeLargest) slots")
        #expect(largest <= 72 + 2 * 24 + 16, "the pool held \(largest) slots")
    }
}
