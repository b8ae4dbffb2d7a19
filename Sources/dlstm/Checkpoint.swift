import ArgumentParser
import Foundation
import Runs

struct Checkpoint: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Look into the checkpoints a run wrote (no MPI).",
        subcommands: [Inspect.self])

    struct Inspect: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print what a checkpoint directory holds and whether --resume could use it.",
            discussion: """
                For the kept checkpoints (DIR/latest, then DIR/previous): the step, algorithm and node count, \
                every process's file with its size and whether its SHA-256 matches its content, the configuration \
                a resume must repeat, and the checkpoint --resume would continue from. Exit status 0 when one is \
                usable, 3 when none is.

                  dlstm checkpoint inspect runs/a/checkpoint
                """)

        @Argument(help: "A checkpoint directory (--checkpoint-dir, or OUT/checkpoint).") var directory: String

        func run() throws {
            do {
                let inspection = try CheckpointInspection(directory: directory)
                print(try inspection.report())
                if inspection.usable == nil {
                    throw RunError("\(directory): no checkpoint verifies", status: .data)
                }
            } catch {
                exitReporting(error)
            }
        }
    }
}
