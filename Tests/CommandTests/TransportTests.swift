import Foundation
import ProcessTestSupport
import Testing

/// `dlstm train` under real mpirun at several rank counts, odd ones included, against the same
/// run in one process, and the collective refusal of topologies the ranks cannot use. The
/// algorithms' claims (Theorem 1, DPF > PF) are tested in-process through the library (RunsTests).
@Suite("dlstm train under mpirun", .serialized)
struct TransportTests {
    func expectSuccess(_ outcome: Job.Outcome) {
        #expect(outcome.status == 0, "exit \(outcome.status): \(outcome.errors)")
    }

    @Test(
        "mpirun and the in-process transport give bit-identical curves (some with the direct link)",
        arguments: [
            ("dpf", 3, false), ("dpf", 4, true), ("dekf", 3, true), ("dekf", 4, false), ("delm", 3, false),
            ("delm", 4, true),
        ])
    func transportsAgree(algorithm: String, nodes: Int, directLink: Bool) throws {
        let arguments =
            ["--algorithm", algorithm, "--samples", "120", "--seed", "11", "--quiet"]
            + (algorithm == "delm" ? ["--hidden", "16", "--sync-every", "5", "--topology", "line"] : [])
            + (directLink ? ["--direct-link"] : [])
        let mpi = try Job.train(arguments, ranks: nodes)
        let local = try Job.train(arguments, ranks: nil, nodes: nodes)
        expectSuccess(mpi)
        expectSuccess(local)
        for k in 0..<nodes {
            let a = try mpi.curve(node: k), b = try local.curve(node: k)
            #expect(a == b, "node \(k) differs")
            #expect(a.split(separator: "\n").count == 121)
        }
        #expect(try mpi.finalMSE == local.finalMSE)
        #expect(try mpi.summary["transport"] as? String == "mpi")
        // n = p = 2: 42 parameters, 44 with v (an ELM's link is a feature, not part of its LSTM).
        let linked = directLink && algorithm != "delm"
        #expect(try mpi.summary["n_theta"] as? Int == (algorithm == "delm" ? 16 * 4 * 18 + 80 : linked ? 44 : 42))
    }

