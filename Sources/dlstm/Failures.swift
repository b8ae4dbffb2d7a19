import ArgumentParser
import DataSources
import Distributed
import Foundation
import MPI

/// dlstm's exit statuses: one per kind of failure, so a batch script can tell them apart
/// (`case $? in 75) scontrol requeue ...`). Documented in README.md.
enum ExitStatus: Int32 {
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
    /// Stopped on SIGUSR1 (or --stop-after) after writing a checkpoint: resume with --resume.
    case checkpointed = 75
    /// --timeout reached.
    case timeout = 124
}

/// Bad input: one line and its exit status.
struct InputError: Error, CustomStringConvertible, ErrorWithExitCode {
    let message: String
    var status = ExitStatus.usage
    var description: String { message }
    var exitCode: Int32 { status.rawValue }
}

/// The status of each lower layer's input errors, in one place.
extension InputError {
    init(_ error: DataError) { self.init(message: error.description, status: .data) }
    init(_ error: TopologyError) { self.init(message: error.description, status: .topology) }
}

/// A failure after training started (the other ranks are in collectives, so it aborts the job).
struct RunFailure: Error, CustomStringConvertible, ErrorWithExitCode {
    let message: String
    let status: ExitStatus
    var description: String { message }
    var exitCode: Int32 { status.rawValue }
}

/// Collective: if any rank failed, rank 0 prints the lowest failing rank's message and every rank
/// exits together with that failure's status (no rank proceeds, none hangs, no abort trace).
func exitTogetherIfAnyFailed(world: Communicator, failure: InputError?) throws {
    // One record per rank: the status byte, then the message.
    let records = try world.allgatherv(failure.map { [UInt8(truncatingIfNeeded: $0.status.rawValue)] + Array($0.message.utf8) } ?? [])
    guard let first = records.firstIndex(where: { !$0.isEmpty }) else { return }
    if world.rank == 0 {
        let text = String(decoding: records[first].dropFirst(), as: UTF8.self)
        let everywhere = records.allSatisfy { $0 == records[first] }
        FileHandle.standardError.write(Data(("dlstm: error: " + text + (everywhere ? "" : " (rank \(first))") + "\n").utf8))
    }
    try MPI.finalize()
    exit(Int32(records[first][0]))
}

/// Under MPI: the graph communicator for `topology`, or nil when the topology was rejected (then
/// rank 0 has printed why and every rank is about to exit together).
func makeNetwork(world: Communicator, topology: String, seed: UInt64) throws -> MPINetwork? {
    var network: MPINetwork?
    var failure: InputError?
    do {
        network = try MPINetwork(world: world, topology: try Topology.named(topology, nodes: world.size, seed: seed))
    } catch let error as TopologyError {
        failure = InputError(error)
    }
    try exitTogetherIfAnyFailed(world: world, failure: failure)
    return network
}

/// In one process: input errors print one line and exit with their status, as under MPI.
func runInProcess(nodes: Int, topology: String = "ring", seed: UInt64 = 1, _ body: (InProcessNetwork) throws -> Void) throws {
    var failure: InputError?
    do {
        try body(InProcessNetwork(topology: Topology.named(topology, nodes: nodes, seed: seed)))
    } catch let error as TopologyError {
        failure = InputError(error)
    } catch let error as InputError {
        failure = error
    } catch let error as RunFailure {
        failure = InputError(message: error.message, status: error.status)
    }
    if let failure {
        FileHandle.standardError.write(Data("dlstm: \(failure.status == .checkpointed ? "" : "error: ")\(failure.message)\n".utf8))
        throw ExitCode(failure.status.rawValue)
    }
}

/// This process's rank when started by mpirun or srun, read from the launcher's environment
/// before MPI is initialised (so that errors found while parsing options are printed once).
var launcherRank: Int? {
    let environment = ProcessInfo.processInfo.environment
    for key in ["OMPI_COMM_WORLD_RANK", "PMIX_RANK", "PMI_RANK", "SLURM_PROCID"] {
        if let value = environment[key], let rank = Int(value) { return rank }
    }
    return nil
}
