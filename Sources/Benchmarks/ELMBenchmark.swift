import CBLAS
import DataSources
import Distributed
import Foundation
import LSTM
import MPI
import Numerics
import Runs

/// `dlstm bench elm`: the ELM's two costs. (1) Feature generation against OpenBLAS dgemm's own
/// rate on the recurrent product's shape, measured in the same run (target: at least half of it).
/// (2) `elm fit` on a synthetic teacher over all ranks, time per phase, next to rank 0 alone
/// building every row and calling LAPACK's dgels on the whole matrix; the two readouts must agree
/// to 1e-10 (and at 2 ranks the fit should take at most 0.6 of dgels' time).
public func runELMBenchmark(world: Communicator, hiddenSizes: [Int], samples: Int, fitHidden: Int) throws {
    let reporter = world.rank == 0
    if reporter {
        print("dlstm bench elm: \(world.size) rank\(world.size == 1 ? "" : "s"), teacher data p = 2, lengths 1 to 5\n")
        print("feature generation (rank 0, one thread): 1000 sequences")
        print(pad("M", 6) + pad("GFLOP/s", 10) + pad("dgemm GFLOP/s", 15) + pad("ratio", 8) + "  (target: >= 0.5)")
        for m in hiddenSizes {
            let (features, gemm) = featureRates(hidden: m)
            print(
                pad(String(m), 6) + pad(String(format: "%.2f", features / 1e9), 10)
                    + pad(String(format: "%.2f", gemm / 1e9), 15) + pad(String(format: "%.2f", features / gemm), 8))
        }
        print("")
    }
    // elm fit over every rank: the same 'samples' rows whatever the rank count (blocks).
    var configuration = TrainingConfiguration()
    (configuration.algorithm, configuration.hidden, configuration.partition) = (.elm, fitHidden, .blocks)
    (configuration.samples, configuration.ridge, configuration.teacherHidden) = (samples / world.size, 0, 2)
    var fit = ELMFit(configuration: configuration)
    fit.testFraction = 0
    let network = try MPINetwork(world: world, topology: try Topology.ring(world.size))
    let report = try fit.run(on: network)
    guard reporter, let report else { return }
    // The fit's phases (each at its slowest rank), not the data's generation.
    let fitSeconds = report.phases.map(\.seconds).reduce(0, +)
    print(
        "elm fit, M = \(fitHidden), \(report.trainRows) rows over \(world.size) ranks: "
            + String(format: "%.3f s", fitSeconds))
    print("  " + report.phases.map { String(format: "%@ %.3f s", $0.name, $0.seconds) }.joined(separator: ", "))
    // Rank 0 alone: every row (the teacher's samples as the run's streams deal them in blocks), then dgels.
    let teacher = SyntheticTeacher(
        shape: LSTMShape(hidden: 2, input: configuration.teacherInput), pooling: configuration.pooling,
        parameterScale: configuration.teacherScale, noiseVariance: configuration.teacherNoise, lengths: 1...5,
        count: .max, seed: configuration.seed &+ 1_000_003)
    let features = ELMFeatures(
        model: LSTMModel(shape: LSTMShape(hidden: fitHidden, input: configuration.teacherInput)),
        seed: configuration.seed, scale: configuration.elmScale)
    let all = (0..<(samples / world.size * world.size)).map { teacher.sample($0) }
    let t0 = MPI.wallTime()
    var h = features.rows(all)
    let t1 = MPI.wallTime()
    var t = all.map(\.label)
    let c = features.featureCount
    let info = LAPACKE_dgels(
        LAPACK_ROW_MAJOR, Int8(UInt8(ascii: "N")), Int32(all.count), Int32(c), 1, &h, Int32(c), &t, 1)
    let t2 = MPI.wallTime()
    precondition(info == 0, "dgels: \(info)")
    let reference = Array(t[..<c])
    let scale = reference.map(abs).max()!
    let difference = zip(report.beta, reference).map { abs($0 - $1) }.max()! / scale
    print(
        String(
            format: "one process: features %.3f s + dgels %.3f s = %.3f s; fit / one process = %.2f "
                + "(target at 2 ranks: <= 0.6); readouts differ by %.1e relative (target <= 1e-10)",
            t1 - t0, t2 - t1, t2 - t0, fitSeconds / (t2 - t0), difference))
}

/// (features, dgemm) flop rates for 1000 sequences at hidden size `hidden`.
private func featureRates(hidden: Int) -> (Double, Double) {
    let p = 2, count = 1000
    let model = LSTMModel(shape: LSTMShape(hidden: hidden, input: p))
    let features = ELMFeatures(model: model, seed: 1, scale: 0.5)
    var random = RandomStream(seed: 2, purpose: .testing)
    let samples = (0..<count).map { i -> Sample in
        let m = 1 + i % 5
        return Sample(inputs: (0..<(m * p)).map { _ in random.nextGaussian() }, length: m, label: 0)
    }
    let columns = samples.map(\.length).reduce(0, +)
    // Per column: the input and recurrent products, 2 (p + n) 4n flops; the gates are not counted.
    let flops = Double(columns) * 2 * Double(p + hidden) * 4 * Double(hidden)
    func best(_ body: () -> Void) -> Double {
        (0..<5).map { _ in
            let start = DispatchTime.now().uptimeNanoseconds
            body()
            return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        }.min()!
    }
    let featureSeconds = best { _ = features.rows(samples) }
    // dgemm on the recurrent product's shape, 200 x n times n x 4n (a batch of one length), as often.
    let a = [Double](repeating: 0.5, count: 200 * hidden), b = [Double](repeating: 0.25, count: hidden * 4 * hidden)
    var c = [Double](repeating: 0, count: 200 * 4 * hidden)
    let repeats = columns / 200
    let gemmSeconds = best {
        for _ in 0..<repeats {
            cblas_dgemm(
                CblasRowMajor, CblasNoTrans, CblasTrans, 200, Int32(4 * hidden), Int32(hidden), 1, a, Int32(hidden), b,
                Int32(hidden), 1, &c, Int32(4 * hidden))
        }
    }
    let gemmFlops = Double(repeats) * 2 * 200 * Double(hidden) * 4 * Double(hidden)
    return (flops / featureSeconds, gemmFlops / gemmSeconds)
}
