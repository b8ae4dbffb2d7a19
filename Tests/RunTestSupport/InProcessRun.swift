import Distributed
import Foundation
import Runs

// Helpers of the in-process tests of `Runs` and `Experiments`: a run through the library as the CLI
// runs it.

/// The synthetic-teacher configuration of `algorithm`, `samples` steps per node.
public func teacherRun(
    _ algorithm: Algorithm, samples: Int, seed: UInt64 = 1,
    _ configure: (inout TrainingConfiguration) -> Void = { _ in }
) -> TrainingConfiguration {
    var configuration = TrainingConfiguration()
    (configuration.algorithm, configuration.samples, configuration.seed) = (algorithm, samples, seed)
    configure(&configuration)
    return configuration
}

/// One run of `configuration` on `nodes` nodes in this process, through the library as the CLI
/// runs it; the reporter's report.
public func runInProcess(_ configuration: TrainingConfiguration, nodes: Int, control: RunControl = RunControl()) throws
    -> RunReport
{
    var control = control
    control.progressSeconds = 0
    let topology = try Topology.named(configuration.topology, nodes: nodes, seed: configuration.seed)
    return try TrainingRun(configuration: configuration, control: control).run(
        on: InProcessNetwork(topology: topology))!
}

public func scratchDirectory() throws -> String {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("dlstm-runs-\(UUID().uuidString)")
        .path
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    return directory
}

extension RunReport {
    /// Every node's predictions, in node order.
    public var predictions: [[Double]] { records.map(\.predictions) }
}
