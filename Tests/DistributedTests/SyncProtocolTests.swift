import DataSources
import LSTM
import Testing
import Trainers

@testable import Distributed

/// The synchronisation protocols' guarantees, in one process (`docs/design/sync-protocols.md`,
/// "Tests that make an implementation trustworthy").
@Suite("avg, gm and fgm in one process")
struct SyncProtocolTests {
    static let shape = LSTMShape(hidden: 2, input: 2)
    static let teacher = SyntheticTeacher(shape: shape, noiseVariance: 0.002, count: .max, seed: 5)

    struct Outcome {
        var trainer: SynchronizedLearners
        var predictions: [[Double]]
        var traffic: [Traffic]
    }

    /// `steps` steps of `algorithm` on `nodes` nodes; `check` sees the trainer after every step.
    func run(
        _ algorithm: Algorithm, nodes: Int = 4, steps: Int = 300, optimizer: Optimizer = .adam,
        configure: (inout SyncSettings) -> Void = { _ in }, check: (SynchronizedLearners, Int) -> Void = { _, _ in }
    ) throws -> Outcome {
        let network = InProcessNetwork(topology: try Topology.ring(nodes))
        var settings = DistributedSettings(model: LSTMModel(shape: Self.shape))
        (settings.sgd.optimizer, settings.sgd.learningRate) = (optimizer, 0.01)
        configure(&settings.sync)
        let trainer = try SynchronizedLearners(algorithm, settings: settings, network: network)
        var predictions = [[Double]]()
        for t in 0..<steps {
            let samples = (0..<nodes).map { Self.teacher.sample(t * nodes + $0) }
            predictions.append(try trainer.predict(samples))
            try trainer.update(samples)
            check(trainer, t + 1)
        }
        return Outcome(trainer: trainer, predictions: predictions, traffic: network.traffic)
    }

    @Test(
        "GM with Delta = 0 is periodic averaging with the same b, bit for bit",
        arguments: [(1, Resolution.balance), (3, .balance), (2, .full)])
    func gmAtZeroIsAveraging(every: Int, resolution: Resolution) throws {
        let averaging = try run(.avg) { $0.every = every }
        let gm = try run(.gm) { ($0.every, $0.threshold, $0.resolution) = (every, 0, resolution) }
        #expect(gm.predictions == averaging.predictions)
        #expect(gm.trainer.estimates == averaging.trainer.estimates)
        #expect(gm.trainer.syncCounters[0].fullSyncs == 300 / every)
        // And averaging did something: without it the nodes' models differ.
        let local = try run(.gm) { $0.threshold = .infinity }
        #expect(local.trainer.estimates[0] != local.trainer.estimates[1])
    }

    @Test(
        "an infinite threshold is local training from the common start, with no traffic",
        arguments: [Algorithm.gm, .fgm])
    func infiniteThresholdIsLocal(algorithm: Algorithm) throws {
        let outcome = try run(algorithm) { $0.threshold = .infinity }
        var settings = SGDSettings()
        (settings.optimizer, settings.learningRate) = (.adam, 0.01)
        var learners = (0..<4).map { _ in SGDTrainer(model: LSTMModel(shape: Self.shape), settings: settings, seed: 1) }
        for t in 0..<300 {
            let predictions = try (0..<4).map { try learners[$0].predict(Self.teacher.sample(t * 4 + $0)) }
            #expect(predictions == outcome.predictions[t])
            for a in 0..<4 { try learners[a].update(Self.teacher.sample(t * 4 + a)) }
        }
        #expect(outcome.traffic.map(\.messagesSent) == [0, 0, 0, 0])
        #expect(outcome.traffic.map(\.bytesSent) == [0, 0, 0, 0])
    }

