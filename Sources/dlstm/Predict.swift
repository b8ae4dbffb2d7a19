import ArgumentParser
import Foundation
import Runs

struct Predict: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Predict with a trained model: one prediction per sample, in the data's own units.",
        discussion: """
            Reads DIR/model.safetensors (the network's model, the mean of the nodes' estimates) or \
            DIR/node-K.safetensors (--node K), runs it over every sample of --data, and prints the MSE. The data \
            options default to the model's: its CSV column, lags and horizon, its normalisation statistics (not \
            the new file's), its label scale and word vectors. No MPI.

            --out FILE writes CSV: index, prediction, label, squared error (labels and errors in the data's units). \
            A particle filter's node model predicts the filter's predictive mean, the weighted mean of h over its \
            final cloud; --point uses h at its point estimate instead.

              dlstm train --algorithm dekf --data data/fx/garch_daily_usd_1980_1987.csv --column bp --out runs/fx
              dlstm predict --model runs/fx --data data/fx/garch_daily_usd_1980_1987.csv --out runs/fx/predictions.csv
            """)

    @Option(help: ArgumentHelp("A run's directory, or a model file.", valueName: "DIR")) var model: String
    @Option(help: ArgumentHelp("Node K's model instead of the network's.", valueName: "K")) var node: Int?
    @Option(help: "teacher, or a data file (.csv, .jsonl, .txt/.tsv).") var data: String
    @Option(help: "CSV: the column (default: the model's).") var column: String?
    @Option(help: "Text: the word-vector table (default: the model's).") var wordVectors: String?
    @Option(help: "Teacher: how many samples.") var samples: Int?
    @Option(help: "CSV: the lags (default: the model's; its p must stay the model's).") var lags: Int?
    @Option(help: "CSV: the horizon (default: the model's).") var horizon: Int?
    @Flag(help: "Particle filters: h at the point estimate, not the mean over the cloud.") var point = false
    @Option(help: ArgumentHelp("Write the predictions here (CSV).", valueName: "FILE")) var out: String?
    @Flag(help: "Print nothing but errors.") var quiet = false

    func validate() throws {
        if let node, node < 0 { throw ValidationError("--node \(node): must be a node, 0 or more") }
        if let samples, samples < 1 { throw ValidationError("--samples \(samples): must be at least 1") }
        if let lags, lags < 1 { throw ValidationError("--lags \(lags): must be at least 1") }
        if let horizon, horizon < 1 { throw ValidationError("--horizon \(horizon): must be at least 1") }
    }

    func run() throws {
        try runInProcess {
            var prediction = Prediction(model: model, data: data)
            (prediction.node, prediction.point, prediction.column) = (node, point, column)
            (prediction.wordVectors, prediction.samples) = (wordVectors, samples)
            (prediction.lags, prediction.horizon) = (lags, horizon)
            let (_, rows) = try prediction.run()
            let errors = rows.map { ($0.label - $0.prediction) * ($0.label - $0.prediction) }
            if let out {
                var csv = "index,prediction,label,squared_error\n"
                for (i, row) in rows.enumerated() {
                    csv += "\(i + 1),\(exact(row.prediction)),\(exact(row.label)),\(exact(errors[i]))\n"
                }
                try writeAtomically(Data(csv.utf8), to: out)
            }
            guard !quiet else { return }
            let mse = errors.reduce(0, +) / Double(max(errors.count, 1))
            print(
                "dlstm predict: \(prediction.modelFile) on \(data): \(rows.count) samples, MSE "
                    + String(format: "%.6g", mse) + " (in the data's units)" + (out.map { "; wrote \($0)" } ?? ""))
        }
    }
}
