import ArgumentParser
import ConfigFiles
import Foundation
import Runs

@main
struct DLSTM: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dlstm",
        abstract: "Online training of LSTM regression models over a network of MPI ranks.",
        discussion: """
            Each MPI rank is one node of a graph; nodes talk only to their graph neighbours. Run the training \
            subcommands under mpirun, e.g.

              mpirun -np 4 dlstm experiment fx            # the paper's FX experiment: table and figure
              mpirun -np 4 dlstm train --algorithm dpf --out runs/dpf
              mpirun -np 4 dlstm train --config runs/dpf/config.toml   # the same run again
              dlstm plot results/fx                        # redraw the figures of a finished run
              dlstm scale --ranks 1,2,4 --mode strong      # a scaling study (starts mpirun itself)

            As root or with more ranks than cores, use scripts/mpirun-local, which sets what Open MPI needs for that.
            """,
        subcommands: [
            Train.self, Predict.self, Experiment.self, ELM.self, Plot.self, Scale.self, Demo.self, Bench.self,
            Checkpoint.self,
        ]
    )

    /// Expands `--config FILE` before parsing, and names the file when a bad option came from it.
    /// Under mpirun every rank parses the same arguments and rejects them alike, before MPI starts:
    /// so every rank exits with the same status, and only rank 0 prints the one line.
    static func main() {
        let expanded: (arguments: [String], origins: [String: String])
        do {
            expanded = try ConfigFile.expand(attachingNegativeValues(Array(CommandLine.arguments.dropFirst())))
        } catch {
            exitReporting(error)
        }
        let command: ParsableCommand
        do {
            command = try parseAsRoot(expanded.arguments)
        } catch {
            let message = self.message(for: error)
            guard exitCode(for: error) != .success else { exit(withError: error) }  // --help
            if let (key, file) = expanded.origins.first(where: { key, _ in
                ["'--\(key)'", "--\(key) ", "'--\(key) <"].contains { message.contains($0) }
            }) {
                exitReporting(RunError("\(file): '\(key)': \(message)"))
            }
            exitReporting(RunError(message))
        }
        do {
            var command = command
            try command.run()
        } catch let error as RunError {
            exitReporting(error)
        } catch {
            exit(withError: error)  // --help and ExitCode, which ArgumentParser handles
        }
    }
}

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Benchmarks that print their raw figures (build with -c release first).",
        subcommands: [
            BenchMPI.self, BenchModel.self, BenchDistributed.self, BenchSync.self, BenchELM.self, BenchPF.self,
        ]
    )
}

/// `--samples -5` as `--samples=-5`: ArgumentParser reads a value that starts with "-" as another
/// option and says "Missing value for '--samples <samples>'", hiding what was wrong; attached, the
/// value reaches the option's own check, which names the accepted range. (No dlstm option or
/// argument takes a value that looks like a negative number for another purpose.)
func attachingNegativeValues(_ arguments: [String]) -> [String] {
    var result = [String]()
    var index = 0
    while index < arguments.count {
        let argument = arguments[index]
        if argument.hasPrefix("--"), !argument.contains("="), index + 1 < arguments.count,
            looksNegative(arguments[index + 1])
        {
            result.append(argument + "=" + arguments[index + 1])
            index += 2
        } else {
            result.append(argument)
            index += 1
        }
    }
    return result
}

private func looksNegative(_ text: String) -> Bool {
    guard text.hasPrefix("-"), text.count > 1 else { return false }
    let rest = text.dropFirst()
    return rest.first!.isNumber || rest.hasPrefix(".") || rest.lowercased() == "inf"
}