    @Test("FGM with Theta = 0 synchronises at every step: every node holds the same model", arguments: [1, 2])
    func fgmAtZeroSyncsEveryStep(every: Int) throws {
        let outcome = try run(.fgm, steps: 100, configure: { ($0.threshold, $0.every) = (0, every) }) { trainer, step in
            if step % every == 0 {
                #expect(Set(trainer.estimates).count == 1, "step \(step)")
            } else {
                #expect(Set(trainer.estimates).count > 1, "step \(step)")
            }
        }
        #expect(outcome.trainer.syncCounters.allSatisfy { $0.fullSyncs == 100 / every })
    }

    @Test("rounds, syncs and bytes never grow as the threshold grows", arguments: [Algorithm.gm, .fgm])
    func monotoneInThreshold(algorithm: Algorithm) throws {
        var previous: (syncs: Int, bytes: Int)?
        for threshold in [0, 1e-4, 1e-3, 3e-3, 1e-2, 3e-2, 0.1, .infinity] {
            let outcome = try run(
                algorithm,
                configure: {
                    ($0.threshold, $0.resolution) = (threshold, .full)
                })
            let syncs = outcome.trainer.syncCounters[0].fullSyncs
            let bytes = outcome.traffic.map(\.bytesSent).reduce(0, +)
            if let previous {
                #expect(syncs <= previous.syncs && bytes <= previous.bytes, "threshold \(threshold)")
            }
            previous = (syncs, bytes)
        }
        #expect(previous! == (0, 0))
    }

    @Test("GM's local conditions hold after every check", arguments: [Resolution.balance, .full])
    func gmInvariant(resolution: Resolution) throws {
        let delta = 0.003
        let outcome = try run(.gm, nodes: 5, configure: { ($0.threshold, $0.resolution) = (delta, resolution) }) {
            trainer, step in
            for a in 0..<5 {
                let distance = squaredDistance(trainer.estimates[a], trainer.references[a])
                #expect(distance <= delta, "step \(step), node \(a)")
            }
        }
        let coordinator = outcome.trainer.syncCounters[0]
        #expect(coordinator.fullSyncs > 0)
        #expect(resolution == .full || coordinator.balancingSyncs > 0)
    }

    @Test("FGM: sum phi(X_i) <= 0 after every step, and the coordinator's counter is at most k")
    func fgmInvariant() throws {
        let theta = 0.003
        var subroundsSeen = Set<Int>()
        let outcome = try run(.fgm, nodes: 5, configure: { $0.threshold = theta }) { trainer, step in
            let psi = (0..<5).map { squaredDistance(trainer.estimates[$0], trainer.references[$0]) - theta }
            #expect(psi.reduce(0, +) <= 0, "step \(step)")
            #expect(Set(trainer.references).count == 1)
            subroundsSeen.insert(trainer.syncCounters[0].subrounds - trainer.syncCounters[0].rounds)
        }
        let fgm = try #require(outcome.trainer.synchronization as? FunctionalGeometricMonitoring)
        #expect(fgm.counter <= 5)
        #expect(outcome.trainer.syncCounters[0].rounds > 1)
        // Some rounds had more than one subround.
        #expect(subroundsSeen.count > 1)
    }

    /// Models around a common start, node `a` moved by `offsets[a]` in every coordinate.
    func models(_ offsets: [Double], start: [Double]) -> [[Double]] {
        offsets.map { offset in start.map { $0 + offset } }
    }

