import LSTM
import Trainers

/// How the synchronisation protocols (avg, gm, fgm) are set (`docs/design/sync-protocols.md`).
public struct SyncSettings: Sendable, Equatable {
    /// b: local steps between averagings (avg) or between checks of the local conditions (gm, fgm).
    public var every = 1
    /// Delta (gm) or Theta (fgm): a bound on the divergence, in squared parameter units.
    public var threshold = 0.0
    /// How gm resolves a violation.
    public var resolution = Resolution.balance
    /// FGM ends a round once psi >= fgmEpsilon * k * phi(0).
    public var fgmEpsilon = 0.01
    /// The node that coordinates (it also learns).
    public var coordinator = 0
    /// Steps between rows of the divergence trace (0: no trace).
    public var traceEvery = 1

    public init() {}
}

/// How GM resolves a violation of a local condition.
public enum Resolution: String, CaseIterable, Codable, Sendable {
    /// Average the violators with as few other sites as keep the average within the threshold.
    case balance
    /// Average every site and move the reference there.
    case full
}

/// What each node counts of a protocol. Protocol-wide events (full syncs, rounds, subrounds, polls)
/// are counted by every node that sees them; balancing syncs by the coordinator only.
public struct SyncCounters: Sendable, Equatable {
    /// Times this node's local condition failed (gm) or it sent a counter increment (fgm).
    public var violations = 0
    public var fullSyncs = 0
    public var balancingSyncs = 0
    /// Sum over balancing syncs of the size of the balanced set.
    public var balancedSites = 0
    public var rounds = 0
    public var subrounds = 0
    public var polls = 0

    static let names = [
        "violations", "full_syncs", "balancing_syncs", "balanced_sites", "rounds", "subrounds", "polls",
    ]
    var values: [Int] { [violations, fullSyncs, balancingSyncs, balancedSites, rounds, subrounds, polls] }

    public init() {}

    init(values: [Int]) {
        (violations, fullSyncs, balancingSyncs, balancedSites) = (values[0], values[1], values[2], values[3])
        (rounds, subrounds, polls) = (values[4], values[5], values[6])
    }
}

/// The kinds of message the protocols send over their star.
enum SyncMessage: Int {
    /// site -> coordinator: its model (periodic averaging, a reply to a request).
    case model = 0
    /// site -> coordinator: its model, because its local condition failed (gm).
    case violation
    /// coordinator -> site: send your model (gm) or your drift (fgm); no payload.
    case request
    /// coordinator -> site: take this model, the mean of a balancing set (gm).
    case balanced
    /// coordinator -> site: take this model, the average of all, as the new reference.
    case average
    /// site -> coordinator: the increase of its counter (fgm).
    case increment
    /// coordinator -> site: send phi(X_i) (fgm); no payload.
    case poll
    /// site -> coordinator: phi(X_i) (fgm).
    case safeValue
    /// coordinator -> site: a new subround's quantum theta (fgm).
    case quantum
    /// site -> coordinator: its drift X_i = w_i - E (fgm).
    case drift
}

/// One step of a synchronisation protocol after the learners' local updates, at every local node.
/// Package-visible for `bench sync`, which times a silent check alone.
package protocol SynchronizationProtocol: AnyObject {
    /// The reference each local node holds: r (gm), E (fgm), the last average (avg).
    var references: [[Double]] { get }
    /// Runs the protocol's phases for `step`, replacing local models as it says; false when no node
    /// said anything (then no model changed).
    @discardableResult
    func synchronize(step: Int, models: inout [[Double]], counters: inout [SyncCounters]) throws -> Bool
    func checkpoint(node a: Int) -> CheckpointRecord
    func restore(node a: Int, from record: CheckpointRecord) throws
}

/// A protocol whose state at a node is its reference alone (avg, gm): a checkpoint keeps it.
package protocol ReferenceKeeping: SynchronizationProtocol {
    var references: [[Double]] { get set }
}

extension ReferenceKeeping {
    func checkpoint(node a: Int) -> CheckpointRecord {
        var record = CheckpointRecord()
        record.append("reference", references[a])
        return record
    }

    func restore(node a: Int, from record: CheckpointRecord) throws {
        references[a] = try record.doubles("reference", count: references[a].count)
    }
}

