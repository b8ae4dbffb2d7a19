import ArgumentParser
import Benchmarks
import Distributed
import LSTM
import Runs

struct BenchPF: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pf",
        abstract:
            "The DPF's time per node-step and its kernel's share, next to the numpy and JAX peers on the same sizes.",
        discussion: """
            4 nodes on a ring in-process, N = 80, s = 3, teacher sequences of 1 to 8 columns, n = p = each of \
            --sizes; steady state after --warm-up steps. Prints the step time, the time of the kernel evaluations \
            inside those steps and their ratio. With --anchors DIR (the directory of dpf_numpy.py and dpf_jax.py), \
            both peers run on the same sizes in the same run under --python; one that cannot run is a "-" column \
            and a line saying why. One core, as the particle-store issue measures it (scripts/bench-pf makes a \
            virtual environment with JAX on first use and runs this):

              taskset -c 0 .build/release/dlstm bench pf --anchors ../shared/anchors --sizes 2,8,32
            """)

    @Option(help: "n = p values, comma-separated.") var sizes = "2,8,32"
    @Option(help: "Timed steps.") var steps = 1000
    @Option(help: "Untimed steps first.") var warmUp = 100
    @Option(help: ArgumentHelp("The directory holding dpf_numpy.py and dpf_jax.py.", valueName: "DIR"))
    var anchors: String?
    @Option(help: ArgumentHelp("The Python that runs the peers.", valueName: "PATH")) var python = "python3"
    @Option(help: "The peers' timed steps (--T).") var anchorSteps = 300
    @Option(help: "The particle evaluation's precision (the peers' is double).") var precision = Precision.double
    @Option(help: "The walk: the paper's (simple), lazy or metropolis; the peers run only the paper's.")
    var walk = WalkKind.simple

    func run() throws {
        let values = sizes.split(separator: ",").compactMap { Int($0) }
        guard !values.isEmpty, values.allSatisfy({ $0 >= 1 }), steps >= 1, warmUp >= 0, anchorSteps >= 1 else {
            throw ValidationError("--sizes, --steps, --warm-up and --anchor-steps must be positive (sizes: e.g. 2,8)")
        }
        try runInProcess {
            var benchmark = ParticleBenchmark(sizes: values, steps: steps, warmUp: warmUp, anchors: anchors)
            (benchmark.python, benchmark.anchorSteps, benchmark.precision) = (python, anchorSteps, precision)
            benchmark.walk = walk
            try benchmark.run { print($0) }
        }
    }
}
