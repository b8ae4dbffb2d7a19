import Distributed
import Foundation
import Trainers

/// The reporter's view of a finished run: the metric definitions, summary.json and the per-node
/// curves.
public struct RunReport {
    public let records: [NodeRecord]
    /// The trainer's per-step trace (the synchronisation protocols' divergence), if it keeps one.
    public var trace: TrainerTrace? = nil
    public let configuration: TrainingConfiguration
    /// The name in tables and legends: the algorithm, or a variant such as "dpf-metropolis".
    public let label: String
    public let settings: DistributedSettings
    public let topology: Topology
    public let walk: RandomWalk
    public let transport: String
    public let wallSeconds: Double
    /// MPI processes (1 in-process).
    public let processes: Int

    public var steps: Int { records.first?.labels.count ?? 0 }

    /// Mean squared error over the last 10% of steps (at least one), averaged over nodes.
    public var finalMSE: Double { finalMSE(\.squaredErrors) }

    /// The trivial predictor's final MSE, over the same window (`TrivialPredictor`).
    public var baselineFinalMSE: Double { finalMSE(\.baselineSquaredErrors) }

    func finalMSE(_ errors: (NodeRecord) -> [Double]) -> Double {
        let tail = max(1, steps / 10)
        return records.map { errors($0).suffix(tail).reduce(0, +) / Double(tail) }.reduce(0, +)
            / Double(records.count)
    }

    /// The paper's MSE curve: time-averaged squared error up to step t, averaged over nodes.
    public var timeAveragedMSE: [Double] { timeAveragedMSE(\.squaredErrors) }

    func timeAveragedMSE(_ errors: (NodeRecord) -> [Double]) -> [Double] {
        var curve = [Double](repeating: 0, count: steps)
        for record in records {
            var sum = 0.0
            for (t, e) in errors(record).enumerated() {
                sum += e
                curve[t] += sum / Double(t + 1) / Double(records.count)
            }
        }
        return curve
    }

    /// Convergence speed: the first step at which the mean squared error over the trailing window
    /// (the final-MSE window, 10% of the steps; mean over nodes) is within 10% of the final MSE.
    public var samplesToWithin10Percent: Int {
        let window = max(1, steps / 10)
        var perStep = [Double](repeating: 0, count: steps)
        for record in records {
            for (t, e) in record.squaredErrors.enumerated() { perStep[t] += e / Double(records.count) }
        }
        return firstStepWithin(perStep, window: window, of: finalMSE, tolerance: 0.1)
    }

    public var meanBytesPerNode: Double {
        Double(records.map(\.traffic.bytesSent).reduce(0, +)) / Double(records.count)
    }

    /// At most ~500 points of a per-step curve: enough to draw, small enough to read.
    func drawable(_ curve: [Double]) -> [[Double]] {
        let stride = max(1, curve.count / 500)
        return Swift.stride(from: stride - 1, to: curve.count, by: stride).map { [Double($0 + 1), curve[$0]] }
            + (curve.count % stride == 0 ? [] : [[Double(curve.count), curve[curve.count - 1]]])
    }

    /// summary.json's figures.
    public func summary() -> RunSummary {
        let curve = timeAveragedMSE
        let baselineCurve = timeAveragedMSE(\.baselineSquaredErrors)
        var diagnostics = [String: [Double]]()
        for key in records.first?.diagnostics.keys.sorted() ?? [] {
            diagnostics[key] = records.map { $0.diagnostics[key] ?? 0 }
        }
        return RunSummary(
            algorithm: configuration.algorithm.rawValue, label: label, processes: processes,
            parameters: configuration, seed: settings.seed, data: configuration.data,
            inputSize: settings.model.shape.input, nTheta: settings.model.shape.parameterCount,
            nodes: records.count, transport: transport,
            topology: RunSummary.TopologySummary(
                name: topology.name, edges: topology.edgeCount, degrees: topology.degrees, walk: walk.kind.rawValue,
                slem: walk.slem, periodic: walk.isPeriodic),
            samplesPerNode: steps, finalMSE: finalMSE, finalMSEWindow: max(1, steps / 10),
            timeAveragedMSE: curve.last ?? 0, mseCurve: drawable(curve),
            samplesToWithin10Percent: samplesToWithin10Percent, bytesPerNode: records.map(\.traffic.bytesSent),
            messagesPerNode: records.map(\.traffic.messagesSent),
            computeSeconds: RunSummary.Spread(records.map(\.computeSeconds)),
            communicationSeconds: RunSummary.Spread(records.map(\.traffic.communicationSeconds)),
            wallSeconds: wallSeconds, diagnostics: diagnostics,
            baseline: RunSummary.Baseline(
                predictor: configuration.trivialPredictor.kind.rawValue, finalMSE: baselineFinalMSE,
                timeAveragedMSE: baselineCurve.last ?? 0, mseCurve: drawable(baselineCurve),
                beaten: finalMSE < baselineFinalMSE),
            sync: configuration.algorithm.hasCoordinator ? syncSummary() : nil, smc: smcSummary())
    }

