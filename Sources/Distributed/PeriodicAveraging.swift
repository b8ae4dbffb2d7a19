import Trainers

/// Periodic averaging, the baseline: every b steps every site sends its model to the coordinator,
/// which sends the average back to all (b = 1: continuous averaging). A sync costs 2 (k - 1) D
/// numbers: the coordinator's own model travels nowhere.
final class PeriodicAveraging: ReferenceKeeping {
    private let star: Star
    var references: [[Double]]

    init(star: Star, start: [Double]) {
        self.star = star
        references = star.localNodes.map { _ in start }
    }

    func synchronize(step: Int, models: inout [[Double]], counters: inout [SyncCounters]) throws -> Bool {
        let (up, _) = try star.phase(star.toCoordinator(.model) { models[$0] })
        var down = [Message]()
        if let c = star.coordinatorIndex {
            down = star.toEveryNode(.average, payload: average(up[c].map(\.payload)))
        }
        let (received, _) = try star.phase(star.fromCoordinator(down))
        for a in models.indices {
            models[a] = received[a][0].payload
            references[a] = models[a]
            counters[a].fullSyncs += 1
        }
        return true
    }
}
