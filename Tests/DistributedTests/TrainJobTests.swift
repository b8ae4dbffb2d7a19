import Foundation
import Testing

/// `dlstm train` under real mpirun at several rank counts, odd ones included, against the same
/// run in one process and against the paper's claims.
@Suite("dlstm train under mpirun", .serialized)
struct TrainJobTests {
    func expectSuccess(_ outcome: TrainJob.Outcome) {
        #expect(outcome.status == 0, "exit \(outcome.status): \(outcome.errors)")
    }

    @Test(
        "mpirun and the in-process transport give bit-identical curves",
        arguments: [("dpf", 3), ("dpf", 4), ("dekf", 3), ("dekf", 4)])
    func transportsAgree(algorithm: String, nodes: Int) throws {
        let arguments = ["--algorithm", algorithm, "--samples", "120", "--seed", "11", "--quiet"]
        let mpi = try TrainJob.run(arguments, ranks: nodes)
        let local = try TrainJob.run(arguments, ranks: nil, nodes: nodes)
        expectSuccess(mpi)
        expectSuccess(local)
        for k in 0..<nodes {
            let a = try mpi.curve(node: k), b = try local.curve(node: k)
            #expect(a == b, "node \(k) differs")
            #expect(a.split(separator: "\n").count == 121)
        }
        #expect(try mpi.finalMSE == local.finalMSE)
        #expect(try mpi.summary["transport"] as? String == "mpi")
    }

    @Test(
        "Theorem 1: DPF approaches the centralized PF as s grows, within 10% of its final MSE at s = 10",
        arguments: [4, 5])
    func theorem1(nodes: Int) throws {
        // A small model (n = p = 1, n_theta = 13) that N = 80 particles can learn, so that what is
        // measured is the walk's approximation, not a starved filter; three seeds (three teachers),
        // because a single run's last 10% carries Monte Carlo noise of several percent.
        var distances = [Int: Double]()
        var dpfMSE = 0.0, cpfMSE = 0.0
        for seed in ["1", "2", "3"] {
            let common = [
                "--hidden", "1", "--teacher-input", "1", "--teacher-noise", "0.01", "--samples", "2000", "--seed", seed,
                "--quiet",
            ]
            let centralized = try TrainJob.run(common + ["--algorithm", "cpf"], ranks: nodes)
            expectSuccess(centralized)
            cpfMSE += try centralized.finalMSE / 3
            for s in [1, 3, 10] {
                let dpf = try TrainJob.run(
                    common + ["--algorithm", "dpf", "--walk", "metropolis", "--walk-steps", String(s)], ranks: nodes)
                expectSuccess(dpf)
                var total = 0.0, count = 0
                for k in 0..<nodes {
                    for (a, b) in zip(try dpf.predictions(node: k), try centralized.predictions(node: k)) {
                        total += abs(a - b)
                        count += 1
                    }
                }
                distances[s, default: 0] += total / Double(count) / 3
                if s == 10 { dpfMSE += try dpf.finalMSE / 3 }
            }
        }
        print(
            "K = \(nodes): mean |d_hat DPF - d_hat CPF| at s = 1, 3, 10: \(distances[1]!), \(distances[3]!), \(distances[10]!); "
                + "final MSE DPF(s = 10) \(dpfMSE) vs CPF \(cpfMSE) (means over 3 seeds)")
        #expect(distances[3]! < distances[1]!)
        #expect(distances[10]! < distances[3]!)
        #expect(abs(dpfMSE - cpfMSE) <= 0.1 * cpfMSE)
    }

    @Test("with K = 4, DPF beats the local PF and DEKF beats the local EKF")
    func distributedBeatsLocal() throws {
        let common = ["--samples", "2000", "--seed", "1", "--quiet"]
        var mse = [String: Double]()
        for algorithm in ["pf", "dpf", "ekf", "dekf"] {
            let outcome = try TrainJob.run(common + ["--algorithm", algorithm], ranks: 4)
            expectSuccess(outcome)
            mse[algorithm] = try outcome.finalMSE
        }
        print("final MSE at K = 4: \(mse)")
        #expect(mse["dpf"]! < mse["pf"]!)
        #expect(mse["dekf"]! < mse["ekf"]!)
    }

    @Test("summary.json: particles conserved over every move, traffic and timing per node", arguments: [3, 4, 5])
    func summaryAndConservation(nodes: Int) throws {
        let outcome = try TrainJob.run(
            ["--algorithm", "dpf", "--samples", "40", "--walk-steps", "3", "--particles", "20", "--quiet"], ranks: nodes
        )
        expectSuccess(outcome)
        let summary = try outcome.summary
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
    }

    @Test(
        "bad topologies: one clear line from rank 0, every rank exits 4, no hang",
        arguments: [
            ("0 1 1\n1 0 1\n", "rows of 3 entries"),
            ("0 1 0\n0 0 1\n0 1 0\n", "not symmetric"),
            ("0 1 1\n1 1 1\n1 1 0\n", "self loop"),
            ("0 1 0\n1 0 0\n0 0 0\n", "not connected"),
            ("0 1 1 0\n1 0 1 0\n1 1 0 1\n0 0 1 0\n", "has 4 nodes but there are 3 ranks"),
            ("0 1 x\n1 0 1\n1 1 0\n", ":1: 'x' is not 0 or 1"),
        ])
    func badTopology(matrix: String, expected: String) throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("adjacency-\(UUID().uuidString).txt")
            .path
        try matrix.write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let start = Date()
        let outcome = try TrainJob.run(["--topology", path, "--samples", "5"], ranks: 3, timeout: 60)
        #expect(outcome.status == 4, "exit \(outcome.status): \(outcome.errors)")
        let lines = outcome.errors.split(separator: "\n").filter { $0.contains("dlstm: error:") }
        #expect(lines.count == 1, "\(outcome.errors)")
        #expect(lines.first?.contains(expected) == true, "\(outcome.errors)")
        #expect(Date().timeIntervalSince(start) < 30)
    }

    @Test("an unknown topology name is a missing file, said once")
    func unknownTopology() throws {
        let outcome = try TrainJob.run(["--topology", "hypercube", "--samples", "5"], ranks: 3, timeout: 60)
        #expect(outcome.status == 4)
        #expect(
            outcome.errors.contains(
                "hypercube: no such file (expected a built-in topology name or an adjacency-matrix file)"))
    }
}
