import Distributed

/// What a run tells the outside while it goes, at the reporter only: the CLI prints it, a test or
/// another program may record it. The run itself never prints.
public protocol RunObserver: AnyObject {
    func started(_ run: RunDescription)
    /// Resumed from a verified checkpoint; `rejected` says why newer ones were not used.
    func resumed(afterStep step: Int, from directory: String, rejected: [String])
    func progress(_ progress: RunProgress)
    func finished(_ report: RunReport, resultsDirectory: String?)
}

extension RunObserver {
    public func started(_ run: RunDescription) {}
    public func resumed(afterStep step: Int, from directory: String, rejected: [String]) {}
    public func progress(_ progress: RunProgress) {}
    public func finished(_ report: RunReport, resultsDirectory: String?) {}
}

/// A run about to start, for its banner.
public struct RunDescription {
    public let label: String
    public let configuration: TrainingConfiguration
    public let context: RunContext
    public let topology: Topology
    public let walk: RandomWalk
    /// Steps per node, input size p and n_theta.
    public let steps: Int
    public let inputSize: Int
    public let parameterCount: Int
    public let resultsDirectory: String?

    /// The paper's walk on a bipartite graph with an odd s: a particle's exponents then depend on
    /// where it started.
    public var hasPeriodicWalkWithOddSteps: Bool {
        configuration.algorithm == .dpf && walk.isPeriodic && configuration.walkSteps % 2 == 1
    }
}
