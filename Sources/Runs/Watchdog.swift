import Foundation
import MPI

/// `--timeout`: a thread that ends the whole job if the run has not finished in time, whatever the
/// main thread is doing (computing, or blocked in a collective that will never complete because a
/// rank died or hangs). Rank 0 fires first, so its message is the one users see; the other ranks
/// fire a few seconds later in case rank 0 itself is the one that hangs.
final class Watchdog: @unchecked Sendable {
    private let lock = NSLock()
    private var step = 0
    private var finished = false

    init(seconds: Double, steps: Int, isFirstToFire: Bool) {
        let delay = seconds + (isFirstToFire ? 0 : 5)
        Thread.detachNewThread { [self] in
            Thread.sleep(forTimeInterval: delay)
            lock.lock()
            let (done, current) = (finished, step)
            lock.unlock()
            guard !done else { return }
            // MPI_Abort from this thread: Open MPI allows it at any thread level, and nothing else
            // can end a job whose main thread is stuck in a collective.
            MPI.abort(
                "--timeout \(String(format: "%g", seconds)) s reached at step \(current) of \(steps); aborting the job",
                exitCode: ExitStatus.timeout.rawValue)
        }
    }

    func reached(step: Int) {
        lock.lock()
        self.step = step
        lock.unlock()
    }

    func finish() {
        lock.lock()
        finished = true
        lock.unlock()
    }
}
