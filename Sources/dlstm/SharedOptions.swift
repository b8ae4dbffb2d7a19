import ArgumentParser
import DataSources
import Distributed
import Experiments
import LSTM
import Runs
import Trainers

/// Options of `train`, `experiment` and `scale` alike.
struct OutputOptions: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            """
            Write the results here, created if missing (train: summary.json, node-K.csv, config.toml, the trained \
            model in model.safetensors and node-K.safetensors; \
            experiment: one directory per run, default results/NAME; scale: default results/scale).
            """, valueName: "DIR"))
    var out: String?

    @Flag(help: "Print nothing but errors.") var quiet = false
}

/// How `train` and `experiment` are launched.
struct LaunchOptions: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "Simulate K nodes in one process instead of on MPI ranks (same results, bit for bit).",
            valueName: "K"))
    var inProcess: Int?

    @Option(help: LaunchOptions.nodesHelp) var nodes: Int?

    @Option(
        help: ArgumentHelp(
            """
            Rank 0 prints one progress line (step, samples/s, MSE so far, ETA) about every this many seconds \
            (0: never).
            """, valueName: "SECONDS"))
    var progressEvery = 5.0

    @Option(
        help: ArgumentHelp(
            """
            A TOML or JSON file of options: keys are the long option names without '--' (walk-steps = 3, \
            quiet = true). Options on the command line override it. Every run writes the configuration it used \
            to DIR/config.toml.
            """, valueName: "FILE"))
    var config: String?

    static let nodesHelp = ArgumentHelp(
        """
        Under MPI: K graph nodes on the job's ranks (at least one each), dealt in blocks, the first K mod R \
        ranks one more (default: one node per rank). The same results, bit for bit, on any number of ranks.
        """, valueName: "K")

    func validate() throws { try LaunchOptions.validate(inProcess: inProcess, nodes: nodes) }

    /// `train`'s, `experiment`'s and `elm fit`'s check of the two ways to give the node count.
    static func validate(inProcess: Int?, nodes: Int?) throws {
        if let k = inProcess, k < 1 { throw ValidationError("--in-process \(k): must be at least 1 node") }
        if let k = nodes, k < 1 || inProcess != nil {
            throw ValidationError("--nodes \(k): at least 1, and not with --in-process (which gives the node count)")
        }
    }
}

/// A `RunError` from a `validate()` as ArgumentParser's validation error: one line, status 2.
func validated(_ check: () throws -> Void) throws {
    do {
        try check()
    } catch let error as RunError {
        throw ValidationError(error.message)
    }
}

// Enum-valued options parse their raw values; `--help` lists them.
extension Algorithm: ExpressibleByArgument {}
extension WalkKind: ExpressibleByArgument {}
extension Pooling: ExpressibleByArgument {}
extension Precision: ExpressibleByArgument {}
extension ResamplingScheme: ExpressibleByArgument {}
extension Optimizer: ExpressibleByArgument {}
extension Resolution: ExpressibleByArgument {}
extension CSVTimeSeries.LagLayout: ExpressibleByArgument {}
extension Partition: ExpressibleByArgument {}

/// A seed, 0 to 2^63 - 1 (config.toml writes it as a TOML integer, which is signed), with the range
/// in the message: ArgumentParser alone says only that "-1" is invalid.
func seedValue(_ text: String) throws -> UInt64 {
    guard let value = UInt64(text), value <= UInt64(Int64.max) else {
        throw ValidationError("a seed is a whole number from 0 to \(Int64.max)")
    }
    return value
}
extension CentralizedReduce: ExpressibleByArgument {}
extension ObservationNoise: ExpressibleByArgument {
    public init?(argument: String) { self.init(argument) }
    public var defaultValueDescription: String { description }
}
extension Normalization: ExpressibleByArgument {}
extension PaperExperiment: ExpressibleByArgument {}

extension ExperimentName: ExpressibleByArgument {}
