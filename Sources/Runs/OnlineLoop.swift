import Distributed
import Foundation
import LSTM
import Trainers

/// Runs the online protocol for `steps` steps at every local node: predict, record the error,
/// update. Metrics stay with their node until the reporter gathers them (for progress every
/// `progressSeconds`, and at the end); no trainer reads them.
public struct OnlineLoop {
    public let network: Network
    public let trainer: DistributedTrainer
    public let steps: Int
    /// Seconds between progress reports (0: none).
    public var progressSeconds: Double
    /// The next sample of local node a (its index in `network.localNodes`).
    public let nextSample: (Int) throws -> Sample
    /// The trivial predictor each node's errors are compared with.
    public var baseline: TrivialPredictor

    public init(
        network: Network, trainer: DistributedTrainer, steps: Int, progressSeconds: Double = 0,
        baseline: TrivialPredictor = TrivialPredictor(kind: .runningMean),
        nextSample: @escaping (Int) throws -> Sample
    ) {
        self.baseline = baseline
        self.network = network
        self.trainer = trainer
        self.steps = steps
        self.progressSeconds = progressSeconds
        self.nextSample = nextSample
    }

    /// Where a run stands after `step` steps, per local node: what a checkpoint saves besides the
    /// trainer's own state (the data streams' positions are the step count).
    public struct State: Sendable {
        public var step = 0
        public var predictions: [[Double]]
        public var labels: [[Double]]
        public var computeSeconds: [Double]
        public var errorSums: [Double]
        public var traffic: [Traffic]
        /// A particle filter's SMC trace: `FilterStepTrace.columns` per step, back to back.
        public var filterTraces: [[Double]]
        /// The trivial predictor's prediction at each step.
        public var baselinePredictions: [[Double]]

        public init(localNodes: Int) {
            predictions = [[Double]](repeating: [], count: localNodes)
            labels = predictions
            computeSeconds = [Double](repeating: 0, count: localNodes)
            errorSums = computeSeconds
            traffic = [Traffic](repeating: Traffic(), count: localNodes)
            filterTraces = predictions
            baselinePredictions = predictions
        }

        /// Local node a's part, for a checkpoint.
        public func record(node a: Int) -> CheckpointRecord {
            var record = CheckpointRecord()
            record.append("step", step)
            record.append("predictions", predictions[a])
            record.append("labels", labels[a])
            record.append("compute_seconds", [computeSeconds[a]])
            record.append("error_sum", [errorSums[a]])
            record.append("bytes_sent", traffic[a].bytesSent)
            record.append("messages_sent", traffic[a].messagesSent)
            record.append("communication_seconds", [traffic[a].communicationSeconds])
            record.append("filter_trace", filterTraces[a])
            record.append("baseline_predictions", baselinePredictions[a])
            return record
        }

        /// From every local node's `record(node:)`.
        public init(records: [CheckpointRecord]) throws {
            self.init(localNodes: records.count)
            for (a, record) in records.enumerated() {
                step = try record.int("step")
                predictions[a] = try record.doubles("predictions", count: step)
                labels[a] = try record.doubles("labels", count: step)
                computeSeconds[a] = try record.doubles("compute_seconds", count: 1)[0]
                errorSums[a] = try record.doubles("error_sum", count: 1)[0]
                traffic[a].bytesSent = try record.int("bytes_sent")
                traffic[a].messagesSent = try record.int("messages_sent")
                traffic[a].communicationSeconds = try record.doubles("communication_seconds", count: 1)[0]
                filterTraces[a] = try record.doubles("filter_trace")
                baselinePredictions[a] = try record.doubles("baseline_predictions", count: step)
                let traced = filterTraces[a].count
                guard traced == 0 || traced == step * FilterStepTrace.columns.count else {
                    throw TrainerError.malformedCheckpoint("an SMC trace of \(traced) numbers at step \(step)")
                }
            }
        }
    }

    /// Checkpoints every `every` steps (0: never), and on a stop: `save` writes one collectively.
    public struct Checkpointing {
        public var every: Int
        public var save: (State) throws -> Void
        public init(every: Int, save: @escaping (State) throws -> Void) {
            (self.every, self.save) = (every, save)
        }
    }