    @Test("balancing averages a subset, keeps r, and preserves the sum of models")
    func balancingPreservesSum() throws {
        let network = InProcessNetwork(topology: try Topology.ring(6))
        let d = Self.shape.parameterCount
        let start = (0..<d).map { Double($0) / 10 }
        var sync = SyncSettings()
        sync.threshold = 0.05 * 0.05 * Double(d)
        let gm = DynamicAveraging(
            star: Star(network: network, coordinator: 0), start: start, sync: sync, seed: 3)
        // Node 2 violates (0.1 per coordinate); nodes 4 and 5 drifted the other way.
        var current = models([0.01, 0.0, 0.1, 0.02, -0.09, -0.08], start: start)
        let before = current
        var counters = [SyncCounters](repeating: SyncCounters(), count: 6)
        _ = try gm.synchronize(step: 1, models: &current, counters: &counters)
        #expect(counters[0].balancingSyncs == 1 && counters[0].fullSyncs == 0)
        #expect(counters[0].balancedSites >= 2 && counters[0].balancedSites <= 3)
        #expect(gm.references.allSatisfy { $0 == start })
        let changed = (0..<6).filter { current[$0] != before[$0] }
        #expect(changed.contains(2) && changed.count == counters[0].balancedSites)
        for j in 0..<d {
            let sumBefore = before.map { $0[j] }.reduce(0, +), sumAfter = current.map { $0[j] }.reduce(0, +)
            #expect(abs(sumBefore - sumAfter) <= 1e-12)
        }
        for a in 0..<6 { #expect(squaredDistance(current[a], start) <= sync.threshold) }
    }

    @Test("the ledger: a full sync is 2 (k - 1) D doubles, whatever resolves it")
    func byteLedger() throws {
        let k = 4, d = Self.shape.parameterCount
        let start = [Double](repeating: 0, count: d)
        let full = 2 * (k - 1) * d * 8
        // Periodic averaging: k - 1 models up, k - 1 averages down.
        do {
            let network = InProcessNetwork(topology: try Topology.ring(k))
            let averaging = PeriodicAveraging(star: Star(network: network, coordinator: 0), start: start)
            var current = models([0.1, 0.2, 0.3, 0.4], start: start)
            var counters = [SyncCounters](repeating: SyncCounters(), count: k)
            _ = try averaging.synchronize(step: 1, models: &current, counters: &counters)
            #expect(network.traffic.map(\.bytesSent).reduce(0, +) == full)
            #expect(network.traffic.map(\.messagesSent) == [k - 1, 1, 1, 1])
            #expect(current.allSatisfy { $0 == [Double](repeating: 0.25, count: d) })
        }
        // GM, full resolution, one violator (node 2): its model, two requests (no payload), two
        // replies, three averages.
        do {
            let network = InProcessNetwork(topology: try Topology.ring(k))
            var sync = SyncSettings()
            (sync.threshold, sync.resolution) = (0.01, .full)
            let gm = DynamicAveraging(star: Star(network: network, coordinator: 0), start: start, sync: sync, seed: 1)
            var current = models([0, 0, 0.5, 0], start: start)
            var counters = [SyncCounters](repeating: SyncCounters(), count: k)
            _ = try gm.synchronize(step: 1, models: &current, counters: &counters)
            #expect(network.traffic.map(\.bytesSent).reduce(0, +) == full)
            #expect(network.traffic.map(\.messagesSent) == [2 + 3, 1, 1, 1])
            #expect(counters.map(\.fullSyncs) == [1, 1, 1, 1] && counters[2].violations == 1)
        }
        // FGM, a round end: increments, polls and safe values (one number each but the polls),
        // then the drifts and the new estimate, 2 (k - 1) D.
        do {
            let network = InProcessNetwork(topology: try Topology.ring(k))
            var sync = SyncSettings()
            sync.threshold = 0.01
            let fgm = FunctionalGeometricMonitoring(
                star: Star(network: network, coordinator: 0), start: start, sync: sync)
            var current = models([0.5, 0.5, 0.5, 0.5], start: start)
            var counters = [SyncCounters](repeating: SyncCounters(), count: k)
            _ = try fgm.synchronize(step: 1, models: &current, counters: &counters)
            #expect(counters.map(\.fullSyncs) == [1, 1, 1, 1])
            // Sites: increment (1), safe value (1), drift (D). Coordinator: poll (0), request (0), estimate (D).
            #expect(network.traffic[1].bytesSent == (2 + d) * 8 && network.traffic[1].messagesSent == 3)
            #expect(network.traffic[0].bytesSent == (k - 1) * d * 8 && network.traffic[0].messagesSent == 3 * (k - 1))
            #expect(current.allSatisfy { $0 == [Double](repeating: 0.5, count: d) })
        }
    }
}
