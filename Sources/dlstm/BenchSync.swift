import ArgumentParser
import Benchmarks

struct BenchSync: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sync",
        abstract: "What GM's and FGM's monitoring adds to a learner's step when nothing is violated.",
        discussion: """
            In one process (no MPI), 4 nodes, Adam: the time per node-step of the bare learners, and of GM and FGM \
            checking their local condition after every step with a threshold never reached, at D = 42 (n = 2) and \
            D = 1232 (n = 16). Under MPI each check also costs one nonblocking consensus (an allreduce of one \
            integer); that is the lockstep simulation's clock, measured by `bench mpi`, not the protocol's cost.

              .build/release/dlstm bench sync
            """
    )

    @Option(help: "Hidden sizes n, comma-separated.") var hidden = "2,16"
    @Option(help: "Interleaved repeats (medians are reported).") var repeats = 5

    func validate() throws {
        guard !hiddenSizes.isEmpty, hiddenSizes.allSatisfy({ $0 >= 1 }) else {
            throw ValidationError("--hidden \(hidden): hidden sizes, comma-separated, each at least 1")
        }
        guard repeats >= 1 else { throw ValidationError("--repeats \(repeats): must be at least 1") }
    }

    var hiddenSizes: [Int] { hidden.split(separator: ",").compactMap { Int($0) } }

    func run() throws { try runSyncBenchmark(hiddenSizes: hiddenSizes, repeats: repeats) }
}
