import Foundation
import Runs

/// Prints a run as it goes, at rank 0: the banner (unless `banner` is false, as in an experiment
/// that prints its own), progress lines, and the final line.
final class ConsoleObserver: RunObserver {
    let banner: Bool
    private var label = ""
    private var nodes = 1

    init(banner: Bool = true) { self.banner = banner }

    func started(_ run: RunDescription) {
        (label, nodes) = (run.label, run.topology.nodeCount)
        guard banner else { return }
        let c = run.configuration
        print("dlstm train: \(run.label) on \(nodes) node\(nodes == 1 ? "" : "s"), \(run.context.placement)")
        for line in run.context.environmentLines { print("  " + line) }
        if c.algorithm.hasCoordinator {
            print(
                "  protocol network: a star around coordinator node \(c.coordinator) (the adjacency matrix, "
                    + "\(run.topology.name), is not used by \(c.algorithm.rawValue))")
        } else {
            print(
                "  topology \(run.topology.name): |E| = \(run.topology.edgeCount), SLEM of the \(c.walk.rawValue) "
                    + "walk = " + String(format: "%.4f", run.walk.slem) + (run.walk.isPeriodic ? " (periodic)" : ""))
        }
        print(
            "  data \(c.data): \(run.steps) steps per node, p = \(run.inputSize), n = \(c.hidden), n_theta = "
                + "\(run.parameterCount)"
        )
        print(
            "  configuration (a --config file for this run"
                + (run.resultsDirectory.map { ", also in \($0)/config.toml" } ?? "") + "):")
        for line in ((try? c.toml()) ?? "").split(separator: "\n") { print("    " + line) }
        if run.hasPeriodicWalkWithOddSteps {
            print(
                "  warning: the \(c.walk.rawValue) walk on this graph is periodic and s = \(c.walkSteps) is odd: a "
                    + "particle's exponents depend on where it started; use --walk lazy or metropolis, or an even "
                    + "--walk-steps"
            )
        }
    }

    func resumed(afterStep step: Int, from directory: String, rejected: [String]) {
        let fallback =
            rejected.isEmpty ? "" : "; the newer checkpoint did not verify: " + rejected.joined(separator: "; ")
        print("  resuming after step \(step) from \(directory) (checksums verified on every process\(fallback))")
        fflush(nil)
    }

    func progress(_ progress: RunProgress) {
        print(
            "  \(label) step \(progress.step)/\(progress.steps): "
                + String(
                    format: "%.0f samples/s, MSE so far %.5g, ETA %.0f s",
                    progress.stepsPerSecond * Double(nodes), progress.mse, progress.etaSeconds))
        // Into a log file (Slurm's output, `> log`) as it goes, not a buffer's worth at a time.
        fflush(nil)
    }

    func finished(_ report: RunReport, resultsDirectory: String?) {
        print(
            "  \(label): "
                + String(
                    format: "final MSE %.6g (last 10%% of %d steps, mean over nodes); %.0f bytes sent per node; %.2f s",
                    report.finalMSE, report.steps, report.meanBytesPerNode, report.wallSeconds)
                + (resultsDirectory.map { "; results in \($0)" } ?? ""))
    }
}
