import ArgumentParser
import Experiments
import Foundation
import Runs

struct Plot: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Draw the figures and tables of finished runs from their result files (no MPI).",
        discussion: """
            DIR may be one run of `dlstm train --out DIR` (DIR/summary.json), an experiment of several runs \
            (DIR/*/summary.json, as `dlstm experiment` writes) or a scaling study (DIR/scaling.json, as `dlstm scale` \
            writes). Figures are SVG files, which any browser shows:

              DIR/mse.svg            time-averaged MSE against samples per node, every run
              DIR/communication.svg  bytes each node sent per step, every run
              DIR/ess.svg            particle filters' effective sample size / N against samples per node
              DIR/table.md, .csv     final MSE, samples to converge, bytes, seconds
              DIR/scaling.svg        speedup and parallel efficiency against ranks (scaling study)

            Examples:
              dlstm plot results/fx
              dlstm plot runs/dpf
              rsvg-convert -o mse.png results/fx/mse.svg   # a PNG, e.g. for slides
            """
    )

    @Argument(help: "A result directory.") var directory: String
    @Flag(help: "Print nothing but errors.") var quiet = false

    func run() throws {
        do {
            let written = try plotResults(in: directory, title: nil)
            if !quiet {
                if let table = written.table { print(table) }
                for file in written.files { print("wrote \(file)") }
            }
        } catch {
            exitReporting(error)
        }
    }
}
