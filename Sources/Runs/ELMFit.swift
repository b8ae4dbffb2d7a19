import DataSources
import Distributed
import Foundation
import LSTM
import Numerics

/// `dlstm elm fit`, OPT-PR-ELM's use case: batch training of an ELM-LSTM over every node's samples.
/// Each node builds its feature rows (batched through dgemm) and factors [H | T] into a QR triangle;
/// the triangles are merged up a breadth-first spanning tree of the graph (TSQR: every message
/// between neighbours); the root solves for the readout and sends it back down. The last
/// `testFraction` of each node's samples are held out.
public struct ELMFit {
    public var configuration: TrainingConfiguration
    public var testFraction = 0.1

    public init(configuration: TrainingConfiguration) { self.configuration = configuration }

    public struct Report {
        public var beta: [Double]
        public var trainRMSE: Double
        public var testRMSE: Double
        public var trainRows: Int
        public var testRows: Int
        /// The least-squares residual norm |rho| over the training rows (with the ridge, its root).
        public var residual: Double
        /// Seconds per phase at the slowest node: features, local QR, reduction, solve and broadcast.
        public var phases: [(name: String, seconds: Double)]
        public var nodes: Int
        /// p, the data's column size.
        public var inputSize = 1
        /// Per node, in node order: samples (train and held out), bytes sent along the tree, and the
        /// seconds of computing (features, local QR) and of the tree (reduction, solve and broadcast),
        /// for `dlstm scale`.
        public var samplesPerNode: [Int]
        public var bytesPerNode: [Int]
        public var computeSeconds: [Double]
        public var communicationSeconds: [Double]

        /// The slowest node's time from its first feature row to holding beta.
        public var wallSeconds: Double { zip(computeSeconds, communicationSeconds).map { $0 + $1 }.max() ?? 0 }

        /// The fitted model, as every run writes it (model.safetensors).
        public func model(configuration: TrainingConfiguration) throws -> TrainedModel {
            var model = TrainedModel(estimate: beta, inputSize: inputSize, configuration: configuration)
            (model.dataOffset, model.dataScale) = try configuration.dataScaling()
            return model
        }

        public func summary(configuration: TrainingConfiguration) throws -> [String: Any] {
            [
                "algorithm": "elm-fit", "parameters": try configuration.jsonObject(), "nodes": nodes,
                "train_rows": trainRows, "test_rows": testRows, "train_rmse": trainRMSE, "test_rmse": testRMSE,
                "residual": residual, "features": beta.count,
                "phase_seconds": Dictionary(uniqueKeysWithValues: phases.map { ($0.name, $0.seconds) }),
                // The fields `dlstm scale` tabulates, as a training run's summary names them.
                "wall_seconds": wallSeconds, "samples_per_node": samplesPerNode.max() ?? 0,
                "bytes_per_node": bytesPerNode, "compute_seconds": RunSummary.Spread(computeSeconds).fields,
                "communication_seconds": RunSummary.Spread(communicationSeconds).fields,
            ]
        }
    }

    /// Collective. The report at the reporter, nil elsewhere.
    public func run(on network: Network) throws -> Report? {
        let samples = try readSamples(on: network)
        let settings = configuration.elm
        let model = LSTMModel(
            shape: LSTMShape(hidden: configuration.hidden, input: samples[0][0].inputSize),
            pooling: configuration.pooling)
        let features = ELMFeatures(
            model: model, seed: configuration.seed, scale: settings.scale, directLink: settings.directLink)
        let columns = features.featureCount + 1
        var clock = PhaseClock()

        let split = samples.map { Int((Double($0.count) * (1 - testFraction)).rounded(.down)) }
        var rows = [[Double]](), testRows = [[Double]]()
        for (a, own) in samples.enumerated() {
            rows.append(features.labelledRows(Array(own[..<split[a]])))
            testRows.append(features.labelledRows(Array(own[split[a]...])))
        }
        clock.lap("features")
        let triangles = rows.map { LeastSquaresTriangle(columns: columns, rows: $0) }
        clock.lap("local QR")
        let tree = SpanningTree(topology: network.topology)
        let bytesBefore = network.traffic.map(\.bytesSent)
        let merged = try tree.reduce(triangles, over: network)
        clock.lap("reduction")
        let solution = try solve(merged, at: tree.root, ridge: settings.ridge, network: network)
        let shared = try tree.broadcast(network.localNodes.map { _ in solution }, over: network)
        clock.lap("solve and broadcast")

        let beta = Array(shared[0].dropLast())
        let errors = network.localNodes.indices.map { a in
            [
                squaredErrors(rows[a], beta), Double(rows[a].count / columns), squaredErrors(testRows[a], beta),
                Double(testRows[a].count / columns), Double(network.traffic[a].bytesSent - bytesBefore[a]),
            ] + clock.seconds
        }
        guard let gathered = try network.gatherForReport(errors) else { return nil }
        return report(
            gathered, beta: beta, residual: shared[0].last!, phases: clock.names, inputSize: samples[0][0].inputSize,
            nodes: network.topology.nodeCount)
    }