/// K local learners (SGD or Adam, `GradientStep`), one per node, each updating on its own stream,
/// kept close by periodic averaging, GM or FGM. The protocol's messages go between the sites and
/// the coordinator over `Network.sparseExchange`: a star around the coordinator, whatever the
/// adjacency. Every learner starts from one common model, as if agreed beforehand, so the first
/// reference is known to all without a message.
public final class SynchronizedLearners: DistributedTrainer {
    public let algorithm: Algorithm
    public let sync: SyncSettings
    private let network: Network
    private var learners: [SGDTrainer]
    package let synchronization: SynchronizationProtocol
    private var counters: [SyncCounters]
    private var step = 0
    private var traceRows: [[Double]] = []

    public init(_ algorithm: Algorithm, settings: DistributedSettings, network: Network) throws {
        precondition(algorithm.hasCoordinator, "\(algorithm) is not a synchronisation protocol")
        let k = network.topology.nodeCount
        guard (0..<k).contains(settings.sync.coordinator) else {
            throw TrainerError.unsupported("--coordinator \(settings.sync.coordinator): must be a node in 0...\(k - 1)")
        }
        self.algorithm = algorithm
        self.sync = settings.sync
        self.network = network
        learners = network.localNodes.map { _ in
            SGDTrainer(model: settings.model, settings: settings.sgd, seed: settings.seed, node: 0)
        }
        counters = network.localNodes.map { _ in SyncCounters() }
        let start = learners[0].parameters
        let star = Star(network: network, coordinator: sync.coordinator)
        switch algorithm {
        case .avg: synchronization = PeriodicAveraging(star: star, start: start)
        case .gm: synchronization = DynamicAveraging(star: star, start: start, sync: sync, seed: settings.seed)
        default:
            synchronization = FunctionalGeometricMonitoring(star: star, start: start, sync: sync)
            for a in counters.indices { (counters[a].rounds, counters[a].subrounds) = (1, 1) }
        }
    }

    public func predict(_ samples: [Sample]) throws -> [Double] {
        try samples.indices.map { try learners[$0].predict(samples[$0]) }
    }

    public func update(_ samples: [Sample]) throws {
        for a in samples.indices { try learners[a].update(samples[a]) }
        step += 1
        if step % sync.every == 0 {
            var models = learners.map { $0.parameters }
            let before = models
            if try synchronization.synchronize(step: step, models: &models, counters: &counters) {
                for a in models.indices where models[a] != before[a] { learners[a].setParameters(models[a]) }
            }
        }
        if sync.traceEvery > 0 && step % sync.traceEvery == 0 { try recordTrace() }
    }

    public var estimates: [[Double]] { learners.map(\.parameters) }

    /// The references (r, E) each local node holds: for tests of the invariants.
    public var references: [[Double]] { synchronization.references }

    public var syncCounters: [SyncCounters] { counters }

    public var diagnostics: [[String: Double]] {
        counters.map { Dictionary(uniqueKeysWithValues: zip(SyncCounters.names, $0.values.map(Double.init))) }
    }

    public static let traceColumns = [
        "step", "divergence", "bytes_per_node", "messages_per_node", "full_syncs", "balancing_syncs", "rounds",
        "subrounds",
    ]

    public var trace: TrainerTrace? {
        network.isReporter && sync.traceEvery > 0 ? TrainerTrace(columns: Self.traceColumns, rows: traceRows) : nil
    }

    /// The divergence (1/k) sum_i ||w_i - w_bar||^2 and the protocol's totals so far, computed at the
    /// reporter from a gather that is not the protocol's traffic (it is not counted).
    private func recordTrace() throws {
        let rows = network.localNodes.indices.map { a in
            learners[a].parameters + counters[a].values.map(Double.init)
                + [Double(network.traffic[a].bytesSent), Double(network.traffic[a].messagesSent)]
        }
        guard let gathered = try network.gatherForReport(rows) else { return }
        let d = learners[0].parameters.count
        let k = Double(gathered.count)
        let mean = average(gathered.map { Array($0[..<d]) })
        let divergence = gathered.map { squaredDistance(Array($0[..<d]), mean) }.reduce(0, +) / k
        let coordinator = SyncCounters(values: gathered[sync.coordinator][d..<(d + 7)].map { Int($0) })
        let bytes = gathered.map { $0[d + 7] }.reduce(0, +) / k
        let messages = gathered.map { $0[d + 8] }.reduce(0, +) / k
        traceRows.append([
            Double(step), divergence, bytes, messages, Double(coordinator.fullSyncs),
            Double(coordinator.balancingSyncs), Double(coordinator.rounds), Double(coordinator.subrounds),
        ])
    }