    /// Seconds between the collective checks of the stop signal.
    public static let stopCheckSeconds = 0.25

    /// Every process stopped after `step` because one of them got `signal`; with checkpoints, one
    /// was written first.
    public struct RunStopped: Error, CustomStringConvertible {
        public let step: Int
        public let signal: Int32
        public let checkpointed: Bool
        public var description: String { "stopped after step \(step) on signal \(signal)" }
    }

    /// Returns every node's record at the reporter, nil elsewhere. `resume` continues a run from
    /// a checkpoint's state (the trainer restored by the caller, the streams already past it).
    /// `stopSignal` is polled at the collective checks (at least every `stopCheckSeconds`): when it
    /// is non-zero on any process, all of them stop at the same step boundary, checkpoint if they
    /// can, and throw `RunStopped`.
    public func run(
        resume: State? = nil, checkpointing: Checkpointing? = nil, stopSignal: (() -> Int32)? = nil,
        progress: (RunProgress) -> Void = { _ in }
    ) throws -> [NodeRecord]? {
        precondition(steps >= 1, "a run needs at least one step")
        var state = resume ?? State(localNodes: network.localNodes.count)
        if resume != nil { network.traffic = state.traffic }
        let firstStep = state.step + 1
        var baselines = state.labels.map { labels in
            var predictor = baseline
            predictor.replay(labels: labels)
            return predictor
        }
        let start = DispatchTime.now().uptimeNanoseconds
        var checkSeconds = progressSeconds / 4
        if stopSignal != nil {
            checkSeconds = checkSeconds > 0 ? min(checkSeconds, Self.stopCheckSeconds) : Self.stopCheckSeconds
        }
        var schedule = ProgressSchedule(intervalSeconds: progressSeconds, checkSeconds: checkSeconds)
        for step in stride(from: firstStep, through: steps, by: 1) {
            try take(step: step, state: &state, baselines: &baselines)
            let taken = step - firstStep + 1
            if schedule.isCheck(step: taken) && step < steps {
                let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
                let signal = try check(
                    state, taken: taken, elapsedSeconds: elapsed, schedule: &schedule, stopSignal: stopSignal,
                    progress: progress)
                if let signal {
                    if let checkpointing { try save(&state, with: checkpointing) }
                    throw RunStopped(step: step, signal: signal, checkpointed: checkpointing != nil)
                }
            }
            if let checkpointing, checkpointing.every > 0, step % checkpointing.every == 0, step < steps {
                try save(&state, with: checkpointing)
            }
        }
        return try gather(state)
    }

    /// One step at every local node: predict, record the errors (and the trivial predictor's), update.
    private func take(step: Int, state: inout State, baselines: inout [TrivialPredictor]) throws {
        let local = network.localNodes.count
        let samples = try (0..<local).map { try nextSample($0) }
        let stepStart = DispatchTime.now().uptimeNanoseconds
        let communicationBefore = network.traffic.map(\.communicationSeconds)
        let estimates = try trainer.predict(samples)
        for a in 0..<local {
            state.baselinePredictions[a].append(baselines[a].predict(samples[a]))
            baselines[a].observe(label: samples[a].label)
            state.predictions[a].append(estimates[a])
            state.labels[a].append(samples[a].label)
            state.errorSums[a] += (samples[a].label - estimates[a]) * (samples[a].label - estimates[a])
        }
        try trainer.update(samples)
        if let traces = trainer.stepTraces {
            for a in 0..<local { state.filterTraces[a] += traces[a].row }
        }
        let stepSeconds = Double(DispatchTime.now().uptimeNanoseconds - stepStart) / 1e9 / Double(local)
        for a in 0..<local {
            state.computeSeconds[a] += max(
                0, stepSeconds - (network.traffic[a].communicationSeconds - communicationBefore[a]))
        }
        state.step = step
    }