    /// Every local node's samples, read through once; bad input stops every process alike.
    private func readSamples(on network: Network) throws -> [[Sample]] {
        var samples = [[Sample]]()
        var failure: RunError?
        do {
            try configuration.validate()
            guard testFraction >= 0 && testFraction < 1 else {
                throw RunError("--test-fraction \(testFraction): must be in [0, 1)", status: .usage)
            }
            let total = try configuration.countFileSamples()
            for node in network.localNodes {
                let stream = try configuration.makeStream(
                    node: node, nodes: network.topology.nodeCount, fileSamples: total)
                samples.append(try (0..<stream.steps).map { _ in try stream.next() })
            }
        } catch {
            failure = RunError(error)
        }
        try agree(on: failure, network: network)
        return samples
    }

    /// [beta; residual], solved from the merged triangle by the node at the tree's root (zeros
    /// elsewhere, until the broadcast); too few rows for the features stop every process.
    private func solve(
        _ merged: [LeastSquaresTriangle], at root: Int, ridge: Double, network: Network
    ) throws -> [Double] {
        let columns = merged[0].columns
        var solution = [Double](repeating: 0, count: columns)
        var failure: RunError?
        for (a, node) in network.localNodes.enumerated() where node == root {
            do {
                let (beta, residual) = try merged[a].solve(ridge: ridge)
                solution = beta + [residual]
            } catch let deficient as LeastSquaresTriangle.RankDeficient {
                failure = RunError(
                    "\(configuration.data): \(merged[a].rows) training rows for \(columns - 1) features: "
                        + "\(deficient)", status: .data)
            }
        }
        try agree(on: failure, network: network)
        return solution
    }

    /// The report from every node's gathered figures: squared errors and rows, training and held
    /// out, bytes sent, then the phases' seconds.
    private func report(
        _ gathered: [[Double]], beta: [Double], residual: Double, phases names: [String], inputSize: Int, nodes: Int
    ) -> Report {
        func total(_ i: Int) -> Double { gathered.map { $0[i] }.reduce(0, +) }
        let first = 5  // the phases' seconds
        let phases = names.enumerated().map { i, name in (name, gathered.map { $0[first + i] }.max()!) }
        return Report(
            beta: beta, trainRMSE: (total(0) / max(total(1), 1)).squareRoot(),
            testRMSE: (total(2) / max(total(3), 1)).squareRoot(), trainRows: Int(total(1)), testRows: Int(total(3)),
            residual: residual, phases: phases, nodes: nodes, inputSize: inputSize,
            samplesPerNode: gathered.map { Int($0[1] + $0[3]) }, bytesPerNode: gathered.map { Int($0[4]) },
            computeSeconds: gathered.map { $0[first] + $0[first + 1] },
            communicationSeconds: gathered.map { $0[first + 2] + $0[first + 3] })
    }

    private func squaredErrors(_ rows: [Double], _ beta: [Double]) -> Double {
        let width = beta.count + 1
        return stride(from: 0, to: rows.count, by: width).map { start in
            let estimate = ELMFeatures.estimate(beta: beta, row: rows[start..<(start + width - 1)])
            return (rows[start + width - 1] - estimate) * (rows[start + width - 1] - estimate)
        }.reduce(0, +)
    }
}

/// Wall-clock seconds per named phase.
struct PhaseClock {
    private var last = DispatchTime.now().uptimeNanoseconds
    private(set) var names = [String]()
    private(set) var seconds = [Double]()

    mutating func lap(_ name: String) {
        let now = DispatchTime.now().uptimeNanoseconds
        names.append(name)
        seconds.append(Double(now - last) / 1e9)
        last = now
    }
}