    @Test(
        "8 nodes on 1, 2, 3, 4 and 8 ranks (--nodes 8): the in-process curves and counts, bit for bit",
        arguments: ["dpf", "dekf"])
    func nodesOnFewerRanks(algorithm: String) throws {
        let arguments = [
            "--algorithm", algorithm, "--samples", "60", "--seed", "11", "--quiet", "--walk", "metropolis",
        ]
        let local = try Job.train(arguments, ranks: nil, nodes: 8)
        expectSuccess(local)
        for ranks in [1, 2, 3, 4, 8] {
            let mpi = try Job.train(arguments + ["--nodes", "8"], ranks: ranks)
            expectSuccess(mpi)
            for k in 0..<8 { #expect(try mpi.curve(node: k) == local.curve(node: k), "\(ranks) ranks: node \(k)") }
            #expect(try mpi.summary["bytes_per_node"] as? [Int] == local.summary["bytes_per_node"] as? [Int])
            #expect(try mpi.summary["processes"] as? Int == ranks)
        }
    }

    @Test(
        "8 nodes on fewer ranks: the coordinator protocols, the centralized PF over a tree, the ELM, diffusion SGD",
        arguments: [("fgm", 3), ("cpf", 5), ("delm", 3), ("dsgd", 5)])
    func otherAlgorithmsOnFewerRanks(algorithm: String, ranks: Int) throws {
        let options: [String: [String]] = [
            "fgm": ["--optimizer", "adam", "--learning-rate", "0.01", "--threshold", "0.003", "--coordinator", "5"],
            "cpf": ["--particles", "20", "--reduce", "tree"], "delm": ["--hidden", "16", "--sync-every", "5"],
        ]
        let arguments =
            ["--algorithm", algorithm, "--samples", "100", "--seed", "3", "--quiet"] + options[algorithm, default: []]
        let local = try Job.train(arguments, ranks: nil, nodes: 8)
        let mpi = try Job.train(arguments + ["--nodes", "8"], ranks: ranks)
        expectSuccess(local)
        expectSuccess(mpi)
        for k in 0..<8 { #expect(try mpi.curve(node: k) == local.curve(node: k), "node \(k)") }
        #expect(try mpi.summary["messages_per_node"] as? [Int] == local.summary["messages_per_node"] as? [Int])
        if algorithm == "fgm" { #expect((try mpi.summary["sync"] as? [String: Any])?["full_syncs"] as? Int ?? 0 > 0) }
    }

    @Test("a checkpoint of 8 nodes written by 4 ranks resumes on 2 and on 8 ranks: the uninterrupted curves")
    func checkpointOnOtherRankCounts() throws {
        let arguments = ["--algorithm", "dpf", "--samples", "80", "--seed", "11", "--quiet", "--nodes", "8"]
        let whole = try Job.train(arguments, ranks: 4)
        expectSuccess(whole)
        let checkpoints = try Job.scratchDirectory().path
        let crashed = try Job.train(
            arguments + ["--checkpoint-dir", checkpoints, "--checkpoint-every", "20", "--inject-failure", "5:50"],
            ranks: 4)
        #expect(crashed.status != 0)
        #expect(try String(contentsOfFile: checkpoints + "/latest", encoding: .utf8) == "step-40\n")
        let copy = try Job.scratchDirectory().appendingPathComponent("copy").path
        try FileManager.default.copyItem(atPath: checkpoints, toPath: copy)
        for (ranks, directory) in [(2, checkpoints), (8, copy)] {
            let resumed = try Job.train(arguments + ["--checkpoint-dir", directory, "--resume"], ranks: ranks)
            expectSuccess(resumed)
            for k in 0..<8 { #expect(try resumed.curve(node: k) == whole.curve(node: k), "\(ranks) ranks: node \(k)") }
        }
    }

    @Test(
        "cpf --reduce tree under mpirun: the curves of --reduce allgather in one process, bit for bit",
        arguments: [3, 4, 5])
    func centralizedTree(nodes: Int) throws {
        let arguments = [
            "--algorithm", "cpf", "--samples", "60", "--seed", "11", "--quiet", "--particles", "20",
            "--observation-noise", "auto",
        ]
        let mpi = try Job.train(arguments + ["--reduce", "tree"], ranks: nodes)
        let local = try Job.train(arguments + ["--reduce", "allgather"], ranks: nil, nodes: nodes)
        expectSuccess(mpi)
        expectSuccess(local)
        for k in 0..<nodes { #expect(try mpi.curve(node: k) == local.curve(node: k), "node \(k) differs") }
        // 2 (K - 1) messages a step over the tree against K (K - 1) for the allgather.
        let treeBytes = (try mpi.summary["bytes_per_node"] as! [Int]).reduce(0, +)
        let gatheredBytes = (try local.summary["bytes_per_node"] as! [Int]).reduce(0, +)
        #expect(treeBytes * nodes == gatheredBytes * 2)
    }

    @Test(
        "avg, gm, fgm over point-to-point MPI: the same curves, counters, bytes and trace as in one process",
        arguments: [("avg", 3, false), ("gm", 3, false), ("gm", 4, true), ("fgm", 3, true), ("fgm", 4, false)])
    func protocolsAgree(algorithm: String, nodes: Int, directLink: Bool) throws {
        // Coordinator 1, so the coordinator is not the reporting rank; Adam, a threshold small enough
        // that the protocols act.
        let arguments =
            [
                "--algorithm", algorithm, "--samples", "300", "--seed", "11", "--quiet", "--coordinator", "1",
                "--optimizer", "adam", "--learning-rate", "0.01", "--threshold", "0.003",
            ] + (directLink ? ["--direct-link"] : [])
        let mpi = try Job.train(arguments, ranks: nodes)
        let local = try Job.train(arguments, ranks: nil, nodes: nodes)
        expectSuccess(mpi)
        expectSuccess(local)
        for k in 0..<nodes { #expect(try mpi.curve(node: k) == local.curve(node: k), "node \(k) differs") }
        let (a, b) = (try mpi.summary, try local.summary)
        #expect(a["n_theta"] as? Int == (directLink ? 44 : 42))
        #expect(a["bytes_per_node"] as? [Int] == b["bytes_per_node"] as? [Int])
        #expect(a["messages_per_node"] as? [Int] == b["messages_per_node"] as? [Int])
        let (syncA, syncB) = (a["sync"] as! [String: Any], b["sync"] as! [String: Any])
        #expect(syncA["full_syncs"] as? Int == syncB["full_syncs"] as? Int)
        #expect((syncA["full_syncs"] as? Int ?? 0) > 0)
        #expect(try mpi.file("sync-trace.csv") == local.file("sync-trace.csv"))
    }

    @Test("elm fit under mpirun at 3 and 4 ranks: the in-process readout's RMSE, bit for bit", arguments: [3, 4])
    func elmFitAgrees(nodes: Int) throws {
        let arguments = ["elm", "fit", "--hidden", "24", "--samples", "90", "--topology", "line"]
        let scratch = try Job.scratchDirectory()
        let mpi = try Job.dlstm(arguments + ["--out", scratch.appendingPathComponent("mpi").path], ranks: nodes)
        let local = try Job.dlstm(
            arguments + ["--out", scratch.appendingPathComponent("local").path, "--in-process", String(nodes)],
            ranks: nil)
        expectSuccess(mpi)
        expectSuccess(local)
        #expect(mpi.output.contains("held out"))
        func summary(_ name: String) throws -> [String: Any] {
            try JSONSerialization.jsonObject(
                with: Data(contentsOf: scratch.appendingPathComponent("\(name)/summary.json"))) as! [String: Any]
        }
        let (a, b) = (try summary("mpi"), try summary("local"))
        #expect(a["train_rmse"] as? Double == b["train_rmse"] as? Double)
        #expect(a["test_rmse"] as? Double == b["test_rmse"] as? Double)
        #expect(a["train_rows"] as? Int == nodes * 81)
        // The fitted model, written like every run's, is the same file.
        let model = { (name: String) in
            try Data(contentsOf: scratch.appendingPathComponent("\(name)/model.safetensors"))
        }
        #expect(try model("mpi") == model("local"))
        #expect(try model("mpi").count > 8 * 24)
    }

    @Test("elm fit with --nodes 6 on 1, 2 and 4 ranks: the in-process model and RMSE, bit for bit")
    func elmFitNodesOnFewerRanks() throws {
        let arguments = ["elm", "fit", "--hidden", "12", "--samples", "60", "--topology", "ring"]
        let scratch = try Job.scratchDirectory()
        func fitted(_ name: String) throws -> (model: Data, summary: [String: Any]) {
            let directory = scratch.appendingPathComponent(name)
            return (
                try Data(contentsOf: directory.appendingPathComponent("model.safetensors")),
                try JSONSerialization.jsonObject(
                    with: Data(contentsOf: directory.appendingPathComponent("summary.json"))) as! [String: Any]
            )
        }
        let local = try Job.dlstm(
            arguments + ["--out", scratch.appendingPathComponent("local").path, "--in-process", "6"], ranks: nil)
        expectSuccess(local)
        let expected = try fitted("local")
        #expect(expected.summary["nodes"] as? Int == 6)
        for ranks in [1, 2, 4] {
            let mpi = try Job.dlstm(
                arguments + ["--out", scratch.appendingPathComponent("r\(ranks)").path, "--nodes", "6"], ranks: ranks)
            expectSuccess(mpi)
            let got = try fitted("r\(ranks)")
            #expect(got.model == expected.model, "\(ranks) ranks")
            #expect(got.summary["nodes"] as? Int == 6)
            #expect(got.summary["train_rmse"] as? Double == expected.summary["train_rmse"] as? Double)
            #expect(got.summary["bytes_per_node"] as? [Int] == expected.summary["bytes_per_node"] as? [Int])
        }
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
        let outcome = try Job.train(["--topology", path, "--samples", "5"], ranks: 3, timeout: 60)
        #expect(outcome.status == 4, "exit \(outcome.status): \(outcome.errors)")
        let lines = outcome.errorLines
        #expect(lines.count == 1, "\(outcome.errors)")
        #expect(lines.first?.contains(expected) == true, "\(outcome.errors)")
        #expect(Date().timeIntervalSince(start) < 30)
    }

    @Test("an unknown topology name is a missing file, said once")
    func unknownTopology() throws {
        let outcome = try Job.train(["--topology", "hypercube", "--samples", "5"], ranks: 3, timeout: 60)
        #expect(outcome.status == 4)
        #expect(
            outcome.errors.contains(
                "hypercube: no such file (expected a built-in topology name or an adjacency-matrix file)"))
    }
}
