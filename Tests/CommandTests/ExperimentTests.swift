import Foundation
import ProcessTestSupport
import Testing

/// The experiment, plot, configuration-file and progress features of the dlstm binary, under
/// real mpirun at odd and even rank counts and in one process.
@Suite("dlstm experiment, plot, --config and progress", .serialized)
struct ExperimentTests {
    func file(_ directory: URL, _ path: String) throws -> String {
        try String(contentsOf: directory.appendingPathComponent(path), encoding: .utf8)
    }

    @Test(
        "experiment fx: every run, a table in canonical order, the figures, and mpirun == in-process",
        arguments: [3, 4])
    func experimentUnderMPI(ranks: Int) throws {
        let runs = ["cpf", "dpf-metropolis", "sgd", "dekf", "dpf"]  // deliberately out of order
        let arguments = { (out: URL) in
            ["experiment", "fx", "--samples", "60", "--algorithms", runs.joined(separator: ","), "--out", out.path]
        }
        let mpiDirectory = try Job.scratchDirectory(), localDirectory = try Job.scratchDirectory()
        let mpi = try Job.dlstm(
            arguments(mpiDirectory.appendingPathComponent("out")), ranks: ranks, directory: mpiDirectory)
        let local = try Job.dlstm(
            arguments(localDirectory.appendingPathComponent("out")) + ["--in-process", String(ranks)], ranks: nil,
            directory: localDirectory
        )
        #expect(mpi.status == 0, "\(mpi.errors)")
        #expect(local.status == 0, "\(local.errors)")
        #expect(mpi.output.contains("Figure: \(mpi.directory.path)/mse.svg"))

        let table = try file(mpi.directory, "table.md").split(separator: "\n").dropFirst(2).map {
            $0.split(separator: "|")[0].trimmingCharacters(in: .whitespaces)
        }
        #expect(table == ["sgd", "dekf", "dpf", "dpf-metropolis", "cpf", "baseline: persistence"])
        let csv = try file(mpi.directory, "table.csv").split(separator: "\n")
        #expect(csv.count == 7)
        let mse = try file(mpi.directory, "mse.svg")
        #expect(mse.components(separatedBy: "<polyline").count - 1 == runs.count + 1)
        #expect(try file(mpi.directory, "communication.svg").contains("<rect"))
        for run in runs {
            let summary =
                try JSONSerialization.jsonObject(
                    with: Data(contentsOf: mpi.directory.appendingPathComponent("\(run)/summary.json")))
                as! [String: Any]
            #expect(summary["label"] as? String == run)
            #expect(summary["samples_per_node"] as? Int == 60)
            let settled = try #require(summary["samples_to_within_10pct"] as? Int)
            #expect((1...60).contains(settled))
            #expect(try file(mpi.directory, "\(run)/config.toml").contains("column = \"bp\""))
            for k in 0..<ranks {
                #expect(
                    try file(mpi.directory, "\(run)/node-\(k).csv") == file(local.directory, "\(run)/node-\(k).csv"),
                    "\(run) node \(k)")
            }
        }
        // Local trainers send nothing, the distributed ones do.
        #expect(csv[1].hasPrefix("sgd,") && csv[1].split(separator: ",")[5] == "0")
        #expect(Double(csv[3].split(separator: ",")[5])! > 0)
    }

    @Test(
        "--help of every subcommand: the help text on standard output, exit 0",
        arguments: [
            [], ["train"], ["experiment"], ["plot"], ["scale"], ["bench", "model"], ["bench", "sync"], ["predict"],
            ["bench", "pf"], ["elm", "fit"], ["checkpoint", "inspect"],
        ])
    func help(subcommand: [String]) throws {
        let outcome = try Job.dlstm(subcommand + ["--help"], ranks: nil)
        #expect(outcome.status == 0, "\(outcome.errors)")
        #expect(outcome.output.contains("OVERVIEW:") && outcome.output.contains("USAGE:") && outcome.errors.isEmpty)
    }

    /// A peer that cannot run (here: no scripts in the directory) is a column and a line saying why.
    @Test("bench pf with an anchor that cannot run: its figures are '-', a line says why, exit 0")
    func benchPFWithoutAnchors() throws {
        let empty = try Job.scratchDirectory()
        let outcome = try Job.dlstm(
            ["bench", "pf", "--sizes", "2", "--steps", "5", "--warm-up", "1", "--anchors", empty.path], ranks: nil)
        #expect(outcome.status == 0, "\(outcome.errors)")
        #expect(
            outcome.output.contains("dpf_jax.py did not run: ") && outcome.output.contains("dpf_numpy.py did not run: ")
        )
        let row = outcome.output.split(separator: "\n").first { $0.hasPrefix("      2 ") }
        #expect(row?.split(separator: " ").suffix(4) == ["-", "-", "-", "-"])
    }

    /// The particle store's promise: a DPF step in steady state allocates nothing. Counted by the
    /// package's malloc-interposer, preloaded as scripts/bench-pf does; the few allocations left are
    /// kept buffers growing to a message larger than any before (before the store: 50 per step).
    @Test("a DPF step in steady state allocates nothing (bench pf under the malloc interposer)")
    func benchPFAllocations() throws {
        let library = URL(fileURLWithPath: Job.dlstmBinary).deletingLastPathComponent()
            .appendingPathComponent("libMallocInterposerSwift.so").path
        let steps = 400
        let counted = try Job.dlstm(
            ["bench", "pf", "--sizes", "2,4", "--steps", String(steps), "--warm-up", "100"], ranks: nil,
            environment: ["LD_PRELOAD": library])
        #expect(counted.status == 0, "\(counted.errors)")
        for size in ["2", "4"] {
            let row = counted.output.split(separator: "\n").first { $0.split(separator: " ").first == Substring(size) }
            let allocations = row.flatMap { $0.split(separator: " ").last }.flatMap { Int($0) }
            #expect(allocations != nil && allocations! < steps / 10, "n = \(size): \(row ?? "no row")")
        }
        let uncounted = try Job.dlstm(["bench", "pf", "--sizes", "2", "--steps", "5", "--warm-up", "1"], ranks: nil)
        #expect(uncounted.output.contains("allocations: not counted"))
    }

    @Test("plot redraws an old run and refuses a directory without results")
    func plotCommand() throws {
        let run = try Job.train(["--algorithm", "ekf", "--samples", "50", "--quiet"], ranks: nil, nodes: 2)
        #expect(run.status == 0)
        let scratch = try Job.scratchDirectory()
        let plotted = try Job.dlstm(["plot", run.directory.path], ranks: nil, directory: scratch)
        #expect(plotted.status == 0, "\(plotted.errors)")
        #expect(try file(run.directory, "mse.svg").contains("<polyline"))
        #expect(try file(run.directory, "table.md").contains("| ekf |"))
        let empty = try Job.dlstm(["plot", scratch.path], ranks: nil, directory: try Job.scratchDirectory())
        #expect(empty.status == 2)
        #expect(empty.errors.hasPrefix("dlstm: error: \(scratch.path): no summary.json"))
        #expect(empty.errors.split(separator: "\n").count == 1)
    }

    @Test("plot and scale exit 5, with one line, when they cannot write their figures")
    func unwritableFigures() throws {
        let run = try Job.train(["--algorithm", "sgd", "--samples", "20", "--quiet"], ranks: nil, nodes: 2)
        #expect(run.status == 0, "\(run.errors)")
        // A directory where a figure goes: rename() over it fails, even for root.
        try FileManager.default.createDirectory(
            at: run.directory.appendingPathComponent("mse.svg"), withIntermediateDirectories: true)
        let plotted = try Job.dlstm(["plot", run.directory.path], ranks: nil)
        #expect(plotted.status == 5, "\(plotted.errors)")
        #expect(
            plotted.errorLines.count == 1 && plotted.errorLines[0].contains("mse.svg: cannot write"),
            "\(plotted.errors)")

        let study = try Job.scratchDirectory()
        let point = try Job.dlstm(
            [
                "train", "--algorithm", "sgd", "--samples", "20", "--quiet", "--in-process", "1", "--out",
                study.path + "/strong-r1-1",
            ],
            ranks: nil)
        #expect(point.status == 0, "\(point.errors)")
        try FileManager.default.createDirectory(
            at: study.appendingPathComponent("scaling.svg"), withIntermediateDirectories: true)
        let collected = try Job.dlstm(["scale", "--collect", study.path], ranks: nil)
        #expect(collected.status == 5, "\(collected.errors)")
        #expect(
            collected.errorLines.count == 1 && collected.errorLines[0].contains("scaling.svg: cannot write"),
            "\(collected.errors)")
    }

    @Test("scale --command elm-fit: elm fit at 1 and 3 ranks, tabulated with its tree's bytes and finite times")
    func scaleELMFit() throws {
        let study = try Job.scratchDirectory().appendingPathComponent("scale")
        let launcher = Job.repositoryRoot.appendingPathComponent("scripts/mpirun-local").path + " -np {ranks}"
        let outcome = try Job.dlstm(
            [
                "scale", "--command", "elm-fit", "--ranks", "1,3", "--repeats", "1", "--launcher", launcher,
                "--total-samples", "600", "--samples-per-node", "200", "--out", study.path, "--quiet", "--",
                "--hidden", "8",
            ], ranks: nil)
        #expect(outcome.status == 0, "\(outcome.errors)")
        let table =
            try JSONSerialization.jsonObject(
                with: Data(contentsOf: study.appendingPathComponent("scaling.json"))) as! [String: [[String: Any]]]
        for mode in ["strong", "weak"] {
            let rows = try #require(table[mode])
            #expect(rows.map { $0["ranks"] as? Int } == [1, 3])
            #expect(rows.map { $0["samples_per_node"] as? Int } == (mode == "strong" ? [600, 200] : [200, 200]))
            // One rank sends nothing; three on a ring send triangles up the tree and beta down.
            #expect(rows[0]["bytes_per_node"] as? Double == 0)
            #expect((rows[1]["bytes_per_node"] as? Double ?? 0) > 0)
            #expect(rows.allSatisfy { (($0["efficiency"] as? Double) ?? .nan).isFinite })
        }
    }

    @Test("scale --nodes 4: one 4-node graph at 1, 2 and 3 ranks, strong scaling only; bad combinations are refused")
    func scaleFixedGraph() throws {
        let study = try Job.scratchDirectory().appendingPathComponent("scale")
        let launcher = Job.repositoryRoot.appendingPathComponent("scripts/mpirun-local").path + " -np {ranks}"
        let outcome = try Job.dlstm(
            [
                "scale", "--nodes", "4", "--ranks", "1,2,3", "--repeats", "1", "--launcher", launcher,
                "--total-samples", "240", "--out", study.path, "--quiet", "--", "--algorithm", "dekf",
            ], ranks: nil)
        #expect(outcome.status == 0, "\(outcome.errors)")
        let table =
            try JSONSerialization.jsonObject(
                with: Data(contentsOf: study.appendingPathComponent("scaling.json"))) as! [String: [[String: Any]]]
        #expect(table.keys.sorted() == ["strong"])
        let rows = try #require(table["strong"])
        #expect(rows.map { $0["ranks"] as? Int } == [1, 2, 3])
        #expect(rows.allSatisfy { $0["nodes"] as? Int == 4 && $0["samples_per_node"] as? Int == 60 })
        // The same graph and samples on every rank count: the same curves.
        let curves = try [1, 2, 3].map { r in
            try String(contentsOf: study.appendingPathComponent("strong-r\(r)-1/node-3.csv"), encoding: .utf8)
        }
        #expect(curves[1] == curves[0] && curves[2] == curves[0])
        #expect(
            try String(contentsOf: study.appendingPathComponent("scaling.csv"), encoding: .utf8).contains(
                "\nstrong,3,4,1,"))

        for (arguments, expected) in [
            (["--nodes", "4", "--mode", "weak"], "--mode weak: --nodes fixes the graph"),
            (["--nodes", "2", "--ranks", "1,4"], "--nodes 2: fewer graph nodes than the 4 ranks"),
        ] {
            let refused = try Job.dlstm(["scale"] + arguments, ranks: nil)
            #expect(refused.status == 2, "\(refused.errors)")
            #expect(refused.errors.contains(expected), "\(refused.errors)")
        }
    }

    @Test("a TOML configuration runs, the command line overrides it, and the config.toml a run writes reproduces it")
    func configurationFile() throws {
        let scratch = try Job.scratchDirectory()
        let config = scratch.appendingPathComponent("run.toml")
        try """
        # a comment
        algorithm = "dpf"
        samples = 80
        particles = 30
        walk = "lazy"
        seed = 5
        quiet = true
        """.write(to: config, atomically: true, encoding: .utf8)
        let first = try Job.train(["--config", config.path, "--particles", "20"], ranks: 3)
        #expect(first.status == 0, "\(first.errors)")
        #expect(first.output.isEmpty)  // quiet = true came from the file
        let written = try file(first.directory, "config.toml")
        #expect(
            written.contains("particles = 20") && written.contains("walk = \"lazy\"") && written.contains("seed = 5"))
        let again = try Job.train(
            ["--config", first.directory.appendingPathComponent("config.toml").path, "--quiet"], ranks: 3)
        #expect(again.status == 0, "\(again.errors)")
        for k in 0..<3 { #expect(try first.curve(node: k) == again.curve(node: k)) }
        // JSON: booleans are flags, numbers stay numbers.
        let json = scratch.appendingPathComponent("run.json")
        try #"{"algorithm": "dpf", "samples": 80, "particles": 20, "walk": "lazy", "seed": 5, "quiet": true}"#.write(
            to: json, atomically: true, encoding: .utf8)
        let fromJSON = try Job.train(["--config", json.path], ranks: 3)
        #expect(fromJSON.status == 0, "\(fromJSON.errors)")
        for k in 0..<3 { #expect(try first.curve(node: k) == fromJSON.curve(node: k)) }
    }

    @Test(
        "--normalize: zscore by default for elm, delm and elm fit, none for the others, and a given value wins",
        arguments: [
            (["train", "--algorithm", "elm"], "zscore"), (["train", "--algorithm", "delm"], "zscore"),
            (["elm", "fit"], "zscore"), (["train", "--algorithm", "sgd"], "none"),
            (["train", "--algorithm", "elm", "--normalize", "minmax"], "minmax"),
            (["elm", "fit", "--normalize", "none"], "none"),
        ])
    func normalizationDefault(command: [String], expected: String) throws {
        let out = try Job.scratchDirectory().appendingPathComponent("out")
        let fx = Job.repositoryRoot.appendingPathComponent("data/fx/garch_daily_usd_1980_1987.csv").path
        let outcome = try Job.dlstm(
            command + [
                "--data", fx, "--column", "bp", "--hidden", "4", "--samples", "40", "--in-process", "2", "--quiet",
                "--out", out.path,
            ], ranks: nil)
        #expect(outcome.status == 0, "\(outcome.errors)")
        #expect(try file(out, "config.toml").contains("normalize = \"\(expected)\""))
    }

    @Test("a configuration file saved with CRLF line ends is read like one with LF")
    func windowsLineEnds() throws {
        let config = try Job.scratchDirectory().appendingPathComponent("run.toml")
        try "samples = 30\r\nparticles = 7\r\nquiet = true\r\n".write(to: config, atomically: true, encoding: .utf8)
        let outcome = try Job.train(["--config", config.path, "--algorithm", "pf"], ranks: nil, nodes: 2)
        #expect(outcome.status == 0, "\(outcome.errors)")
        #expect(try file(outcome.directory, "config.toml").contains("particles = 7"))
    }

    @Test(
        "bad configuration files: one line naming the file and the key, exit 2",
        arguments: [
            ("run.toml", "particles = \"many\"\n", "'particles': The value 'many' is invalid"),
            ("run.toml", "partcles = 5\n", "'partcles': Unknown option '--partcles'"),
            ("run.toml", "particles = [1, 2]\n", "'particles': expected a string, number or boolean, not a array"),
            ("run.toml", "samples = 5\nparticles =\n", "run.toml:2:"),
            ("run.json", "{\"samples\": {\"a\": 1}}", "'samples': expected a string, number or boolean"),
            ("run.json", "[1]", "expected one JSON object"),
            ("run.yaml", "a: 1", "expected a .toml or .json file"),
            // Found by scripts/fuzz: toml++ aborted the process on these (an assertion), exit 134.
            ("run.toml", "samples = 5\n[;x]\n", "run.toml:2: a table header must start with a key, not ';'"),
            ("run.toml", "samples = 5\n[\n", "run.toml:2: a table header must start with a key"),
            ("run.toml", "samples = 5\r\n[;x]\r\n", "run.toml:2: a table header must start with a key, not ';'"),
            ("run.toml", "samples = 5\u{1}\n", "run.toml:1: control character U+0001"),
            ("run.toml", "\"a\\nb\" = 1\n", "'a\\nb' is not an option name"),
        ])
    func badConfiguration(name: String, text: String, expected: String) throws {
        let scratch = try Job.scratchDirectory()
        let config = scratch.appendingPathComponent(name)
        try text.write(to: config, atomically: true, encoding: .utf8)
        let outcome = try Job.train(["--config", config.path], ranks: nil, nodes: 2)
        #expect(outcome.status == 2)
        #expect(outcome.errors.hasPrefix("dlstm: error: ") && outcome.errors.contains(config.path), "\(outcome.errors)")
        #expect(outcome.errors.contains(expected), "\(outcome.errors)")
        #expect(outcome.errors.split(separator: "\n").count == 1)
    }

    @Test("progress: lines from rank 0 only, about every --progress-every seconds; none with --quiet")
    func progressLines() throws {
        let arguments = ["--algorithm", "pf", "--particles", "200", "--samples", "1500", "--progress-every", "0.05"]
        let outcome = try Job.train(arguments, ranks: 3)
        #expect(outcome.status == 0, "\(outcome.errors)")
        let steps = outcome.output.split(separator: "\n").filter { $0.contains(" step ") && $0.contains("/1500: ") }.map
        {
            Int($0.split(separator: " ")[2].split(separator: "/")[0])!
        }
        #expect(steps.count >= 2, "\(outcome.output)")
        #expect(steps == steps.sorted() && Set(steps).count == steps.count)  // one printer, in order
        #expect(outcome.output.contains("samples/s, MSE so far") && outcome.output.contains("ETA"))
        let quiet = try Job.train(arguments + ["--quiet"], ranks: 3)
        #expect(quiet.status == 0)
        #expect(quiet.output.isEmpty)
    }
}
