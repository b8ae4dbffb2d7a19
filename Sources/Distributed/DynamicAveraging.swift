import Numerics
import Trainers

/// Kamp's dynamic averaging (GM). Every b steps each site checks its local condition
/// ||w_i - r||^2 <= Delta; a violator sends its model to the coordinator, which resolves the
/// violation in the same step: by balancing (average the violators with as few other sites, taken
/// in a random order, as bring their mean within Delta of r; r unchanged, the sum of models kept)
/// or by a full sync (average of all, which becomes r). Balancing falls back to a full sync when
/// the set would exceed half the sites. While every condition holds, the divergence is at most Delta.
final class DynamicAveraging: ReferenceKeeping {
    private let star: Star
    private let threshold: Double
    private let resolution: Resolution
    private let seed: UInt64
    var references: [[Double]]

    init(star: Star, start: [Double], sync: SyncSettings, seed: UInt64) {
        self.star = star
        (threshold, resolution, self.seed) = (sync.threshold, sync.resolution, seed)
        references = star.localNodes.map { _ in start }
    }

    func synchronize(step: Int, models: inout [[Double]], counters: inout [SyncCounters]) throws -> Bool {
        let violations = star.toCoordinator(.violation) { a in
            guard squaredDistance(models[a], references[a]) > threshold else { return nil }
            counters[a].violations += 1
            return models[a]
        }
        let (received, anyViolation) = try star.phase(violations)
        guard anyViolation else { return false }
        var resolver = star.coordinatorIndex.map { c in
            ViolationResolver(
                violations: received[c], coordinatorModel: models[c], reference: references[c], star: star,
                threshold: threshold, balance: resolution == .balance,
                order: RandomStream(seed: seed, node: star.coordinator, step: step, purpose: .balancing))
        }
        // Rounds of (coordinator's messages, sites' replies) until no site has to reply.
        while true {
            let (orders, _) = try star.phase(star.fromCoordinator(resolver?.nextMessages() ?? []))
            var replies = [[Message]](repeating: [], count: models.count)
            for a in models.indices {
                for order in orders[a] {
                    switch SyncMessage(rawValue: order.kind) {
                    case .request:
                        replies[a].append(
                            Message(peer: star.coordinator, kind: SyncMessage.model.rawValue, payload: models[a]))
                    case .balanced: models[a] = order.payload
                    case .average:
                        (models[a], references[a]) = (order.payload, order.payload)
                        counters[a].fullSyncs += 1
                    default: preconditionFailure("gm: unexpected message \(order.kind)")
                    }
                }
            }
            let (answers, anyAnswer) = try star.phase(replies)
            guard anyAnswer else { break }
            if let c = star.coordinatorIndex { resolver?.receive(answers[c]) }
        }
        if let c = star.coordinatorIndex, let balanced = resolver?.balancedSetSize {
            counters[c].balancingSyncs += 1
            counters[c].balancedSites += balanced
        }
        return true
    }
}

/// The coordinator's side of one violation's resolution.
struct ViolationResolver {
    private let star: Star
    private let threshold: Double
    private let reference: [Double]
    /// Models the coordinator holds, by node: its own, the violators', the replies.
    private var known: [Int: [Double]]
    /// B, and the sites that may still join it, in the order they would.
    private var balancingSet: [Int]
    private var candidates: [Int]
    private var full: Bool
    private(set) var balancedSetSize: Int?

    init(
        violations: [Message], coordinatorModel: [Double], reference: [Double], star: Star, threshold: Double,
        balance: Bool, order: RandomStream
    ) {
        (self.star, self.threshold, self.reference, full) = (star, threshold, reference, !balance)
        known = [star.coordinator: coordinatorModel]
        for message in violations { known[message.peer] = message.payload }
        let violators = violations.map(\.peer)
        balancingSet = violators
        // Fisher-Yates from the keyed stream: the same order on every transport.
        var random = order
        var others = (0..<star.nodeCount).filter { !violators.contains($0) }
        for i in stride(from: others.count - 1, to: 0, by: -1) {
            others.swapAt(i, random.nextInt(below: i + 1))
        }
        candidates = others
    }

    /// At most about half the sites are balanced; beyond that a full sync is as cheap.
    private var largestBalancingSet: Int { (star.nodeCount + 1) / 2 }

    /// Requests for the models it still needs, or the resolution's outcome.
    mutating func nextMessages() -> [Message] {
        while !full {
            let members = balancingSet.sorted()
            let mean = average(members.map { known[$0]! })
            if squaredDistance(mean, reference) <= threshold {
                balancedSetSize = members.count
                return members.map { Message(peer: $0, kind: SyncMessage.balanced.rawValue, payload: mean) }
            }
            guard balancingSet.count < largestBalancingSet, !candidates.isEmpty else {
                full = true
                break
            }
            let next = candidates.removeLast()
            balancingSet.append(next)
            if known[next] == nil { return [Message(peer: next, kind: SyncMessage.request.rawValue)] }
        }
        let missing = (0..<star.nodeCount).filter { known[$0] == nil }
        if !missing.isEmpty { return missing.map { Message(peer: $0, kind: SyncMessage.request.rawValue) } }
        return star.toEveryNode(.average, payload: average((0..<star.nodeCount).map { known[$0]! }))
    }

    mutating func receive(_ replies: [Message]) {
        for reply in replies { known[reply.peer] = reply.payload }
    }
}
