import ConfigFiles
import DataSources
import Distributed
import Foundation
import MPI
import Trainers

/// dlstm's exit statuses: one per kind of failure, so a batch script can tell them apart
/// (`case $? in 75) scontrol requeue ...`). Documented in README.md.
public enum ExitStatus: Int32, Sendable {
    /// A rank failed mid-run (MPI_Abort with the reason), or an internal error.
    case failure = 1
    /// A bad option, option value or configuration file.
    case usage = 2
    /// A data file that is missing, unreadable or malformed.
    case data = 3
    /// An adjacency matrix or topology that cannot be used with this many ranks.
    case topology = 4
    /// An output or checkpoint directory that cannot be written.
    case output = 5
    /// The training diverged (a non-finite prediction, a covariance no longer positive definite).
    case numerical = 6
    /// Stopped on request (SIGUSR1, SIGTERM, SIGINT) after writing a checkpoint: resume with --resume.
    case checkpointed = 75
    /// --timeout reached.
    case timeout = 124
    /// Stopped by SIGINT, SIGUSR1 or SIGTERM without checkpoints: 128 + the signal's number, what
    /// a shell reports for a process the signal killed.
    case interrupted = 130, userSignal = 138, terminated = 143

    /// The status of a run stopped by `signal` without a checkpoint.
    public init(stoppedBy signal: Int32) {
        self = ExitStatus(rawValue: 128 + signal) ?? .failure
    }
}

/// "SIGTERM" for SIGTERM, and so on for the signals that stop a run.
public func signalName(_ signal: Int32) -> String {
    switch signal {
    case SIGINT: "SIGINT"
    case SIGTERM: "SIGTERM"
    case SIGUSR1: "SIGUSR1"
    default: "signal \(signal)"
    }
}

/// Every failure of a run, as the user sees it: one line and its exit status.
public struct RunError: Error, CustomStringConvertible, ErrorWithExitCode, Equatable, Sendable {
    public let message: String
    public let status: ExitStatus
    /// True when every process holds this error at the same point (after a collective agreement,
    /// or a stop all processes took together): the job can end cleanly, without MPI_Abort.
    public var isCollective = false

    public init(_ message: String, status: ExitStatus = .usage, isCollective: Bool = false) {
        (self.message, self.status, self.isCollective) = (Self.oneLine(message), status, isCollective)
    }

    /// Messages are one line. ArgumentParser lists the values of an enum with many cases one per
    /// line ("Please provide one of the following:\n  - sgd\n  - ekf"): that becomes "one of 'sgd',
    /// 'ekf'"; other lines are joined with spaces.
    static func oneLine(_ message: String) -> String {
        guard message.contains("\n") else { return message }
        let lines = message.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        let items = lines.dropFirst().filter { $0.hasPrefix("- ") }.map { "'\($0.dropFirst(2))'" }
        guard items.count == lines.count - 1, !items.isEmpty else { return lines.joined(separator: " ") }
        return lines[0].replacingOccurrences(of: "one of the following:", with: "one of") + " "
            + items.joined(separator: ", ")
    }

    public var description: String { message }
    public var exitCode: Int32 { status.rawValue }

    /// The one mapping from an error of any layer to what the user sees.
    public init(_ error: any Error) {
        switch error {
        case let error as RunError:
            self = error
        case let error as DataError:
            self.init(error.description, status: .data)
        case let error as TopologyError:
            self.init(error.description, status: .topology)
        case let error as ConfigFile.Failure:
            self.init(error.description, status: .usage)
        case let error as TrainerError:
            switch error {
            case .nonFinite, .covarianceNotPositiveDefinite: self.init(error.description, status: .numerical)
            case .malformedCheckpoint, .unsupported: self.init(error.description, status: .usage)
            case .malformedMessage: self.init(error.description, status: .failure)
            }
        default:
            self.init("\(error)", status: .failure)
        }
    }

    /// The text after "dlstm: ": a stop with a checkpoint is no error.
    public var line: String { status == .checkpointed ? message : "error: " + message }
}

extension RunError {
    /// [status, message bytes]: what one process tells the others in an agreement.
    var encoded: [UInt8] { [UInt8(truncatingIfNeeded: status.rawValue)] + Array(message.utf8) }

    /// The lowest process's failure among every process's record (empty: no failure), marked
    /// collective; "(node K)" when the nodes did not all fail alike (the records are per node: with
    /// one node per rank, K is the rank).
    static func agreed(from records: [[UInt8]]) -> RunError? {
        guard let first = records.firstIndex(where: { !$0.isEmpty }) else { return nil }
        let text = String(decoding: records[first].dropFirst(), as: UTF8.self)
        let everywhere = records.allSatisfy { $0 == records[first] }
        return RunError(
            text + (everywhere ? "" : " (node \(first))"),
            status: ExitStatus(rawValue: Int32(records[first][0])) ?? .failure, isCollective: true)
    }
}

/// Collective over `network`: if any process failed (a local input check), every process throws
/// the same collective error, so that no process goes on and none waits for another.
public func agree(on failure: RunError?, network: Network) throws {
    if let error = try agreedFailure(failure, network: network) { throw error }
}

/// Collective over `network`: the failure every process agrees on (the lowest node's), nil when
/// no process failed.
func agreedFailure(_ failure: RunError?, network: Network) throws -> RunError? {
    let record = (failure?.encoded ?? []).map { Double($0) }
    let records = try network.allgatherForReport(network.localNodes.map { _ in record })
    return RunError.agreed(from: records.map { $0.map { UInt8($0) } })
}