    /// A particle filter's trace in brief: the mean ESS / N and the resampling rate over nodes and
    /// steps (N the particles a node starts a step with: K N for the centralized PF's one cloud).
    func smcSummary() -> RunSummary.SMCSummary? {
        let width = FilterStepTrace.columns.count
        guard let first = records.first, !first.filterTrace.isEmpty else { return nil }
        let n = Double(configuration.particles * (configuration.algorithm == .cpf ? records.count : 1))
        var (ess, resampled, increment, rows) = (0.0, 0.0, 0.0, 0.0)
        var essCurve = [Double](repeating: 0, count: steps)
        for record in records {
            for (t, row) in stride(from: 0, to: record.filterTrace.count, by: width).enumerated() {
                ess += record.filterTrace[row] / n
                essCurve[t] += record.filterTrace[row] / n / Double(records.count)
                resampled += record.filterTrace[row + 1]
                increment += record.filterTrace[row + 2]
                rows += 1
            }
        }
        return RunSummary.SMCSummary(
            meanESSFraction: ess / rows, resamplingRate: resampled / rows, meanLogLikelihoodIncrement: increment / rows,
            traceFiles: "smc-node-K.csv", essCurve: drawable(essCurve))
    }

    /// The protocol's totals as its coordinator counted them, and the divergence it allowed.
    func syncSummary() -> RunSummary.SyncSummary {
        let coordinator = records.first { $0.node == configuration.coordinator }?.diagnostics ?? [:]
        func count(_ key: String) -> Int { Int(coordinator[key] ?? 0) }
        let divergence = (trace?.rows ?? []).map { $0[1] }
        return RunSummary.SyncSummary(
            coordinator: configuration.coordinator, protocolNetwork: "star", fullSyncs: count("full_syncs"),
            balancingSyncs: count("balancing_syncs"), balancedSites: count("balanced_sites"), rounds: count("rounds"),
            subrounds: count("subrounds"), polls: count("polls"),
            violations: Int(records.map { $0.diagnostics["violations"] ?? 0 }.reduce(0, +)),
            divergenceMean: divergence.isEmpty ? nil : divergence.reduce(0, +) / Double(divergence.count),
            divergenceMax: divergence.max(), divergenceFinal: divergence.last,
            traceFile: divergence.isEmpty ? nil : "sync-trace.csv")
    }

    /// Whether `name` is one of the files a run's results are (what `write` makes, and the figures and
    /// tables `dlstm plot` draws from them).
    public static func isResultFile(_ name: String) -> Bool {
        let exact: Set = [
            "summary.json", "config.toml", "sync-trace.csv", "model.safetensors", "model.json", "mse.svg",
            "communication.svg", "ess.svg", "table.md", "table.csv",
        ]
        return exact.contains(name)
            || ((name.hasPrefix("node-") || name.hasPrefix("smc-node-"))
                && (name.hasSuffix(".csv") || name.hasSuffix(".safetensors")))
    }

