import Foundation
import MPI
import MPIBenchmark

/// `dlstm bench mpi`: ping-pong and ring neighbour exchange, the binding against the C API.
public func runMPIBenchmark(world: Communicator, sizes: [Int], rounds: Int, scale: Double) throws {
    guard world.size >= 2 else {
        throw BenchmarkError("dlstm bench mpi needs at least 2 ranks (mpirun -np 2 or more)")
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
    let ring = try MPIBenchmark.ringExchange(
        world: world, sizes: sizes.filter { $0 >= 8 && $0 <= 1 << 20 },
        rounds: rounds, scale: scale)
    if world.rank == 0 {
        print(
            "\nneighbour exchange on a ring of \(world.size), per neighbour and direction; "
                + "'alloc' is the [[T]] convenience form")
        printTable(ring, sizeHeader: "bytes/nbr")
        for (name, rows) in [("ping-pong", pingPong), ("neighbour exchange", ring), ("all", pingPong + ring)] {
            let best = rows.map(\.ratio), median = rows.map(\.medianRatio)
            print(
                "\(name): binding / C API, geometric mean over sizes: best rounds \(format(geometricMean(best), 3)), "
                    + "median rounds \(format(geometricMean(median), 3)); largest best-round ratio "
                    + "\(format(best.max()!, 3))"
            )
        }
    }
}

private func printTable(_ rows: [BenchmarkRow], sizeHeader: String) {
    let showAlloc = rows.contains { $0.convenienceSeconds != nil }
    var header =
        pad(sizeHeader, 10) + pad("iters", 7) + pad("binding us", 12) + pad("C API us", 12)
        + pad("ratio", 8) + pad("median", 8)
    if showAlloc { header += pad("alloc us", 12) + pad("ratio", 8) }
    print(header + pad("MB/s", 10))
    for row in rows {
        var line =
            pad(String(row.bytes), 10) + pad(String(row.iterations), 7)
            + pad(format(row.bindingSeconds * 1e6, 2), 12) + pad(format(row.cSeconds * 1e6, 2), 12)
            + pad(format(row.ratio, 3), 8) + pad(format(row.medianRatio, 3), 8)
        if let alloc = row.convenienceSeconds {
            line += pad(format(alloc * 1e6, 2), 12) + pad(format(alloc / row.cSeconds, 3), 8)
        }
        print(line + pad(format(Double(row.bytes) / row.bindingSeconds / 1e6, 1), 10))
    }
}

/// A benchmark that cannot run as asked.
public struct BenchmarkError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
