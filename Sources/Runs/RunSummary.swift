import Foundation

/// summary.json: a finished run's figures, written by `RunReport` and read by the tables, the
/// figures and the scaling study. The keys are the file's own (snake case); `parameters` is the
/// run's `TrainingConfiguration` under the command-line option names, as in config.toml.
public struct RunSummary: Codable, Equatable, Sendable {
    public var algorithm: String
    /// The name in tables and legends: the algorithm, or a variant such as "dpf-metropolis".
    public var label: String
    /// MPI processes (1 in-process).
    public var processes: Int
    public var parameters: TrainingConfiguration
    public var seed: UInt64
    public var data: String
    public var inputSize: Int
    public var nTheta: Int
    public var nodes: Int
    public var transport: String
    public var topology: TopologySummary
    public var samplesPerNode: Int
    /// Mean squared error over the last `finalMSEWindow` steps (10%, at least one), mean over nodes.
    public var finalMSE: Double
    public var finalMSEWindow: Int
    /// The paper's curve, (1/t) sum of squared errors up to t, mean over nodes: its last value, and
    /// at most about 500 points [t, MSE].
    public var timeAveragedMSE: Double
    public var mseCurve: [[Double]]
    /// The first step whose trailing window's MSE is within 10% of the final MSE.
    public var samplesToWithin10Percent: Int
    public var bytesPerNode: [Int]
    public var messagesPerNode: [Int]
    public var computeSeconds: Spread
    public var communicationSeconds: Spread
    public var wallSeconds: Double
    /// Per counter a trainer keeps (e.g. "degenerate_steps"), its value at each node.
    public var diagnostics: [String: [Double]]
    /// The trivial predictor on the same data (absent from summaries written before it was added).
    public var baseline: Baseline?
    /// avg, gm and fgm only: the protocol's totals as its coordinator counted them.
    public var sync: SyncSummary?
    /// Particle filters only: their SMC trace in brief.
    public var smc: SMCSummary?

    public struct TopologySummary: Codable, Equatable, Sendable {
        public var name: String
        public var edges: Int
        public var degrees: [Int]
        public var walk: String
        public var slem: Double
        public var periodic: Bool
    }

    /// Min, mean and max over the nodes.
    public struct Spread: Codable, Equatable, Sendable {
        public var min: Double
        public var mean: Double
        public var max: Double

        init(_ values: [Double]) {
            (min, max) = (values.min() ?? 0, values.max() ?? 0)
            // Clamped: three equal values of 0.1 sum to 0.30000000000000004, whose third lies above the maximum.
            mean = Swift.min(Swift.max(values.reduce(0, +) / Double(Swift.max(values.count, 1)), min), max)
        }

        /// As a JSON object's fields (elm fit's summary, which is not a `RunSummary`).
        var fields: [String: Double] { ["min": min, "mean": mean, "max": max] }
    }

    public struct Baseline: Codable, Equatable, Sendable {
        /// The trivial predictor: persistence or the running mean (`TrivialPredictor`).
        public var predictor: String
        public var finalMSE: Double
        public var timeAveragedMSE: Double
        public var mseCurve: [[Double]]
        /// Whether the run's final MSE is below the baseline's.
        public var beaten: Bool

        enum CodingKeys: String, CodingKey {
            case predictor, finalMSE = "final_mse", timeAveragedMSE = "time_averaged_mse", mseCurve = "mse_curve"
            case beaten
        }
    }

    public struct SyncSummary: Codable, Equatable, Sendable {
        public var coordinator: Int
        /// The network the protocol talks over: a star around the coordinator.
        public var protocolNetwork: String
        public var fullSyncs: Int
        public var balancingSyncs: Int
        public var balancedSites: Int
        public var rounds: Int
        public var subrounds: Int
        public var polls: Int
        public var violations: Int
        /// The divergence the protocol allowed, from its trace (sync-trace.csv), when it keeps one.
        public var divergenceMean: Double?
        public var divergenceMax: Double?
        public var divergenceFinal: Double?
        public var traceFile: String?

