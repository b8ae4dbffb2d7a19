import ArgumentParser
import Distributed
import Foundation
import Numerics
import Runs

struct ELM: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "elm", abstract: "ELM-trained LSTMs in batch (OPT-PR-ELM).", subcommands: [ELMFit.self])
}

struct ELMFit: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fit",
        abstract: "Fit an ELM-LSTM's readout over every rank's samples by TSQR; train and held-out RMSE.",
        discussion: """
            The samples are dealt to the graph's nodes as `train` deals them (--partition); each rank runs one node, \
            or a block of them with --nodes (the same bits on any rank count). Each node builds the feature rows of \
            its samples (M = --hidden fixed random LSTM units, the seed's weights, batched through dgemm) and factors \
            [H | T] into a QR triangle; the triangles are merged up a breadth-first spanning tree of --topology \
            (every message between neighbours), the root solves for the readout (with --ridge) and sends it back \
            down. The last --test-fraction of each node's samples are held out. Prints the time of each phase at \
            the slowest node; --out DIR writes DIR/summary.json, DIR/config.toml and the fitted model \
            (DIR/model.safetensors and model.json, for dlstm predict).

              mpirun -np 4 dlstm elm fit --hidden 256 --data data/fx/garch_daily_usd_1980_1987.csv --column bp
              mpirun -np 4 dlstm elm fit --hidden 256 --nodes 64 --topology ring   # 64 nodes on 4 ranks
            """)

    @OptionGroup(title: "Model and data") var options: ConfigurationOptions
    @OptionGroup(title: "Output") var output: OutputOptions
    @Option(help: ArgumentHelp("Run K ranks' shares in one process instead of under MPI.", valueName: "K"))
    var inProcess: Int?
    @Option(help: LaunchOptions.nodesHelp) var nodes: Int?
    @Option(help: "The share of each rank's samples held out, at the end of its stream.") var testFraction = 0.1

    func validate() throws { try LaunchOptions.validate(inProcess: inProcess, nodes: nodes) }

    func run() throws {
        useOneBLASThreadPerProcess()
        var fit = Runs.ELMFit(configuration: options.configuration(for: .elm))
        fit.testFraction = testFraction
        let report = { (report: Runs.ELMFit.Report?) throws in
            guard let report else { return }
            if let out = output.out {
                try createOutputDirectory(out)
                let summary = try report.summary(configuration: fit.configuration)
                let json = try JSONSerialization.data(withJSONObject: summary, options: [.prettyPrinted, .sortedKeys])
                let model = try report.model(configuration: fit.configuration)
                try writeAtomically(try model.safeTensors().encoded(), to: out + "/model.safetensors")
                try writeAtomically(try model.description(), to: out + "/model.json")
                try writeAtomically(Data(try fit.configuration.toml().utf8), to: out + "/config.toml")
                try writeAtomically(json + Data("\n".utf8), to: out + "/summary.json")
            }
            guard !output.quiet else { return }
            print(
                "dlstm elm fit: \(report.nodes) node\(report.nodes == 1 ? "" : "s"), M = \(fit.configuration.hidden), "
                    + "\(report.trainRows) training rows, \(report.testRows) held out")
            print(String(format: "  RMSE: train %.6g, held out %.6g", report.trainRMSE, report.testRMSE))
            print("  " + report.phases.map { String(format: "%@ %.4f s", $0.name, $0.seconds) }.joined(separator: ", "))
        }
        if let k = inProcess {
            try runInProcess {
                let topology = try Topology.named(options.topology, nodes: k, seed: options.seed)
                try report(try fit.run(on: InProcessNetwork(topology: topology)))
            }
        } else {
            runUnderMPI { world in
                try report(
                    try fit.run(
                        on: try makeMPINetwork(
                            world: world, topology: options.topology, seed: options.seed, nodes: nodes)))
            }
        }
    }
}
