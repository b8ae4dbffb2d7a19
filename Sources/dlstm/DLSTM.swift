import ArgumentParser

@main
struct DLSTM: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dlstm",
        abstract: "Online training of LSTM regression models over a network of MPI ranks.",
        discussion: """
            Each MPI rank is one node of a graph; nodes talk only to their graph neighbours.
            Run every subcommand under mpirun, e.g.

              mpirun -np 4 dlstm train --algorithm dpf --out runs/dpf
              mpirun -np 4 dlstm demo
              mpirun -np 4 dlstm bench mpi

            As root or with more ranks than cores, use scripts/mpirun-local, which sets what
            Open MPI needs for that.
            """,
        subcommands: [Train.self, Demo.self, Bench.self]
    )
}

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Benchmarks that print their raw figures (build with -c release first).",
        subcommands: [BenchMPI.self, BenchModel.self, BenchDistributed.self]
    )
}