        enum CodingKeys: String, CodingKey {
            case coordinator, protocolNetwork = "protocol_network", fullSyncs = "full_syncs"
            case balancingSyncs = "balancing_syncs", balancedSites = "balanced_sites", rounds, subrounds, polls
            case violations, divergenceMean = "divergence_mean", divergenceMax = "divergence_max"
            case divergenceFinal = "divergence_final", traceFile = "trace_file"
        }
    }

    public struct SMCSummary: Codable, Equatable, Sendable {
        /// Mean ESS / N over nodes and steps (N: the particles a node starts a step with).
        public var meanESSFraction: Double
        public var resamplingRate: Double
        public var meanLogLikelihoodIncrement: Double
        public var traceFiles: String
        /// ESS / N against steps, mean over nodes, at most about 500 points.
        public var essCurve: [[Double]]

        enum CodingKeys: String, CodingKey {
            case meanESSFraction = "mean_ess_fraction", resamplingRate = "resampling_rate"
            case meanLogLikelihoodIncrement = "mean_log_likelihood_increment", traceFiles = "trace_files"
            case essCurve = "ess_curve"
        }
    }

    enum CodingKeys: String, CodingKey {
        case algorithm, label, processes, parameters, seed, data, inputSize = "input_size", nTheta = "n_theta"
        case nodes, transport, topology, samplesPerNode = "samples_per_node", finalMSE = "final_mse"
        case finalMSEWindow = "final_mse_window", timeAveragedMSE = "time_averaged_mse", mseCurve = "mse_curve"
        case samplesToWithin10Percent = "samples_to_within_10pct", bytesPerNode = "bytes_per_node"
        case messagesPerNode = "messages_per_node", computeSeconds = "compute_seconds"
        case communicationSeconds = "communication_seconds", wallSeconds = "wall_seconds", diagnostics, baseline
        case sync, smc
    }

    /// The file's bytes: keys sorted, indented, a newline at the end.
    public func json() throws -> Data {
        try Self.encoder.encode(self) + Data("\n".utf8)
    }

    /// JSON has no infinity: a threshold of inf is the string "inf", as in config.toml.
    private static let nonFinite = (positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")

    static var encoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(
            positiveInfinity: nonFinite.positiveInfinity, negativeInfinity: nonFinite.negativeInfinity,
            nan: nonFinite.nan)
        return encoder
    }

    static var decoder: JSONDecoder {
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(
            positiveInfinity: nonFinite.positiveInfinity, negativeInfinity: nonFinite.negativeInfinity,
            nan: nonFinite.nan)
        return decoder
    }

    // What the tables and figures read.

    public var meanBytesPerNode: Double { mean(bytesPerNode.map(Double.init)) }
    public var meanMessagesPerNode: Double { mean(messagesPerNode.map(Double.init)) }
    public var bytesPerNodePerStep: Double { meanBytesPerNode / Double(max(samplesPerNode, 1)) }
    public var curve: [(x: Double, y: Double)] { points(mseCurve) }
    public var essCurve: [(x: Double, y: Double)] { points(smc?.essCurve ?? []) }
    public var baselineCurve: [(x: Double, y: Double)] { points(baseline?.mseCurve ?? []) }

    private func mean(_ values: [Double]) -> Double { values.reduce(0, +) / Double(max(values.count, 1)) }

    private func points(_ curve: [[Double]]) -> [(x: Double, y: Double)] {
        curve.compactMap { $0.count == 2 ? (x: $0[0], y: $0[1]) : nil }
    }
}

// In an extension, so that the memberwise initializer `RunReport.summary()` uses is kept.
extension RunSummary {
    /// Reads `path` (a summary.json of `dlstm train` or of one run of an experiment).
    public init(path: String) throws {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw RunError("\(path): cannot read it")
        }
        do {
            self = try Self.decoder.decode(RunSummary.self, from: data)
        } catch let DecodingError.keyNotFound(key, context) {
            let at = (context.codingPath + [key]).map(\.stringValue).joined(separator: ".")
            throw RunError("\(path): not a summary.json of dlstm train: no '\(at)'")
        } catch {
            throw RunError("\(path): not a summary.json of dlstm train: \(error)")
        }
    }
}
