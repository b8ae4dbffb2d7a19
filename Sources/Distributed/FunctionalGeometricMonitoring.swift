import Foundation
import Trainers

/// Functional geometric monitoring (Samoladas and Garofalakis) with the safe function
/// phi(X) = ||X||^2 - Theta on the drift X_i = w_i - E: sum_i phi(X_i) <= 0 means
/// (1/k) sum_i ||w_i - E||^2 <= Theta, which bounds the divergence by Theta.
///
/// A round starts with every site at E (X_i = 0, psi = k phi(0)). A subround starts with the
/// quantum theta = -psi / (2k): each site remembers z_i = phi(X_i) and, after each check, sends
/// the increase of its counter floor((phi(X_i) - z_i) / theta), one integer. When the
/// coordinator's counter exceeds k it polls every phi(X_i) into psi: if psi >= eps k phi(0) the
/// round ends (drifts collected, E += their mean, every site takes E), else a new subround starts.
/// While the counter is at most k, sum_i phi(X_i) < psi + theta (c + k) <= 0.
final class FunctionalGeometricMonitoring: SynchronizationProtocol {
    private let star: Star
    private let threshold: Double
    private let epsilon: Double
    private(set) var references: [[Double]]
    /// Per local node: z_i, the counter c_i, the quantum theta.
    private var subroundStart: [Double]
    private var siteCounters: [Int]
    private var quanta: [Double]
    /// The coordinator's psi and counter c (meaningful where it runs).
    private(set) var psi: Double
    private(set) var counter = 0

    init(star: Star, start: [Double], sync: SyncSettings) {
        self.star = star
        (threshold, epsilon) = (sync.threshold, sync.fgmEpsilon)
        references = star.localNodes.map { _ in start }
        subroundStart = star.localNodes.map { _ in -sync.threshold }
        siteCounters = star.localNodes.map { _ in 0 }
        psi = Double(star.nodeCount) * -sync.threshold
        quanta = star.localNodes.map { _ in sync.threshold / 2 }
    }

    private func safeValue(_ a: Int, _ models: [[Double]]) -> Double {
        squaredDistance(models[a], references[a]) - threshold
    }

    /// floor((phi - z) / theta), kept within +-(k + 1): more than k already triggers a poll, and the
    /// bound keeps an infinite or huge quotient from trapping. theta = 0 (Theta = 0): any increase
    /// exhausts the budget.
    private func counterValue(_ a: Int, _ models: [[Double]]) -> Int {
        let limit = Double(star.nodeCount + 1)
        guard threshold.isFinite else { return 0 }
        let increase = safeValue(a, models) - subroundStart[a]
        let quotient = quanta[a] > 0 ? (increase / quanta[a]).rounded(.down) : (increase > 0 ? limit : 0)
        return Int(min(max(quotient, -limit), limit))
    }

    func synchronize(step: Int, models: inout [[Double]], counters: inout [SyncCounters]) throws -> Bool {
        let k = star.nodeCount
        let increments = star.toCoordinator(.increment) { a -> [Double]? in
            let n = counterValue(a, models)
            guard n > siteCounters[a] else { return nil }
            defer { siteCounters[a] = n }
            counters[a].violations += 1
            return [Double(n - siteCounters[a])]
        }
        let (received, anyIncrement) = try star.phase(increments)
        guard anyIncrement else { return false }
        var poll = [Message]()
        if let c = star.coordinatorIndex {
            counter += received[c].map { Int($0.payload[0]) }.reduce(0, +)
            if counter > k { poll = star.toEveryNode(.poll) }
        }
        let (polled, anyPoll) = try star.phase(star.fromCoordinator(poll))
        guard anyPoll else { return false }
        let (values, _) = try star.phase(star.toCoordinator(.safeValue) { [safeValue($0, models)] })
        var next = [Message]()
        if let c = star.coordinatorIndex {
            psi = values[c].map { $0.payload[0] }.reduce(0, +)
            counter = 0
            let roundEnds = psi >= epsilon * Double(k) * -threshold
            next =
                roundEnds ? star.toEveryNode(.request) : star.toEveryNode(.quantum, payload: [-psi / (2 * Double(k))])
        }
        let (orders, _) = try star.phase(star.fromCoordinator(next))
        var roundEnds = false
        for a in models.indices {
            counters[a].polls += polled[a].count
            let order = orders[a][0]
            if SyncMessage(rawValue: order.kind) == .quantum {
                (quanta[a], subroundStart[a], siteCounters[a]) = (order.payload[0], safeValue(a, models), 0)
                counters[a].subrounds += 1
            } else {
                roundEnds = true
            }
        }
        guard roundEnds else { return true }
        let drifts = star.toCoordinator(.drift) { a in zip(models[a], references[a]).map { $0 - $1 } }
        let (collected, _) = try star.phase(drifts)
        var estimate = [Message]()
        if let c = star.coordinatorIndex {
            // E + the mean of the drifts (not their sum).
            let meanDrift = average(collected[c].map(\.payload))
            estimate = star.toEveryNode(.average, payload: zip(references[c], meanDrift).map { $0 + $1 })
            psi = Double(k) * -threshold
        }
        let (shipped, _) = try star.phase(star.fromCoordinator(estimate))
        for a in models.indices {
            (models[a], references[a]) = (shipped[a][0].payload, shipped[a][0].payload)
            (subroundStart[a], siteCounters[a], quanta[a]) = (-threshold, 0, threshold / 2)
            counters[a].fullSyncs += 1
            counters[a].rounds += 1
            counters[a].subrounds += 1
        }
        return true
    }

    func checkpoint(node a: Int) -> CheckpointRecord {
        var record = CheckpointRecord()
        record.append("reference", references[a])
        record.append("subround_start", [subroundStart[a]])
        record.append("site_counter", siteCounters[a])
        record.append("quantum", [quanta[a]])
        record.append("psi", [psi])
        record.append("counter", counter)
        return record
    }

    func restore(node a: Int, from record: CheckpointRecord) throws {
        references[a] = try record.doubles("reference", count: references[a].count)
        subroundStart[a] = try record.doubles("subround_start", count: 1)[0]
        siteCounters[a] = try record.int("site_counter")
        quanta[a] = try record.doubles("quantum", count: 1)[0]
        psi = try record.doubles("psi", count: 1)[0]
        counter = try record.int("counter")
    }
}
