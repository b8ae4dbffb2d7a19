import Foundation
import ProcessTestSupport
import Testing

/// The model files a run writes, through the dlstm binary: the same bytes under mpirun and in one
/// process, `dlstm predict` over them, the numpy reading of them, and the files it refuses.
@Suite("dlstm predict and the model files", .serialized)
struct PredictTests {
    let fx = Job.repositoryRoot.appendingPathComponent("data/fx/garch_daily_usd_1980_1987.csv").path

    func bytes(_ directory: URL, _ name: String) throws -> Data {
        try Data(contentsOf: directory.appendingPathComponent(name))
    }

    @Test("model files under mpirun equal the in-process run's, byte for byte", arguments: [("dekf", 3), ("delm", 4)])
    func sameModelOnEveryTransport(algorithm: String, nodes: Int) throws {
        let arguments = ["--algorithm", algorithm, "--samples", "60", "--hidden", algorithm == "delm" ? "10" : "2"]
        let mpi = try Job.train(arguments + ["--quiet"], ranks: nodes)
        let local = try Job.train(arguments + ["--quiet"], ranks: nil, nodes: nodes)
        #expect(mpi.status == 0 && local.status == 0, "\(mpi.errors) \(local.errors)")
        let names = ["model.safetensors", "model.json"] + (0..<nodes).map { "node-\($0).safetensors" }
        for name in names { #expect(try bytes(mpi.directory, name) == bytes(local.directory, name), "\(name)") }
    }

    @Test(
        "numpy and the safetensors package read the model and predict what dlstm predict does, to 1e-12",
        arguments: [
            ["--algorithm", "sgd", "--pooling", "max", "--lag-layout", "sequence", "--lags", "3"],
            ["--algorithm", "delm", "--hidden", "16", "--direct-link", "--pooling", "last"],
            ["--algorithm", "ekf", "--direct-link"],
        ])
    func numpyAgrees(options: [String]) throws {
        let run = try Job.train(
            options + ["--data", fx, "--column", "bp", "--normalize", "minmax", "--samples", "200", "--quiet"],
            ranks: 3)
        #expect(run.status == 0, "\(run.errors)")
        let predictions = run.directory.appendingPathComponent("predictions.csv").path
        let predicted = try Job.dlstm(
            ["predict", "--model", run.directory.path, "--data", fx, "--out", predictions], ranks: nil)
        #expect(predicted.status == 0, "\(predicted.errors)")
        #expect(predicted.output.contains("1864 samples") || predicted.output.contains("1865 samples"))
        let check = try Job.run(
            "/usr/bin/env",
            [
                "python3", Job.repositoryRoot.appendingPathComponent("scripts/check-model.py").path,
                run.directory.appendingPathComponent("model.safetensors").path, fx, predictions,
            ], ranks: nil, timeout: 120)
        #expect(check.status == 0, "\(check.output) \(check.errors)")
        #expect(check.output.contains("\"max_relative_difference\""))
    }

    @Test("the second half of a series trained from the first half's model: the same bits under mpirun and in-process")
    func continueTraining() throws {
        let scratch = try Job.scratchDirectory()
        let lines = try String(contentsOfFile: fx, encoding: .utf8).split(separator: "\n")
        let half = lines.count / 2
        let first = scratch.appendingPathComponent("first.csv"), second = scratch.appendingPathComponent("second.csv")
        try (lines[..<half].joined(separator: "\n") + "\n").write(to: first, atomically: true, encoding: .utf8)
        try ([lines[0]] + lines[half...]).joined(separator: "\n").appending("\n").write(
            to: second, atomically: true, encoding: .utf8)
        let data = ["--column", "bp", "--normalize", "minmax", "--samples", "100", "--quiet"]
        let start = try Job.train(["--algorithm", "dpf", "--data", first.path] + data, ranks: nil, nodes: 3)
        #expect(start.status == 0, "\(start.errors)")
        let arguments =
            ["--algorithm", "dpf", "--data", second.path, "--init-model", start.directory.path] + data
        let mpi = try Job.train(arguments, ranks: 3)
        let local = try Job.train(arguments, ranks: nil, nodes: 3)
        #expect(mpi.status == 0 && local.status == 0, "\(mpi.errors) \(local.errors)")
        for k in 0..<3 { #expect(try mpi.curve(node: k) == local.curve(node: k)) }
        #expect(try mpi.file("config.toml").contains("init-model = "))
        // A model of other sizes: one line from rank 0, status 2 on every rank.
        let wider = try Job.train(arguments + ["--hidden", "5"], ranks: 3)
        #expect(wider.status == 2 && wider.errorLines.count == 1, "\(wider.errors)")
        #expect(wider.errors.contains("--init-model") && wider.errors.contains("n = 5"))
    }

    @Test("predict refuses a truncated model, another format version and data of another p: one line, status 3")
    func refusals() throws {
        let run = try Job.train(["--algorithm", "sgd", "--samples", "30", "--quiet"], ranks: nil, nodes: 2)
        #expect(run.status == 0, "\(run.errors)")
        let model = try bytes(run.directory, "model.safetensors")
        let scratch = try Job.scratchDirectory()
        func predict(_ file: Data, data: String) throws -> Job.Outcome {
            let path = scratch.appendingPathComponent("model.safetensors")
            try file.write(to: path)
            return try Job.dlstm(["predict", "--model", path.path, "--data", data, "--column", "bp"], ranks: nil)
        }
        let truncated = try predict(model.prefix(model.count - 100), data: fx)
        #expect(truncated.status == 3 && truncated.errorLines.count == 1, "\(truncated.errors)")
        #expect(truncated.errors.contains("model.safetensors: not a dlstm model file"))
        let version = Data(#""format_version":"1""#.utf8), newer = Data(#""format_version":"7""#.utf8)
        let range = try #require(model.range(of: version))
        var other = model
        other.replaceSubrange(range, with: newer)
        let renumbered = try predict(other, data: fx)
        #expect(renumbered.status == 3 && renumbered.errorLines.count == 1, "\(renumbered.errors)")
        #expect(renumbered.errors.contains("format version 7; this dlstm reads version 1"))
        // The teacher's model has p = 2; FX windows of 3 lags have p = 3.
        let wrongP = try Job.dlstm(
            ["predict", "--model", run.directory.path, "--data", fx, "--column", "bp", "--lags", "3"], ranks: nil)
        #expect(wrongP.status == 3 && wrongP.errorLines.count == 1, "\(wrongP.errors)")
        #expect(wrongP.errors.contains("columns of 3 numbers") && wrongP.errors.contains("expects p = 2"))
    }
}
