import ArgumentParser
import Foundation
import MPI
import MPIBenchmark

struct BenchMPI: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mpi",
        abstract: "Ping-pong latency and ring neighbour exchange: the Swift binding against the C API.",
        discussion: """
            Ping-pong runs between ranks 0 and 1 (one-way time = round trip / 2); the neighbour
            exchange runs on a ring of all ranks (neighbour alltoallv with counts exchanged first;
            the slowest rank's time is reported). Each size is measured in rounds that alternate
            binding and C API. 'best' columns are the fastest round of each (noise only adds
            time, so this is the cleaner estimate of the binding's own cost), 'median' the median
            round; ratio = binding / C API, so 1.05 means the binding adds 5%. Needs at least 2 ranks; the issue's figure uses 4:

              scripts/mpirun-local -np 4 .build/release/dlstm bench mpi
            """
    )

    @Option(help: "Smallest message in bytes.")
    var minBytes = 8

    @Option(help: "Largest message in bytes (4 MiB by default).")
    var maxBytes = 4 << 20

    @Option(help: "Rounds per message size, alternating binding and C API.")
    var rounds = 11

    @Flag(help: "A short run with fewer iterations, to check the benchmark works (not for figures).")
    var quick = false

    func validate() throws {
        guard minBytes >= 1, maxBytes >= minBytes else {
            throw ValidationError("--min-bytes must be at least 1 and at most --max-bytes")
        }
        guard rounds >= 1 else { throw ValidationError("--rounds must be at least 1") }
    }

    func run() throws {
        let sizes = MPIBenchmark.sizes(from: minBytes, to: maxBytes)
        let scale = quick ? 0.05 : 1.0
        let rounds = quick ? min(self.rounds, 3) : self.rounds
        MPI.run { world in
            guard world.size >= 2 else {
                throw ValidationError("dlstm bench mpi needs at least 2 ranks (mpirun -np 2 or more)")
            }
            let version = try MPI.libraryVersion()
            if world.rank == 0 {
                print("dlstm bench mpi: \(world.size) ranks, \(version.split(separator: ",").first ?? "")")
                print("times are per operation, best of \(rounds) rounds; ratio = binding / C API (best and median round)\n")
            }
            let pingPong = try MPIBenchmark.pingPong(world: world, sizes: sizes, rounds: rounds, scale: scale)
            if world.rank == 0 {
                print("ping-pong, rank 0 <-> rank 1, one-way latency")
                printTable(pingPong, sizeHeader: "bytes")
            }
            let ring = try MPIBenchmark.ringExchange(world: world, sizes: sizes.filter { $0 >= 8 && $0 <= 1 << 20 },
                                                     rounds: rounds, scale: scale)
            if world.rank == 0 {
                print("\nneighbour exchange on a ring of \(world.size), per neighbour and direction; "
                      + "'alloc' is the [[T]] convenience form")
                printTable(ring, sizeHeader: "bytes/nbr")
                for (name, rows) in [("ping-pong", pingPong), ("neighbour exchange", ring), ("all", pingPong + ring)] {
                    let best = rows.map(\.ratio), median = rows.map(\.medianRatio)
                    print("\(name): binding / C API, geometric mean over sizes: best rounds \(format(geometricMean(best), 3)), "
                          + "median rounds \(format(geometricMean(median), 3)); largest best-round ratio \(format(best.max()!, 3))")
                }
            }
        }
    }

    private func printTable(_ rows: [BenchmarkRow], sizeHeader: String) {
        let showAlloc = rows.contains { $0.convenienceSeconds != nil }
        var header = pad(sizeHeader, 10) + pad("iters", 7) + pad("binding us", 12) + pad("C API us", 12)
            + pad("ratio", 8) + pad("median", 8)
        if showAlloc { header += pad("alloc us", 12) + pad("ratio", 8) }
        print(header + pad("MB/s", 10))
        for row in rows {
            var line = pad(String(row.bytes), 10) + pad(String(row.iterations), 7)
                + pad(format(row.bindingSeconds * 1e6, 2), 12) + pad(format(row.cSeconds * 1e6, 2), 12)
                + pad(format(row.ratio, 3), 8) + pad(format(row.medianRatio, 3), 8)
            if let alloc = row.convenienceSeconds {
                line += pad(format(alloc * 1e6, 2), 12) + pad(format(alloc / row.cSeconds, 3), 8)
            }
            print(line + pad(format(Double(row.bytes) / row.bindingSeconds / 1e6, 1), 10))
        }
    }
}

func geometricMean(_ values: [Double]) -> Double {
    exp(values.map { log($0) }.reduce(0, +) / Double(values.count))
}

func pad(_ text: String, _ width: Int) -> String {
    text.count >= width ? text + " " : String(repeating: " ", count: width - text.count) + text
}

func format(_ value: Double, _ decimals: Int) -> String {
    String(format: "%.\(decimals)f", value)
}
