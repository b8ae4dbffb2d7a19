import Foundation
import ProcessTestSupport
import Testing

/// Checkpoint and restart under real mpirun: a run stopped by SIGUSR1 and resumed must write the
/// same curves, bit for bit, as the same run left alone. Every algorithm's resume, crashes and
/// refused checkpoints are tested in-process through the library (RunsTests).
@Suite("checkpoint and restart", .serialized)
struct CheckpointTests {
    func curves(_ outcome: Job.Outcome, nodes: Int) throws -> [String] {
        try (0..<nodes).map { try outcome.curve(node: $0) }
    }

    @Test(
        "SIGUSR1 on one rank: every rank stops at one step, exits 75, and --resume continues bit for bit",
        arguments: [("dpf", 3), ("dekf", 4)])
    func stopAndResume(algorithm: String, ranks: Int) throws {
        // Long enough that the stop, agreed at the next collective check (about every 0.25 s),
        // comes well before the end.
        let common = ["--algorithm", algorithm, "--samples", "3000", "--seed", "9", "--walk", "metropolis", "--quiet"]
        let whole = try Job.train(common, ranks: ranks)
        #expect(whole.status == 0, "\(whole.errors)")
        let checkpoints = try Job.scratchDirectory().path
        let scratch = try Job.scratchDirectory()
        let out = scratch.appendingPathComponent("out").path
        let stopped = try Job.dlstm(
            ["train"] + common + ["--out", out, "--checkpoint-dir", checkpoints, "--signal-at-step", "100"],
            ranks: ranks, directory: scratch)
        #expect(stopped.status == 75, "\(stopped.errors)")
        #expect(stopped.errors.contains("dlstm: stopped after step"), "\(stopped.errors)")
        #expect(!FileManager.default.fileExists(atPath: out + "/summary.json"))  // no results from a stopped run
        let latest = try String(contentsOfFile: checkpoints + "/latest", encoding: .utf8)
        let step = Int(latest.trimmingCharacters(in: .whitespacesAndNewlines).dropFirst("step-".count))!
        #expect(step >= 100 && step < 3000)
        for rank in 0..<ranks {
            #expect(FileManager.default.fileExists(atPath: "\(checkpoints)/step-\(step)/node-\(rank).ckpt"))
        }

        let resumed = try Job.dlstm(
            ["train"] + common + ["--out", out, "--checkpoint-dir", checkpoints, "--resume"], ranks: ranks,
            directory: scratch)
        #expect(resumed.status == 0, "\(resumed.errors)")
        #expect(try curves(resumed, nodes: ranks) == curves(whole, nodes: ranks))
        let bytes = { (outcome: Job.Outcome) in try outcome.summary["bytes_per_node"] as! [Int] }
        #expect(try bytes(resumed) == bytes(whole))
    }