    /// The collective check: every process's error sums, elapsed time and stop signal, gathered; the
    /// reporter's progress line when one is due. Returns the lowest-numbered process's signal, so every
    /// process names the same one, or nil to go on.
    private func check(
        _ state: State, taken: Int, elapsedSeconds: Double, schedule: inout ProgressSchedule,
        stopSignal: (() -> Int32)?, progress: (RunProgress) -> Void
    ) throws -> Int32? {
        let stop = Double(stopSignal?() ?? 0)
        let gathered = try network.allgatherForReport(state.errorSums.map { [$0, elapsedSeconds, stop] })
        let slowest = gathered.map { $0[1] }.max()!
        if schedule.checked(step: taken, elapsedSeconds: slowest) && network.isReporter {
            let mse = gathered.map { $0[0] / Double(state.step) }.reduce(0, +) / Double(gathered.count)
            progress(RunProgress(step: state.step, steps: steps, elapsedSeconds: slowest, mse: mse))
        }
        return gathered.first(where: { $0[2] > 0 }).map { Int32($0[2]) }
    }

    private func save(_ state: inout State, with checkpointing: Checkpointing) throws {
        state.traffic = network.traffic
        try checkpointing.save(state)
    }

    /// Every node's record, gathered at the reporter (nil elsewhere) in a fixed order of collectives:
    /// curves, counters, diagnostics (keys sorted), estimates, SMC traces, clouds.
    private func gather(_ state: State) throws -> [NodeRecord]? {
        let local = network.localNodes.count
        let curves = try network.gatherForReport(
            (0..<local).map { state.predictions[$0] + state.labels[$0] + state.baselinePredictions[$0] })
        let counters = try network.gatherForReport(
            (0..<local).map {
                [
                    Double(network.traffic[$0].bytesSent), Double(network.traffic[$0].messagesSent),
                    network.traffic[$0].communicationSeconds, state.computeSeconds[$0],
                ]
            })
        let diagnostics = trainer.diagnostics
        let keys = (diagnostics.first ?? [:]).keys.sorted()
        let gatheredDiagnostics = try network.gatherForReport(
            (0..<local).map { a in keys.map { diagnostics[a][$0] ?? 0 } })
        let estimates = try network.gatherForReport(trainer.estimates)
        // Every process runs the same trainer, so every one takes part in these gathers or none does.
        let filterTraces = try trainer.stepTraces.map { _ in try network.gatherForReport(state.filterTraces) }
        // A particle filter's clouds, each as [N, log-weights, particles].
        let clouds = try trainer.particleClouds.map { local in
            try network.gatherForReport(local.map { [Double($0.logWeights.count)] + $0.logWeights + $0.particles })
        }
        guard let curves, let counters, let gatheredDiagnostics, let estimates else { return nil }
        let gathered = Gathered(
            curves: curves, counters: counters, diagnosticKeys: keys, diagnostics: gatheredDiagnostics,
            estimates: estimates, filterTraces: filterTraces.flatMap { $0 }, clouds: clouds.flatMap { $0 })
        return curves.indices.map(gathered.record)
    }

    /// What the reporter gathered, node by node.
    private struct Gathered {
        /// Per node: its predictions, labels and the trivial predictor's predictions, back to back.
        var curves: [[Double]]
        /// Per node: bytes and messages sent, communication and compute seconds.
        var counters: [[Double]]
        var diagnosticKeys: [String]
        var diagnostics: [[Double]]
        var estimates: [[Double]]
        var filterTraces: [[Double]]?
        /// Per node: [N, log-weights, particles].
        var clouds: [[Double]]?

        func record(_ k: Int) -> NodeRecord {
            var traffic = Traffic()
            traffic.bytesSent = Int(counters[k][0])
            traffic.messagesSent = Int(counters[k][1])
            traffic.communicationSeconds = counters[k][2]
            let third = curves[k].count / 3
            return NodeRecord(
                node: k, predictions: Array(curves[k][..<third]), labels: Array(curves[k][third..<(2 * third)]),
                baselinePredictions: Array(curves[k][(2 * third)...]),
                traffic: traffic, computeSeconds: counters[k][3],
                diagnostics: Dictionary(uniqueKeysWithValues: zip(diagnosticKeys, diagnostics[k])),
                estimate: estimates[k], filterTrace: filterTraces?[k] ?? [],
                cloud: clouds.map { all in
                    let count = Int(all[k][0])
                    return ParticleCloudSnapshot(
                        particles: Array(all[k][(1 + count)...]), logWeights: Array(all[k][1..<(1 + count)]))
                })
        }
    }
}
