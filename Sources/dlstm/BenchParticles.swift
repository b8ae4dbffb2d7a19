import ArgumentParser
import Benchmarks
import Runs

struct BenchParticles: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "particles",
        abstract: "The DPF's time per node-step in one process, next to the numpy and JAX peers on the same sizes.",
        discussion: """
            4 nodes on a ring in-process, N = 80, s = 3, teacher sequences of 1 to 8 columns, n = p = each of \
            --sizes; steady state after --warm-up steps. With --anchors DIR (the directory of dpf_numpy.py and \
            dpf_jax.py), both peers run on the same sizes in the same run ("-" for one that cannot, e.g. without \
            JAX). One core, as the particle-store issue measures it:

              taskset -c 0 .build/release/dlstm bench particles --anchors ../shared/anchors --sizes 2,8,32
            """)

    @Option(help: "n = p values, comma-separated.") var sizes = "2,8"
    @Option(help: "Timed steps.") var steps = 2000
    @Option(help: "Untimed steps first.") var warmUp = 200
    @Option(help: ArgumentHelp("The directory holding dpf_numpy.py.", valueName: "DIR")) var anchors: String?

    func run() throws {
        let values = sizes.split(separator: ",").compactMap { Int($0) }
        guard !values.isEmpty, values.allSatisfy({ $0 >= 1 }), steps >= 1, warmUp >= 0 else {
            throw ValidationError("--sizes, --steps and --warm-up must be positive (sizes: e.g. 2,8)")
        }
        try runInProcess {
            try ParticleBenchmark(sizes: values, steps: steps, warmUp: warmUp, anchors: anchors).run { print($0) }
        }
    }
}