    @Test("a byte flipped in one rank's newest checkpoint: every rank falls back to the one before, bit for bit")
    func damagedCheckpointOnOneRank() throws {
        let common = ["--algorithm", "dpf", "--samples", "200", "--seed", "9", "--quiet"]
        let whole = try Job.train(common, ranks: 3)
        #expect(whole.status == 0, "\(whole.errors)")
        let checkpoints = try Job.scratchDirectory().path
        let scratch = try Job.scratchDirectory()
        let out = scratch.appendingPathComponent("out").path
        let crashed = try Job.dlstm(
            ["train"] + common + ["--out", out, "--checkpoint-dir", checkpoints, "--checkpoint-every", "50"]
                + ["--inject-failure", "2:180"], ranks: 3, directory: scratch)
        #expect(crashed.status != 0)
        let file = URL(fileURLWithPath: checkpoints + "/step-150/node-1.ckpt")
        var data = try Data(contentsOf: file)
        data[data.count / 2] ^= 0x04
        try data.write(to: file)
        let arguments = ["train"] + common.dropLast() + ["--out", out, "--checkpoint-dir", checkpoints, "--resume"]
        let resumed = try Job.dlstm(arguments, ranks: 3, directory: scratch)
        #expect(resumed.status == 0, "\(resumed.errors)")
        #expect(resumed.output.contains("resuming after step 100 from \(checkpoints)/step-100"), "\(resumed.output)")
        #expect(resumed.output.contains("step-150/node-1.ckpt: damaged checkpoint"), "\(resumed.output)")
        #expect(try curves(resumed, nodes: 3) == curves(whole, nodes: 3))
        // Both kept checkpoints damaged (on different ranks): one line, status 3 on every rank.
        let older = URL(fileURLWithPath: checkpoints + "/step-100/node-2.ckpt")
        var olderData = try Data(contentsOf: older)
        olderData[20] ^= 0x01
        try olderData.write(to: older)
        let refused = try Job.dlstm(arguments, ranks: 3, directory: scratch)
        #expect(refused.status == 3, "\(refused.errors)")
        #expect(
            refused.errorLines.count == 1 && refused.errors.contains("verifies on every process"), "\(refused.errors)")
        let inspected = try Job.dlstm(["checkpoint", "inspect", checkpoints], ranks: nil)
        #expect(inspected.status == 3 && inspected.output.contains("node-1.ckpt"), "\(inspected.output)")
        #expect(inspected.output.contains("--resume would refuse"), "\(inspected.output)")
    }

    @Test("a real SIGUSR1 sent to mpirun reaches the ranks, which checkpoint and exit 75")
    func signalThroughMpirun() throws {
        let checkpoints = try Job.scratchDirectory().path
        let scratch = try Job.scratchDirectory()
        let process = Process()
        // The test runner's threads block signals, and a spawned process inherits the mask: start
        // mpirun as a shell would, with SIGUSR1 unblocked and at its default disposition.
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [
            "python3", "-c",
            "import os, signal, sys; signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGUSR1]); "
                + "signal.signal(signal.SIGUSR1, signal.SIG_DFL); os.execv(sys.argv[1], sys.argv[1:])",
            Job.repositoryRoot.appendingPathComponent("scripts/mpirun-local").path, "--timeout", "120", "-np", "3",
            Job.dlstmBinary, "train", "--algorithm", "dekf", "--samples", "1000000",
            "--progress-every", "0.2", "--checkpoint-dir", checkpoints, "--out",
            scratch.appendingPathComponent("out").path,
        ]
        let log = scratch.appendingPathComponent("stdout")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        process.standardOutput = try FileHandle(forWritingTo: log)
        process.standardError = FileHandle.nullDevice
        try process.run()
        // Signal once training runs (a progress line is out): earlier, mpirun has no ranks to forward it to.
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline, !((try? String(contentsOf: log, encoding: .utf8)) ?? "").contains(" step ") {
            Thread.sleep(forTimeInterval: 0.1)
        }
        kill(process.processIdentifier, SIGUSR1)
        process.waitUntilExit()
        #expect(process.terminationStatus == 75)
        #expect(FileManager.default.fileExists(atPath: checkpoints + "/latest"))
    }

    /// Starts `dlstm train ARGUMENTS` under mpirun in a session of its own (as a shell starts a
    /// foreground job), waits until training runs, and sends `signal` to mpirun, or with `group` to
    /// its whole process group as Ctrl-C in a terminal does. Open MPI's mpirun does not forward
    /// SIGTERM or SIGINT: it ends the job itself, sending the ranks SIGTERM after
    /// odls_base_sigkill_timeout seconds and SIGKILL as long after (2 here; 1 by default).
    func signalled(_ signal: Int32, group: Bool, ranks: Int?, _ arguments: [String]) throws -> (
        status: Int32, errors: String
    ) {
        let scratch = try Job.scratchDirectory()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments =
            [
                "OMPI_MCA_odls_base_sigkill_timeout=2", "python3", "-c",
                "import os, signal, sys\ntry: os.setsid()\nexcept OSError: pass  # already a group leader\n"
                    + "signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGTERM, signal.SIGINT, signal.SIGUSR1]); "
                    + "[signal.signal(s, signal.SIG_DFL) for s in (signal.SIGTERM, signal.SIGINT)]; "
                    + "os.execv(sys.argv[1], sys.argv[1:])",
            ]
            + (ranks.map {
                [
                    Job.repositoryRoot.appendingPathComponent("scripts/mpirun-local").path, "--timeout", "120", "-np",
                    String($0),
                ]
            } ?? []) + [Job.dlstmBinary, "train", "--progress-every", "0.2"] + arguments
        let log = scratch.appendingPathComponent("stdout"), errors = scratch.appendingPathComponent("stderr")
        for file in [log, errors] { _ = FileManager.default.createFile(atPath: file.path, contents: nil) }
        process.standardOutput = try FileHandle(forWritingTo: log)
        process.standardError = try FileHandle(forWritingTo: errors)
        try process.run()
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline, !((try? String(contentsOf: log, encoding: .utf8)) ?? "").contains(" step ") {
            Thread.sleep(forTimeInterval: 0.1)
        }
        kill(group ? -process.processIdentifier : process.processIdentifier, signal)
        process.waitUntilExit()
        return (process.terminationStatus, try String(contentsOf: errors, encoding: .utf8))
    }

    @Test(
        "SIGTERM to mpirun, or Ctrl-C to its process group: every rank checkpoints at one step; --resume continues",
        arguments: [(SIGTERM, false, 3), (SIGINT, true, 4)])
    func terminateAndResume(signal: Int32, group: Bool, ranks: Int) throws {
        let common = ["--algorithm", "dekf", "--samples", "60000", "--seed", "5"]
        let whole = try Job.train(common + ["--quiet"], ranks: ranks)
        #expect(whole.status == 0, "\(whole.errors)")
        let checkpoints = try Job.scratchDirectory().path
        let out = try Job.scratchDirectory().appendingPathComponent("out").path
        let stopped = try signalled(
            signal, group: group, ranks: ranks, common + ["--checkpoint-dir", checkpoints, "--out", out])
        // mpirun starts the ranks in process groups of their own: Ctrl-C, like a SIGTERM to mpirun,
        // comes to them as mpirun's SIGTERM.
        #expect(stopped.errors.contains("on SIGTERM; checkpoint in"), "\(stopped.errors)")
        // mpirun, itself signalled, reports 1 whatever the ranks did (Open MPI ends the job).
        #expect(stopped.status != 0)
        #expect(FileManager.default.fileExists(atPath: checkpoints + "/latest"))
        #expect(!FileManager.default.fileExists(atPath: out + "/summary.json"))
        let resumed = try Job.dlstm(
            ["train"] + common + ["--quiet", "--checkpoint-dir", checkpoints, "--out", out, "--resume"], ranks: ranks)
        #expect(resumed.status == 0, "\(resumed.errors)")
        for k in 0..<ranks {
            let curve = try String(contentsOfFile: out + "/node-\(k).csv", encoding: .utf8)
            #expect(try curve == whole.curve(node: k), "node \(k)")
        }
    }

    @Test(
        "without checkpoints, SIGTERM and SIGINT stop every node at one step: one line, 128 + the signal, results kept",
        arguments: [(SIGTERM, 3), (SIGINT, nil), (SIGTERM, nil)])
    func stopWithoutCheckpoints(signal: Int32, ranks: Int?) throws {
        let arguments = ["--algorithm", "dekf", "--samples", "60000", "--seed", "5"]
        let earlier = try Job.train(arguments + ["--quiet"], ranks: nil, nodes: 3)
        #expect(earlier.status == 0, "\(earlier.errors)")
        let summary = try earlier.file("summary.json")
        let stopped = try signalled(
            signal, group: true, ranks: ranks,
            arguments + ["--out", earlier.directory.path, "--overwrite"] + (ranks == nil ? ["--in-process", "3"] : []))
        let name = signal == SIGINT && ranks == nil ? "SIGINT" : "SIGTERM"
        let lines = stopped.errors.split(separator: "\n").filter { $0.contains("dlstm: ") }
        #expect(lines.count == 1 && lines[0].contains("on \(name), without a checkpoint"), "\(stopped.errors)")
        // Under mpirun the status is mpirun's own (it was signalled too); alone it is dlstm's.
        if ranks == nil { #expect(stopped.status == 128 + signal, "\(stopped.errors)") }
        #expect(try earlier.file("summary.json") == summary)
    }

    @Test("--resume without a checkpoint, and checkpoints of an algorithm that has none, are one-line errors")
    func refusals() throws {
        let empty = try Job.scratchDirectory().path
        let none = try Job.train(
            ["--algorithm", "dpf", "--samples", "20", "--checkpoint-dir", empty, "--resume"], ranks: 3)
        #expect(none.status == 2)
        #expect(none.errors.contains("--resume: no checkpoint in \(empty)"), "\(none.errors)")
        let unsupported = try Job.train(
            ["--algorithm", "cpf", "--samples", "20", "--checkpoint-dir", empty], ranks: 3)
        #expect(unsupported.status == 2)
        #expect(unsupported.errors.contains("not supported yet: checkpoints of cpf"), "\(unsupported.errors)")
    }
}
