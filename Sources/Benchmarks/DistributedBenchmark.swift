import DataSources
import Distributed
import Foundation
import LSTM
import MPI
import MPIBenchmark
import Trainers

/// `dlstm bench distributed`: bytes per step of the distributed trainers, and the DPF's step time
/// split into compute and communication next to raw exchanges of the same bytes; prints its figures.
public func runDistributedBenchmark(world: Communicator, steps: Int, skipLarge: Bool) throws {
    let topology = try Topology.ring(world.size)
    let reporter = world.rank == 0
    if reporter {
        print("dlstm bench distributed: \(world.size) ranks on a ring, teacher data p = 2, N = 80, s = 3\n")
        print("bytes sent per node and step (mean over nodes)")
        print(
            pad("n", 4) + pad("n_theta", 9) + pad("n_a", 7) + pad("dsgd", 12) + pad("dpf", 12) + pad("cpf", 12)
                + pad("dekf", 14))
    }
    for n in [2, 8, 32] {
        var row = [String]()
        for algorithm in [Algorithm.dsgd, .dpf, .cpf, .dekf] {
            if algorithm == .dekf && n == 32 && skipLarge {
                row.append("skipped")
                continue
            }
            let steps = algorithm == .dekf ? (n == 32 ? 1 : (n == 8 ? 3 : 10)) : (n == 32 ? 3 : 10)
            let (bytes, _) = try measure(algorithm, hidden: n, steps: steps, world: world, topology: topology)
            row.append(String(format: "%.4g", bytes))
        }
        if reporter {
            let shape = LSTMShape(hidden: n, input: 2)
            print(
                pad(String(n), 4) + pad(String(shape.parameterCount), 9) + pad(String(shape.stateCount), 7)
                    + pad(row[0], 12) + pad(row[1], 12) + pad(row[2], 12) + pad(row[3], 14))
        }
    }
    if reporter {
        print(
            "growth: dsgd and dpf ~ n_theta (dpf: s N (n_theta + 2) x 8 bytes moved), dekf ~ n_a^2 / 2 per neighbour,"
                + " cpf ~ (K - 1) K N x 8 (allgather of log-likelihoods)\n")
    }
    // DPF at the paper's size: per-step times.
    let (bytes, timing) = try measure(.dpf, hidden: 2, steps: steps, world: world, topology: topology)
    let bytesPerNeighbourPerMove = Int(bytes / 3 / Double(topology.degrees[0]))
    let raw = try MPIBenchmark.ringExchange(world: world, sizes: [max(8, bytesPerNeighbourPerMove)], rounds: 5)
    if reporter, let timing, let rawRow = raw.first {
        let rawPerStep = 3 * rawRow.cMedianSeconds
        print("DPF at the paper's size (n = 2, N = 80, s = 3), \(steps) steps: median step of the slowest node")
        print(
            String(
                format: "  total %.1f us = compute %.1f us + communication %.1f us", timing.total * 1e6,
                timing.compute * 1e6, timing.communication * 1e6))
        print(
            String(
                format: "  s = 3 raw neighbour exchanges of %d bytes per neighbour (C API, median round): %.1f us",
                bytesPerNeighbourPerMove, rawPerStep * 1e6))
        print(String(format: "  communication / raw = %.2f (target: at most 3)", timing.communication / rawPerStep))
    }
}

struct Timing {
    var total: Double
    var compute: Double
    var communication: Double
}

/// Runs `steps` steps of `algorithm`; returns bytes per node and step (mean over nodes), and at
/// rank 0 the median step of the slowest node (medians: a VM's occasional scheduling stall
/// would dominate a mean).
private func measure(_ algorithm: Algorithm, hidden: Int, steps: Int, world: Communicator, topology: Topology) throws
    -> (Double, Timing?)
{
    let network = try MPINetwork(world: world, topology: topology)
    var settings = DistributedSettings(model: LSTMModel(shape: LSTMShape(hidden: hidden, input: 2)))
    settings.ekf.initialVariance = 0.01
    let trainer = try makeTrainer(algorithm, settings: settings, network: network)
    let teacher = SyntheticTeacher(shape: LSTMShape(hidden: 2, input: 2), noiseVariance: 0.002, count: .max, seed: 9)
    var totals = [Double](), communications = [Double]()
    try world.barrier()
    for t in 0..<steps {
        let sample = [teacher.sample(t * world.size + world.rank)]
        let start = MPI.wallTime(), before = network.traffic[0].communicationSeconds
        _ = try trainer.predict(sample)
        try trainer.update(sample)
        totals.append(MPI.wallTime() - start)
        communications.append(network.traffic[0].communicationSeconds - before)
    }
    let bytes = try world.allreduce(Double(network.traffic[0].bytesSent), .sum) / Double(world.size) / Double(steps)
    let total = MPIBenchmark.median(totals), communication = MPIBenchmark.median(communications)
    let slowest = try world.allreduce([total, communication], .max)
    guard world.rank == 0 else { return (bytes, nil) }
    return (bytes, Timing(total: slowest[0], compute: slowest[0] - slowest[1], communication: slowest[1]))
}
