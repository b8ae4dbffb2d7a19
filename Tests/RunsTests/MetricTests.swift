import Distributed
import Testing

@testable import Runs

/// The metric definitions of summary.json and every table, on records made by hand.
@Suite("metric definitions")
struct MetricTests {
    /// Two nodes, 20 steps; node k's prediction error at step t is `residual(k, t)` (labels 0).
    func report(_ residual: (Int, Int) -> Double) throws -> RunReport {
        let records = (0..<2).map { k in
            NodeRecord(
                node: k, predictions: (0..<20).map { residual(k, $0) }, labels: [Double](repeating: 0, count: 20),
                traffic: Traffic(), computeSeconds: 0, diagnostics: [:])
        }
        let configuration = TrainingConfiguration()
        let topology = try Topology.ring(2)
        return RunReport(
            records: records, configuration: configuration, label: "x",
            settings: configuration.distributedSettings(inputSize: 2), topology: topology,
            walk: RandomWalk(topology: topology, kind: .simple), transport: "in-process", wallSeconds: 1, processes: 1)
    }

    @Test("a spread's mean lies between its min and max, even where the division rounds outside")
    func spreadOrdered() {
        let equal = RunSummary.Spread([0.1, 0.1, 0.1])
        #expect(equal.min == 0.1 && equal.mean == 0.1 && equal.max == 0.1)
        let uneven = RunSummary.Spread([1, 2, 6])
        #expect(uneven.min == 1 && uneven.mean == 3 && uneven.max == 6)
    }

    @Test("final MSE: the last 10% of steps, averaged over nodes")
    func finalMSE() throws {
        // Node 0's residuals are t, node 1's 2t: over the last two steps (18, 19) the squared errors
        // average 342.5 and 1370.
        let report = try report { k, t in Double((k + 1) * t) }
        #expect(report.steps == 20)
        #expect(report.finalMSE == (342.5 + 1370) / 2)
    }

    @Test("time-averaged MSE: (1/t) sum of squared errors up to t, averaged over nodes")
    func timeAveraged() throws {
        let report = try report { k, t in k == 0 ? 1 : Double(t % 2) * 2 }
        let curve = report.timeAveragedMSE
        #expect(curve[0] == 0.5)  // node 0: 1, node 1: 0
        #expect(curve[1] == 1.5)  // node 0: 1, node 1: (0 + 4) / 2
        #expect(curve[19] == 1.5)
    }

    @Test("samples to within 10%: the first step whose trailing-window mean is within 1.1 times the final MSE")
    func samplesToWithin() throws {
        // Squared errors 9 for 10 steps, then 1: the 2-step window first reaches 1.1 at step 12.
        let report = try report { _, t in t < 10 ? 3 : 1 }
        #expect(report.finalMSE == 1)
        #expect(report.samplesToWithin10Percent == 12)
        #expect(firstStepWithin([5, 5, 5], window: 2, of: 1, tolerance: 0.1) == 3)  // never: the last step
        #expect(firstStepWithin([3, 1, 1], window: 1, of: 1, tolerance: 0) == 2)
    }
}
