import DataSources
import Distributed
import Foundation
import LSTM
import Trainers

/// `dlstm bench sync`: what GM's and FGM's monitoring adds to a learner's step when no condition
/// is violated (the common case they are designed for), at D = 42 (n = 2) and D in the thousands.
/// In one process, K = 4 nodes, Adam, a check after every step (b = 1), thresholds so large that
/// nothing is ever sent but the safe function is still evaluated. Repeats interleave the three
/// variants and report medians, because the machine is shared.
public func runSyncBenchmark(hiddenSizes: [Int], repeats: Int) throws {
    let k = 4
    print("dlstm bench sync: \(k) nodes in one process, Adam, teacher data p = 2, a check at every step")
    print("protocol cost = a silent check, timed alone / the learner step; target: at most 5%\n")
    print(
        pad("n", 4) + pad("D", 7) + pad("steps", 8) + pad("learner us", 12) + pad("gm us", 10) + pad("fgm us", 10)
            + pad("gm check us", 13) + pad("fgm check us", 14) + pad("gm cost", 10) + pad("fgm cost", 10))
    for n in hiddenSizes {
        let shape = LSTMShape(hidden: n, input: 2)
        let steps = max(200, 400_000 / shape.parameterCount)
        var times: [String: [Double]] = [:]
        for _ in 0..<repeats {
            times["learner", default: []].append(try timeProtocol(.avg, shape: shape, nodes: k, steps: steps))
            for algorithm in [Algorithm.gm, .fgm] {
                times[algorithm.rawValue, default: []].append(
                    try timeProtocol(algorithm, shape: shape, nodes: k, steps: steps))
            }
        }
        let learner = median(times["learner"]!), gm = median(times["gm"]!), fgm = median(times["fgm"]!)
        let gmCheck = try timeCheck(.gm, shape: shape, nodes: k, repeats: repeats)
        let fgmCheck = try timeCheck(.fgm, shape: shape, nodes: k, repeats: repeats)
        let cells = [learner, gm, fgm].map { String(format: "%.2f", $0 * 1e6) }
        print(
            pad(String(n), 4) + pad(String(shape.parameterCount), 7) + pad(String(steps), 8) + pad(cells[0], 12)
                + pad(cells[1], 10) + pad(cells[2], 10) + pad(String(format: "%.3f", gmCheck * 1e6), 13)
                + pad(String(format: "%.3f", fgmCheck * 1e6), 14)
                + pad(String(format: "%.1f%%", gmCheck / learner * 100), 10)
                + pad(String(format: "%.1f%%", fgmCheck / learner * 100), 10))
    }
    print(
        """

        learner, gm, fgm: median over \(repeats) repeats of the time per node-step of the whole trainer (the
        learner alone, then with GM's or FGM's check after every step); their differences are within this
        machine's noise. check: the protocol's own work on a silent check, timed alone (the models handed
        over, the local condition, the phase in which nobody speaks), per node; cost = check / learner step.
        """)
}

private let teacher = SyntheticTeacher(
    shape: LSTMShape(hidden: 2, input: 2), noiseVariance: 0.002, count: .max, seed: 9)

private func settings(_ shape: LSTMShape) -> DistributedSettings {
    var settings = DistributedSettings(model: LSTMModel(shape: shape))
    (settings.sgd.optimizer, settings.sgd.learningRate) = (.adam, 0.001)
    settings.sync.threshold = 1e300
    settings.sync.traceEvery = 0
    return settings
}

/// Seconds per node-step of `algorithm` with a check after every step; for `avg`, the learners
/// alone, through the same trainer and loop, with no synchronisation at all (b beyond the run).
private func timeProtocol(_ algorithm: Algorithm, shape: LSTMShape, nodes: Int, steps: Int) throws -> Double {
    let network = InProcessNetwork(topology: try Topology.ring(nodes))
    var settings = settings(shape)
    if algorithm == .avg { settings.sync.every = steps + 1 }
    let trainer = try SynchronizedLearners(algorithm, settings: settings, network: network)
    // Drawn before the clock starts: the teacher's forward pass costs as much as a learner's step.
    let data = (0..<steps).map { t in (0..<nodes).map { teacher.sample(t * nodes + $0) } }
    let start = DispatchTime.now().uptimeNanoseconds
    for samples in data {
        _ = try trainer.predict(samples)
        try trainer.update(samples)
    }
    let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 / Double(steps * nodes)
    precondition(network.traffic.allSatisfy { $0.messagesSent == 0 }, "the benchmark's threshold was violated")
    return seconds
}

/// Seconds per node of one silent check: `synchronize` on models within the threshold.
private func timeCheck(_ algorithm: Algorithm, shape: LSTMShape, nodes: Int, repeats: Int) throws -> Double {
    let network = InProcessNetwork(topology: try Topology.ring(nodes))
    let trainer = try SynchronizedLearners(algorithm, settings: settings(shape), network: network)
    let models = trainer.estimates.enumerated().map { a, model in model.map { $0 + 1e-3 * Double(a) } }
    var counters = [SyncCounters](repeating: SyncCounters(), count: nodes)
    let checks = max(1000, 4_000_000 / shape.parameterCount)
    var times = [Double]()
    for _ in 0..<repeats {
        let start = DispatchTime.now().uptimeNanoseconds
        for step in 1...checks {
            var current = models.map { $0 }
            if try trainer.synchronization.synchronize(step: step, models: &current, counters: &counters) {
                preconditionFailure("the benchmark's threshold was violated")
            }
        }
        times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 / Double(checks * nodes))
    }
    return median(times)
}

private func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }
