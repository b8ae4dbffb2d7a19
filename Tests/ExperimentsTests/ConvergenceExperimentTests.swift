import Distributed
import Foundation
import RunTestSupport
import Runs
import Testing

@testable import Experiments

/// `dlstm experiment convergence`, small.
@Suite("the convergence experiment")
struct ConvergenceExperimentTests {
    @Test("the DPF comes nearer the centralized PF with more moves; the table, csv and figure are written")
    func smallRun() throws {
        var experiment = ConvergenceExperiment()
        (experiment.nodes, experiment.topologies, experiment.walks) = (5, ["ring"], [.metropolis])
        (experiment.moves, experiment.particles, experiment.samples) = ([1, 10], [40], 150)
        let points = try experiment.measure()
        #expect(points.count == 2)
        #expect(points[1].distance < points[0].distance, "s = 1: \(points[0].distance), s = 10: \(points[1].distance)")
        #expect(points.allSatisfy { $0.cpfMSE == points[0].cpfMSE && $0.slem > 0 && $0.slem < 1 })
        let directory = try scratchDirectory()
        let table = try experiment.write(points, to: directory)
        #expect(table.contains("| ring | metropolis | 40 | 10 |"))
        let csv = try String(contentsOfFile: directory + "/table.csv", encoding: .utf8)
        #expect(csv.split(separator: "\n").count == 3)
        #expect(FileManager.default.fileExists(atPath: directory + "/convergence.svg"))
    }

    @Test("the smallest s within 10%: per walk and N, nil when none is")
    func smallestWithin() {
        func point(_ walk: WalkKind, _ n: Int, _ s: Int, _ dpf: Double) -> ConvergenceExperiment.Point {
            .init(topology: "ring", walk: walk, particles: n, moves: s, slem: 0.5, distance: 0, dpfMSE: dpf, cpfMSE: 1)
        }
        let points = [
            point(.simple, 80, 1, 1.5), point(.simple, 80, 3, 1.05), point(.simple, 80, 5, 1.2),
            point(.lazy, 80, 1, 1.3), point(.lazy, 80, 3, 1.2),
        ]
        let smallest = ConvergenceExperiment.smallestWithin10Percent(points)
        #expect(smallest.count == 2)
        #expect(smallest[0].0 == "ring" && smallest[0].1 == .simple && smallest[0].3 == 3)
        #expect(smallest[1].1 == .lazy && smallest[1].3 == nil)
    }
}