    public func checkpointState() throws -> [CheckpointRecord] {
        learners.indices.map { a in
            var record = CheckpointRecord()
            record.append("step", step)
            record.append("learner", learners[a].checkpointState())
            record.append("protocol", synchronization.checkpoint(node: a))
            record.append("counters", counters[a].values)
            // The trace lives with the reporter's first node.
            record.append("trace", a == 0 && network.isReporter ? traceRows.flatMap { $0 } : [])
            return record
        }
    }

    public func restoreState(_ states: [CheckpointRecord]) throws {
        guard states.count == learners.count else {
            throw TrainerError.malformedCheckpoint("\(algorithm.rawValue): \(states.count) node states")
        }
        for (a, state) in states.enumerated() {
            try learners[a].restoreState(state.record("learner"))
            try synchronization.restore(node: a, from: state.record("protocol"))
            counters[a] = SyncCounters(values: try state.ints("counters", count: SyncCounters.names.count))
            step = try state.int("step")
            if a == 0 && network.isReporter {
                let flat = try state.doubles("trace")
                let width = Self.traceColumns.count
                guard flat.count % width == 0 else { throw TrainerError.malformedCheckpoint("trace of \(flat.count)") }
                traceRows = stride(from: 0, to: flat.count, by: width).map { Array(flat[$0..<($0 + width)]) }
            }
        }
    }
}

/// The protocol's network: sites and one coordinator. Each phase is one `sparseExchange`.
struct Star {
    let network: Network
    let coordinator: Int
    /// No message from any local node: kept, so that a silent check allocates nothing.
    let silence: [[Message]]
    /// k, stored: reading it through the network copies its topology.
    let nodeCount: Int

    init(network: Network, coordinator: Int) {
        (self.network, self.coordinator) = (network, coordinator)
        silence = network.localNodes.map { _ in [] }
        nodeCount = network.topology.nodeCount
    }
    var localNodes: [Int] { network.localNodes }
    /// The coordinator's index among the local nodes, if this process runs it.
    var coordinatorIndex: Int? { network.localNodes.firstIndex(of: coordinator) }

    func phase(_ outgoing: [[Message]]) throws -> (received: [[Message]], anyMessage: Bool) {
        try network.sparseExchange(outgoing)
    }

    /// One message of `kind` from every local node to the coordinator, or none where `payload` is nil.
    func toCoordinator(_ kind: SyncMessage, _ payload: (Int) -> [Double]?) -> [[Message]] {
        var outgoing = silence
        for a in silence.indices {
            if let payload = payload(a) {
                outgoing[a] = [Message(peer: coordinator, kind: kind.rawValue, payload: payload)]
            }
        }
        return outgoing
    }

    /// `messages` from the coordinator (where this process runs it), nothing from the other nodes.
    func fromCoordinator(_ messages: [Message]) -> [[Message]] {
        guard let c = coordinatorIndex, !messages.isEmpty else { return silence }
        var outgoing = silence
        outgoing[c] = messages
        return outgoing
    }

    /// The same message from the coordinator to every node, itself included (that one is free).
    func toEveryNode(_ kind: SyncMessage, payload: [Double] = []) -> [Message] {
        (0..<nodeCount).map { Message(peer: $0, kind: kind.rawValue, payload: payload) }
    }
}

/// The mean of `models`, summed in the order given (node order everywhere, so every transport
/// gives the same bits).
func average(_ models: [[Double]]) -> [Double] {
    var sum = models[0]
    for model in models.dropFirst() { for j in sum.indices { sum[j] += model[j] } }
    let k = Double(models.count)
    for j in sum.indices { sum[j] /= k }
    return sum
}

func squaredDistance(_ a: [Double], _ b: [Double]) -> Double {
    // Four partial sums in SIMD lanes: one running sum is a chain of dependent adds, four times slower
    // at D in the thousands, where this check must stay a few per cent of a learner's step.
    precondition(a.count == b.count)
    var lanes = SIMD4<Double>()
    let whole = a.count & ~3
    a.withUnsafeBufferPointer { a in
        b.withUnsafeBufferPointer { b in
            for j in stride(from: 0, to: whole, by: 4) {
                let d = SIMD4(a[j], a[j + 1], a[j + 2], a[j + 3]) - SIMD4(b[j], b[j + 1], b[j + 2], b[j + 3])
                lanes += d * d
            }
        }
    }
    var sum = lanes.sum()
    for j in whole..<a.count {
        let d = a[j] - b[j]
        sum += d * d
    }
    return sum
}
