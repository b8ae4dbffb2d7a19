import Foundation
import LSTM

/// What one node did over a run, as the reporter receives it.
public struct NodeRecord: Sendable {
    public var node: Int
    /// d_hat before the label, and the label, at each step.
    public var predictions: [Double]
    public var labels: [Double]
    public var traffic: Traffic
    /// Step time minus communication time.
    public var computeSeconds: Double
    public var diagnostics: [String: Double]

    /// (d - d_hat)^2 at each step: the prequential errors.
    public var squaredErrors: [Double] { zip(labels, predictions).map { ($0 - $1) * ($0 - $1) } }
}

/// A progress report, every `progressSeconds` or so, at the reporter only.
public struct Progress: Sendable {
    public var step: Int
    public var steps: Int
    /// Wall time since the first step, on the slowest process.
    public var elapsedSeconds: Double
    /// Time-averaged squared error so far, averaged over nodes.
    public var mse: Double
    /// Steps per second so far, and the time left at that rate.
    public var stepsPerSecond: Double { Double(step) / max(elapsedSeconds, 1e-9) }
    public var etaSeconds: Double { Double(steps - step) / stepsPerSecond }
}

/// When to look at the clock: every process must take part in the same report collectives, so the
/// schedule is in steps, set from what every process measured (the slowest one), never from one
/// process's own clock alone. Checks come about four times per report interval.
struct ProgressSchedule {
    let intervalSeconds: Double
    private(set) var nextCheck = 1
    private var lastReport = 0.0

    init(intervalSeconds: Double) { self.intervalSeconds = intervalSeconds }

    func isCheck(step: Int) -> Bool { intervalSeconds > 0 && step == nextCheck }

    /// After a check at `step`, with the slowest process's elapsed time: whether to report now.
    mutating func checked(step: Int, elapsedSeconds: Double) -> Bool {
        let secondsPerStep = elapsedSeconds / Double(step)
        let stride = secondsPerStep > 0 ? Int((intervalSeconds / 4 / secondsPerStep).rounded(.down)) : 1000
        nextCheck = step + min(max(stride, 1), 1000)
        guard elapsedSeconds - lastReport >= intervalSeconds else { return false }
        lastReport = elapsedSeconds
        return true
    }
}

/// Runs the online protocol for `steps` steps at every local node: predict, record the error,
/// update. Metrics stay with their node until the reporter gathers them (for progress every
/// `progressSeconds`, and at the end); no trainer reads them.
public struct TrainingRun {
    public let network: Network
    public let trainer: DistributedTrainer
    public let steps: Int
    /// Seconds between progress reports (0: none).
    public var progressSeconds: Double
    /// The next sample of local node a (its index in `network.localNodes`).
    public let nextSample: (Int) throws -> Sample

    public init(network: Network, trainer: DistributedTrainer, steps: Int, progressSeconds: Double = 0,
                nextSample: @escaping (Int) throws -> Sample) {
        self.network = network
        self.trainer = trainer
        self.steps = steps
        self.progressSeconds = progressSeconds
        self.nextSample = nextSample
    }

    /// Returns every node's record at the reporter, nil elsewhere.
    public func run(progress: (Progress) -> Void = { _ in }) throws -> [NodeRecord]? {
        precondition(steps >= 1, "a run needs at least one step")
        let local = network.localNodes.count
        var predictions = [[Double]](repeating: [], count: local)
        var labels = predictions
        var computeSeconds = [Double](repeating: 0, count: local)
        var errorSums = [Double](repeating: 0, count: local)
        let start = DispatchTime.now().uptimeNanoseconds
        var schedule = ProgressSchedule(intervalSeconds: progressSeconds)
        for step in 1...steps {
            let samples = try (0..<local).map { try nextSample($0) }
            let stepStart = DispatchTime.now().uptimeNanoseconds
            let communicationBefore = network.traffic.map(\.communicationSeconds)
            let estimates = try trainer.predict(samples)
            for a in 0..<local {
                predictions[a].append(estimates[a])
                labels[a].append(samples[a].label)
                errorSums[a] += (samples[a].label - estimates[a]) * (samples[a].label - estimates[a])
            }
            try trainer.update(samples)
            let stepSeconds = Double(DispatchTime.now().uptimeNanoseconds - stepStart) / 1e9 / Double(local)
            for a in 0..<local {
                computeSeconds[a] += max(0, stepSeconds - (network.traffic[a].communicationSeconds - communicationBefore[a]))
            }
            if schedule.isCheck(step: step) && step < steps {
                let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
                let gathered = try network.allgatherForReport(errorSums.map { [$0, elapsed] })
                let slowest = gathered.map { $0[1] }.max()!
                if schedule.checked(step: step, elapsedSeconds: slowest) && network.isReporter {
                    let mse = gathered.map { $0[0] / Double(step) }.reduce(0, +) / Double(gathered.count)
                    progress(Progress(step: step, steps: steps, elapsedSeconds: slowest, mse: mse))
                }
            }
        }
        // Gathered in three collectives: curves, then counters, then diagnostics (keys sorted).
        let curves = try network.gatherForReport((0..<local).map { predictions[$0] + labels[$0] })
        let counters = try network.gatherForReport((0..<local).map {
            [Double(network.traffic[$0].bytesSent), Double(network.traffic[$0].messagesSent),
             network.traffic[$0].communicationSeconds, computeSeconds[$0]]
        })
        let diagnostics = trainer.diagnostics
        let keys = (diagnostics.first ?? [:]).keys.sorted()
        let gatheredDiagnostics = try network.gatherForReport((0..<local).map { a in keys.map { diagnostics[a][$0] ?? 0 } })
        guard let curves, let counters, let gatheredDiagnostics else { return nil }
        return curves.indices.map { k in
            var traffic = Traffic()
            traffic.bytesSent = Int(counters[k][0])
            traffic.messagesSent = Int(counters[k][1])
            traffic.communicationSeconds = counters[k][2]
            let half = curves[k].count / 2
            return NodeRecord(node: k, predictions: Array(curves[k][..<half]), labels: Array(curves[k][half...]),
                              traffic: traffic, computeSeconds: counters[k][3],
                              diagnostics: Dictionary(uniqueKeysWithValues: zip(keys, gatheredDiagnostics[k])))
        }
    }
}
