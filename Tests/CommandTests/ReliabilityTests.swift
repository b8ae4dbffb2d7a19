import Foundation
import ProcessTestSupport
import Testing

/// Bad input, injected failures and timeouts under real mpirun: every case must end the whole job
/// promptly, with one line from rank 0 and the exit status documented for its kind.
@Suite("reliability: bad input, failures, timeouts", .serialized)
struct ReliabilityTests {
    static func write(_ text: String, name: String) throws -> String {
        let path = try Job.scratchDirectory().appendingPathComponent(name).path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// (what, arguments, exit status, text the error line must contain)
    static let cases: [(String, [String], Int32, String)] = {
        var cases: [(String, [String], Int32, String)] = [
            (
                "missing data file", ["--data", "/nonexistent/series.csv", "--column", "x"], 3,
                "/nonexistent/series.csv: cannot open"
            ),
            ("unknown data format", ["--data", "/etc/hostname"], 3, "unknown data format"),
            ("walk steps 0", ["--walk-steps", "0"], 2, "--walk-steps 0: must be at least 1"),
            ("no particles", ["--particles", "0"], 2, "--particles 0: must be at least 1"),
            (
                "negative noise variance", ["--observation-noise=-1"], 2,
                "--observation-noise -1.0: must be a finite variance > 0"
            ),
            ("zero learning rate", ["--learning-rate", "0"], 2, "--learning-rate 0.0: must be positive and finite"),
            ("not a number", ["--particles", "many"], 2, "The value 'many' is invalid for '--particles"),
            ("unknown option", ["--partcles", "5"], 2, "Unknown option '--partcles'"),
            (
                "unknown algorithm", ["--algorithm", "adam"], 2,
                "The value 'adam' is invalid for '--algorithm <algorithm>'. Please provide one of 'sgd', 'ekf', 'pf'"
            ),
            (
                "Adam's beta1 out of range", ["--optimizer", "adam", "--beta1", "1.5"], 2,
                "--beta1 1.5: must be in [0, 1)"
            ),
            ("no samples per batch", ["--batch", "0"], 2, "--batch 0: must be at least 1"),
            // A negative value after a space: ArgumentParser alone reads it as an option ("Missing value").
            ("negative count", ["--walk-steps", "-5"], 2, "--walk-steps -5: must be at least 1"),
            // Refused before anything is allocated (it used to be a crash trace, or a run that never ended).
            ("memory: a huge model", ["--hidden", "100000"], 2, "memory: dpf at --hidden 100000"),
            ("memory: too many particles", ["--particles", "1000000000"], 2, "N = 1000000000 particles"),
            ("negative variance, spaced", ["--jitter", "-0.5"], 2, "--jitter -0.5: must be a finite variance >= 0"),
            (
                "negative seed", ["--seed", "-1"], 2,
                "invalid for '--seed <seed>': a seed is a whole number from 0 to 9223372036854775807"
            ),
            (
                "forgetting above 1", ["--algorithm", "elm", "--forgetting", "1.5"], 2,
                "--forgetting 1.5: must be in (0, 1]"
            ),
            ("negative ridge", ["--algorithm", "elm", "--ridge=-1"], 2, "--ridge -1.0: must be finite and >= 0"),
            ("negative threshold", ["--algorithm", "gm", "--threshold=-1"], 2, "--threshold -1.0: must be >= 0"),
            (
                "no steps between syncs", ["--algorithm", "avg", "--sync-every", "0"], 2,
                "--sync-every 0: must be at least 1"
            ),
            (
                "FGM's epsilon out of range", ["--algorithm", "fgm", "--fgm-epsilon", "1"], 2,
                "--fgm-epsilon 1.0: must be in (0, 1)"
            ),
            (
                "a coordinator that is no node", ["--algorithm", "fgm", "--coordinator", "3"], 2,
                "--coordinator 3: must be a node in 0...2"
            ),
            (
                "unknown optimizer", ["--optimizer", "rmsprop"], 2,
                "The value 'rmsprop' is invalid for '--optimizer <optimizer>'. Please provide one of 'sgd' and 'adam'"
            ),
            (
                "topology of the wrong size", ["--topology", "torus:2x3"], 4,
                "a 2x3 torus has 6 nodes but there are 3 ranks"
            ),
        ]
        let csv = "day,rate\n1,1.0\n2,1.1\n3,abc\n4,1.2\n"
        let nan = "day,rate\n1,1.0\n2,nan\n3,1.1\n"
        let ragged = "{\"x\": [[1, 2], [3]], \"d\": 1}\n"
        let mismatched = "{\"x\": [[1, 2]], \"d\": 1}\n{\"x\": [[1, 2, 3]], \"d\": 2}\n"
        let empty = "{\"x\": [], \"d\": 1}\n"
        let text = "1\t1.5\tgood day\n2\tnot-a-score\tbad day\n"
        let lexicon = "good\t1.9\n"
        let config = "particles = 10\nbogus = 3\n"
        let paths =
            (try? [
                write(csv, name: "bad.csv"), write(nan, name: "nan.csv"), write(ragged, name: "ragged.jsonl"),
                write(mismatched, name: "mismatched.jsonl"), write(empty, name: "empty.jsonl"),
                write(text, name: "tweets.txt"),
                write(lexicon, name: "vader_lexicon.txt"), write(config, name: "run.toml"),
            ]) ?? []
        guard paths.count == 8 else { return cases }
        cases += [
            (
                "CSV field not a number", ["--data", paths[0], "--column", "rate"], 3,
                "bad.csv:4: field 2 is 'abc', expected a finite number"
            ),
            (
                "CSV NaN", ["--data", paths[1], "--column", "rate"], 3,
                "nan.csv:3: field 2 is 'nan', expected a finite number"
            ),
            ("JSON Lines ragged vectors", ["--data", paths[2]], 3, "ragged.jsonl:1:"),
            ("JSON Lines mismatched p", ["--data", paths[3]], 3, "mismatched.jsonl:2:"),
            ("JSON Lines empty sequence", ["--data", paths[4]], 3, "empty.jsonl:1:"),
            (
                "text score not a number", ["--data", paths[5], "--word-vectors", paths[6]], 3,
                "vader_lexicon.txt:1: expected token TAB mean TAB std"
            ),
            (
                "configuration with an unknown key", ["--config", paths[7]], 2,
                "run.toml: 'bogus': Unknown option '--bogus'"
            ),
        ]
        return cases
    }()

    @Test("bad input: one line from rank 0, its exit status, every rank out promptly", arguments: cases)
    func badInput(what: String, arguments: [String], status: Int32, expected: String) throws {
        let start = Date()
        let outcome = try Job.train(arguments + ["--samples", "20"], ranks: 3, timeout: 60)
        #expect(outcome.status == status, "\(what): exit \(outcome.status): \(outcome.errors)")
        let lines = outcome.errorLines
        #expect(lines.count == 1, "\(what): \(outcome.errors)")
        #expect(lines.first?.contains(expected) == true, "\(what): \(outcome.errors)")
        #expect(Date().timeIntervalSince(start) < 30)
    }

    @Test("an output directory that cannot be written: exit 5 before any training")
    func unwritableOutput() throws {
        let scratch = try Job.scratchDirectory()
        let outcome = try Job.dlstm(
            ["train", "--samples", "20", "--out", "/proc/dlstm-cannot-write"], ranks: 3, directory: scratch)
        #expect(outcome.status == 5)
        let lines = outcome.errorLines
        #expect(
            lines.count == 1 && lines[0].contains("--out /proc/dlstm-cannot-write: cannot create the directory"),
            "\(outcome.errors)")
    }

    @Test(
        "an allocation that fails past the up-front check (ulimit -v): one line, status 2, no crash trace",
        arguments: [nil, 3] as [Int?])
    func failedAllocation(ranks: Int?) throws {
        // P of DEKF at n = 60 is 1.87 GB: within this machine's memory, so the estimate lets the run
        // start, and beyond the 1.5 GB of address space each dlstm process is given.
        let limited = ["-c", "ulimit -v 1500000 && exec \"$0\" \"$@\"", Job.dlstmBinary]
        let train = ["train", "--algorithm", "dekf", "--hidden", "60", "--samples", "5", "--quiet"]
        let start = Date()
        let outcome = try Job.run(
            "/bin/sh", limited + train + (ranks == nil ? ["--in-process", "1"] : []), ranks: ranks, timeout: 60)
        #expect(outcome.status == 2, "exit \(outcome.status): \(outcome.errors)")
        let lines = outcome.errorLines
        // Each rank fails on its own; mpirun may end the others before they say so.
        #expect(!lines.isEmpty && lines.count <= (ranks ?? 1), "\(outcome.errors)")
        for line in lines {
            #expect(line.hasPrefix("dlstm: error: out of memory: an allocation of 1872720032 bytes failed"), "\(line)")
            if let ranks {
                #expect((0..<ranks).contains { line.contains("failed on rank \($0) (") }, "\(line)")
            }
        }
        #expect(!outcome.errors.contains("Fatal error") && !outcome.errors.contains("Backtracing"), "\(outcome.errors)")
        #expect(Date().timeIntervalSince(start) < 30)
    }