    /// node-K.csv (step, prediction, label, squared error, time-averaged MSE), config.toml, then
    /// summary.json, each written atomically. summary.json comes last, so a directory with one is
    /// complete: a run killed while writing leaves the previous results or some new curves without
    /// their summary, never a truncated file. `killWhileWritingFile`: a test's injected fault.
    public func write(to directory: String, killWhileWritingFile: Int? = nil) throws {
        // The trainers stop on a non-finite prediction; this makes "no NaN in results" hold whatever
        // a future trainer does.
        // squaredErrors is computed: once per record, not once per step (that was quadratic).
        for record in records {
            let squaredErrors = record.squaredErrors
            if let t = record.predictions.indices.first(where: {
                !record.predictions[$0].isFinite || !squaredErrors[$0].isFinite
            }) {
                throw RunError(
                    "node \(record.node), step \(t + 1): the prediction is \(record.predictions[t]); no results "
                        + "written",
                    status: .numerical)
            }
        }
        try createOutputDirectory(directory)
        var files = [(String, Data)]()
        for record in records {
            var csv = "step,prediction,label,squared_error,mse\n"
            csv.reserveCapacity(100 * record.squaredErrors.count)
            var sum = 0.0
            for (t, e) in record.squaredErrors.enumerated() {
                sum += e
                csv += "\(t + 1),\(exact(record.predictions[t])),\(exact(record.labels[t])),\(exact(e)),"
                csv += exact(sum / Double(t + 1)) + "\n"
            }
            files.append(("node-\(record.node).csv", Data(csv.utf8)))
        }
        let width = FilterStepTrace.columns.count
        for record in records where !record.filterTrace.isEmpty {
            var csv = (["step"] + FilterStepTrace.columns).joined(separator: ",") + "\n"
            for (t, row) in stride(from: 0, to: record.filterTrace.count, by: width).enumerated() {
                let values = record.filterTrace[row..<(row + width)].map(wholeOrExact)
                csv += "\(t + 1)," + values.joined(separator: ",") + "\n"
            }
            files.append(("smc-node-\(record.node).csv", Data(csv.utf8)))
        }
        if let trace, !trace.rows.isEmpty {
            let lines = trace.rows.map { row in row.map(wholeOrExact) }
            let csv = ([trace.columns] + lines).map { $0.joined(separator: ",") + "\n" }.joined()
            files.append(("sync-trace.csv", Data(csv.utf8)))
        }
        files += try modelFiles()
        files.append(("config.toml", Data(try configuration.toml().utf8)))
        files.append(("summary.json", try summary().json()))
        // What an earlier run left that this one does not write (another node count or algorithm,
        // or its figures) goes, so the directory never passes one run's files off as another's.
        let names = Set(files.map(\.0))
        for name in try FileManager.default.contentsOfDirectory(atPath: directory)
        where RunReport.isResultFile(name) && !names.contains(name) {
            try? FileManager.default.removeItem(atPath: directory + "/" + name)
        }
        for (index, (name, data)) in files.enumerated() {
            try writeAtomically(data, to: directory + "/" + name, killHalfway: index == killWhileWritingFile)
        }
    }
}

extension RunReport {
    /// The trained models: model.safetensors (the mean of the nodes' final estimates), node-K.safetensors
    /// (node K's) and model.json (the metadata, readable without a safetensors reader).
    func modelFiles() throws -> [(String, Data)] {
        guard let size = records.first?.estimate.count, size > 0, records.allSatisfy({ $0.estimate.count == size })
        else { return [] }
        let scaling = try configuration.dataScaling()
        func model(_ estimate: [Double], node: Int?) -> TrainedModel {
            var model = TrainedModel(
                estimate: estimate, inputSize: settings.model.shape.input, configuration: configuration)
            (model.dataOffset, model.dataScale, model.node) = (scaling.offset, scaling.scale, node)
            return model
        }
        let mean = (0..<size).map { j in records.map { $0.estimate[j] }.reduce(0, +) / Double(records.count) }
        let network = model(mean, node: nil)
        var files = [("model.safetensors", try network.safeTensors().encoded())]
        for record in records {
            var nodeModel = model(record.estimate, node: record.node)
            (nodeModel.particles, nodeModel.logWeights) = (record.cloud?.particles, record.cloud?.logWeights)
            files.append(("node-\(record.node).safetensors", try nodeModel.safeTensors().encoded()))
        }
        files.append(("model.json", try network.description()))
        return files
    }
}

/// The first step (1-based) whose trailing `window`-mean of `errors` is at most (1 + tolerance)
/// times `target`; the last step if none is.
public func firstStepWithin(_ errors: [Double], window: Int, of target: Double, tolerance: Double) -> Int {
    var sum = 0.0
    for (t, e) in errors.enumerated() {
        sum += e
        if t >= window { sum -= errors[t - window] }
        if t + 1 >= window && sum / Double(window) <= (1 + tolerance) * target { return t + 1 }
    }
    return errors.count
}
