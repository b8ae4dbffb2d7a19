import Distributed
import Foundation
import RunTestSupport
import Testing

@testable import Runs

/// The algorithms' claims, measured through the library in one process (the same numbers as under
/// mpirun, bit for bit: CommandTests checks that).
@Suite("the paper's claims, in-process")
struct AlgorithmClaimTests {
    @Test(
        "Theorem 1: DPF approaches the centralized PF as s grows, within 10% of its final MSE at s = 10",
        arguments: [4, 5])
    func theorem1(nodes: Int) throws {
        // A small model (n = p = 1, n_theta = 13) that N = 80 particles can learn, so that what is
        // measured is the walk's approximation, not a starved filter; three seeds (three teachers),
        // because a single run's last 10% carries Monte Carlo noise of several percent.
        var distances = [Int: Double]()
        var dpfMSE = 0.0, cpfMSE = 0.0
        for seed: UInt64 in [1, 2, 3] {
            let common = { (c: inout TrainingConfiguration) in
                (c.hidden, c.teacherInput, c.teacherNoise) = (1, 1, 0.01)
            }
            let centralized = try runInProcess(teacherRun(.cpf, samples: 2000, seed: seed, common), nodes: nodes)
            cpfMSE += centralized.finalMSE / 3
            for s in [1, 3, 10] {
                let dpf = try runInProcess(
                    teacherRun(.dpf, samples: 2000, seed: seed) {
                        common(&$0)
                        ($0.walk, $0.walkSteps) = (.metropolis, s)
                    }, nodes: nodes)
                var total = 0.0, count = 0
                for (a, b) in zip(dpf.predictions.joined(), centralized.predictions.joined()) {
                    total += abs(a - b)
                    count += 1
                }
                distances[s, default: 0] += total / Double(count) / 3
                if s == 10 { dpfMSE += dpf.finalMSE / 3 }
            }
        }
        print(
            "K = \(nodes): mean |d_hat DPF - d_hat CPF| at s = 1, 3, 10: \(distances[1]!), \(distances[3]!), "
                + "\(distances[10]!); final MSE DPF(s = 10) \(dpfMSE) vs CPF \(cpfMSE) (means over 3 seeds)")
        #expect(distances[3]! < distances[1]!)
        #expect(distances[10]! < distances[3]!)
        #expect(abs(dpfMSE - cpfMSE) <= 0.1 * cpfMSE)
    }

    @Test("with K = 4, DPF beats the local PF and DEKF beats the local EKF")
    func distributedBeatsLocal() throws {
        var mse = [Algorithm: Double]()
        for algorithm in [Algorithm.pf, .dpf, .ekf, .dekf] {
            mse[algorithm] = try runInProcess(teacherRun(algorithm, samples: 2000), nodes: 4).finalMSE
        }
        print("final MSE at K = 4: \(mse)")
        #expect(mse[.dpf]! < mse[.pf]!)
        #expect(mse[.dekf]! < mse[.ekf]!)
    }

    @Test("summary.json: particles conserved over every move, traffic and timing per node", arguments: [3, 4, 5])
    func summaryAndConservation(nodes: Int) throws {
        var control = RunControl()
        control.resultsDirectory = try scratchDirectory()
        _ = try runInProcess(teacherRun(.dpf, samples: 40) { $0.particles = 20 }, nodes: nodes, control: control)
        let data = try Data(contentsOf: URL(fileURLWithPath: control.resultsDirectory! + "/summary.json"))
        let summary = try JSONSerialization.jsonObject(with: data) as! [String: Any]
        #expect(summary["nodes"] as? Int == nodes)
        #expect(summary["samples_per_node"] as? Int == 40)
        let diagnostics = summary["diagnostics"] as! [String: [Double]]
        #expect(diagnostics["particles_held"]!.reduce(0, +) == Double(nodes * 20 * 3 * 40))
        let bytes = summary["bytes_per_node"] as! [Int]
        #expect(bytes.count == nodes && bytes.allSatisfy { $0 > 0 })
        let topology = summary["topology"] as! [String: Any]
        #expect(topology["edges"] as? Int == (nodes == 3 ? 3 : nodes))
        #expect(topology["periodic"] as? NSNumber == NSNumber(value: nodes % 2 == 0))
        let compute = summary["compute_seconds"] as! [String: Double]
        #expect(compute["min"]! > 0 && compute["min"]! <= compute["mean"]! && compute["mean"]! <= compute["max"]!)
        #expect((summary["mse_curve"] as! [[Double]]).last?.first == 40)
        #expect(summary["transport"] as? String == "in-process")
        // The SMC trace: 40 rows a node; the walk moves particles, but every step ends with K N of them.
        let smc = summary["smc"] as! [String: Any]
        let essFraction = smc["mean_ess_fraction"] as! Double
        #expect(essFraction > 0 && essFraction <= 1 && smc["resampling_rate"] as? Double == 1)
        let traces = try (0..<nodes).map { k in
            try String(contentsOfFile: control.resultsDirectory! + "/smc-node-\(k).csv", encoding: .utf8)
                .split(separator: "\n").dropFirst().map { $0.split(separator: ",").map { Double($0)! } }
        }
        #expect(traces.allSatisfy { $0.count == 40 })
        for t in 0..<40 {
            #expect(traces.map { $0[t][4] }.reduce(0, +) == Double(nodes * 20), "step \(t + 1)")
            #expect(traces.allSatisfy { $0[t][1] >= 1 && $0[t][1] <= $0[t][4] })
        }
    }
}