    @Test("a rank that fails mid-run ends the whole job promptly, with the reason", arguments: [3, 4])
    func injectedFailure(ranks: Int) throws {
        let start = Date()
        let outcome = try Job.train(
            ["--algorithm", "dpf", "--samples", "100000", "--inject-failure", "\(ranks - 1):30", "--quiet"],
            ranks: ranks, timeout: 120)
        #expect(outcome.status == 1)
        #expect(
            outcome.errors.contains("rank \(ranks - 1) of \(ranks): injected failure at node \(ranks - 1), step 30"),
            "\(outcome.errors)")
        #expect(Date().timeIntervalSince(start) < 20)
    }

    @Test("--timeout ends a job in which one rank hangs, naming the step, exit 124")
    func timeoutOnHang() throws {
        let start = Date()
        let outcome = try Job.train(
            [
                "--algorithm", "dekf", "--samples", "100000", "--inject-failure", "1:40:hang", "--timeout", "3",
                "--quiet",
            ],
            ranks: 3, timeout: 120)
        #expect(outcome.status == 124)
        #expect(outcome.errors.contains("--timeout 3 s reached at step 40 of 100000"), "\(outcome.errors)")
        let elapsed = Date().timeIntervalSince(start)
        #expect(elapsed >= 3 && elapsed < 20)
    }

    @Test("a diverging trainer stops the job with the numerical-failure status and a clear reason, no NaN written")
    func divergence() throws {
        let outcome = try Job.train(
            ["--algorithm", "sgd", "--learning-rate", "1e200", "--samples", "50", "--quiet"], ranks: 3, timeout: 60)
        #expect(outcome.status == 6)
        #expect(outcome.errors.contains("is not finite at step"), "\(outcome.errors)")
        #expect(!FileManager.default.fileExists(atPath: outcome.directory.appendingPathComponent("summary.json").path))
    }

    @Test(
        "a run killed while writing its results leaves every file whole: the previous run's or the new one's",
        arguments: [0, 1, 3, 9])
    func killedWhileWriting(filesWritten: Int) throws {
        let scratch = try Job.scratchDirectory()
        let out = scratch.appendingPathComponent("out").path
        let common = ["train", "--algorithm", "dekf", "--samples", "200", "--quiet", "--out", out]
        let previous = try Job.dlstm(common + ["--seed", "1"], ranks: 3, directory: scratch)
        #expect(previous.status == 0, "\(previous.errors)")
        let old = try files(in: out)
        let reference = try Job.train(
            ["--algorithm", "dekf", "--samples", "200", "--quiet", "--seed", "2"], ranks: 3)
        let new = try files(in: reference.directory.path)
        // Rank 0 writes node-0/1/2.csv, the model files, config.toml, summary.json in that order; it is
        // killed (SIGKILL) halfway through file number filesWritten + 1.
        let killed = try Job.dlstm(
            common + ["--seed", "2", "--overwrite", "--inject-kill-while-writing", String(filesWritten)], ranks: 3,
            directory: scratch)
        #expect(killed.status != 0)
        let after = try files(in: out)
        let models = ["model.safetensors", "node-0.safetensors", "node-1.safetensors", "node-2.safetensors"]
        let order =
            ["node-0.csv", "node-1.csv", "node-2.csv"] + models + ["model.json", "config.toml", "summary.json"]
        #expect(Set(after.keys) == Set(order), "\(after.keys.sorted())")
        for (index, name) in order.enumerated() {
            #expect(
                after[name] == (index < filesWritten ? new[name] : old[name]), "\(name) after \(filesWritten) files")
        }
        #expect(
            old["node-0.csv"] != new["node-0.csv"],
            "the two seeds must give different curves, or the test proves nothing")
    }

    /// The results files in `directory` by name; the temporary file a killed writer leaves
    /// (NAME.tmp.PID, never renamed) is not one of them.
    func files(in directory: String) throws -> [String: Data] {
        var files = [String: Data]()
        for name in try FileManager.default.contentsOfDirectory(atPath: directory)
        where !name.contains(".tmp.") && name != ".dlstm.lock" {
            files[name] = FileManager.default.contents(atPath: directory + "/" + name)
        }
        return files
    }

    @Test(
        "DEKF whose covariance loses positive definiteness on one node stops every rank with the reason",
        arguments: [3, 4])
    func covarianceCollapse(ranks: Int) throws {
        let outcome = try Job.train(
            [
                "--algorithm", "dekf", "--observation-noise", "1e-300", "--jitter", "1e-300", "--samples", "300",
                "--quiet",
            ],
            ranks: ranks, timeout: 60)
        #expect(outcome.status == 6)
        #expect(outcome.errors.contains("lost positive definiteness at step"), "\(outcome.errors)")
        #expect(!FileManager.default.fileExists(atPath: outcome.directory.appendingPathComponent("summary.json").path))
    }
}
