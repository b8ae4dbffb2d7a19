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
        settings.trainer.particles = 16
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
}
