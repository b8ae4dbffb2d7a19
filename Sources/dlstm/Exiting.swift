import ArgumentParser
import Foundation
import MPI
import Runs

/// The signals that stop a run cleanly: SIGUSR1 (what Slurm's `--signal=B:USR1@T`, through the
/// batch shell's trap, and mpirun forward), SIGTERM (scancel, a time limit, `kill`) and SIGINT
/// (Ctrl-C). The handler only records the signal; the run reads it at its collective checks, so
/// every rank stops at the same step boundary. A second Ctrl-C kills at once; a repeated SIGUSR1 or
/// SIGTERM does not (jobs/train-requeue.sbatch repeats SIGUSR1 until the checkpoint is committed,
/// and Slurm and mpirun follow SIGTERM with SIGKILL themselves).
nonisolated(unsafe) private var stopSignalReceived: sig_atomic_t = 0
private let stopSignals = [SIGUSR1, SIGTERM, SIGINT]

func installStopSignalHandlers() {
    for stop in stopSignals {
        signal(stop) { received in
            // Both calls are async-signal-safe.
            if received == SIGINT && stopSignalReceived == SIGINT {
                signal(received, SIG_DFL)
                raise(received)
            }
            stopSignalReceived = received
        }
    }
    // A launcher may hand us these blocked (the mask is inherited): unblock them, or they never come.
    var set = sigset_t()
    sigemptyset(&set)
    for stop in stopSignals { sigaddset(&set, stop) }
    pthread_sigmask(SIG_UNBLOCK, &set, nil)
}

/// The signal that asked the run to stop, 0 while none did.
var stopSignal: Int32 { stopSignalReceived }

/// The one way a subcommand fails: "dlstm: error: LINE" on standard error (from rank 0 only when
/// started by a launcher) and the error's exit status.
func exitReporting(_ error: any Error, printing: Bool = (RunContext.launcherRank ?? 0) == 0) -> Never {
    let error = RunError(error)
    if printing { FileHandle.standardError.write(Data("dlstm: \(error.line)\n".utf8)) }
    // Rejected before MPI started, every rank exits alike; mpirun ends the job at the first non-zero
    // exit, which could kill rank 0 before it printed. The silent ranks let rank 0 go first.
    if !printing && !MPI.isInitialized { Thread.sleep(forTimeInterval: 1) }
    if MPI.isInitialized && !MPI.isFinalized { try? MPI.finalize() }
    Foundation.exit(error.status.rawValue)
}

/// In one process: any failure is one line and its status.
func runInProcess(_ body: () throws -> Void) rethrows {
    do {
        try body()
    } catch {
        exitReporting(error, printing: true)
    }
}

/// Under MPI: a failure every rank agreed on (bad input, a stop with a checkpoint) ends every rank
/// with its status, printed once by rank 0; any other failure is one rank's, and aborts the job.
func runUnderMPI(_ body: (Communicator) throws -> Void) -> Never {
    MPI.run { world in
        do {
            try body(world)
        } catch let error as RunError where error.isCollective {
            exitReporting(error, printing: world.rank == 0)
        }
    }
}
