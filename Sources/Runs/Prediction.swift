import Foundation
import LSTM

/// `dlstm predict`: a saved model over a data set, in the data's own units. The data options are
/// the model's (its file's column, lags, normalisation statistics, label scale, word vectors)
/// unless given; the samples are scaled with the model's statistics, not the new file's.
public struct Prediction {
    /// DIR/model.safetensors, DIR/node-K.safetensors, or a model file.
    public var model: String
    public var node: Int?
    /// h at the point estimate instead of a filter's predictive mean over its cloud.
    public var point = false
    public var data: String
    public var column: String?
    public var wordVectors: String?
    /// The teacher's sample count.
    public var samples: Int?
    /// CSV: the windows, if not the model's.
    public var lags: Int?
    public var horizon: Int?

    public init(model: String, data: String) { (self.model, self.data) = (model, data) }

    public struct Row: Equatable {
        public var prediction: Double
        public var label: Double
    }

    /// The model file this reads.
    public var modelFile: String { TrainedModel.file(at: model, node: node) }

    /// One row per sample, in the data's order and units.
    public func run() throws -> (model: TrainedModel, rows: [Row]) {
        let trained = try TrainedModel(file: modelFile)
        var configuration = trained.configuration
        configuration.data = data
        configuration.column = column ?? configuration.column
        configuration.wordVectors = wordVectors ?? configuration.wordVectors
        configuration.samples = samples ?? configuration.samples
        (configuration.lags, configuration.horizon) = (lags ?? configuration.lags, horizon ?? configuration.horizon)
        let scaling = (offset: trained.dataOffset, scale: trained.dataScale)
        let all = try configuration.allSamples(scaling: scaling)
        let p = trained.model.shape.input
        if let wrong = all.first(where: { $0.inputSize != p }) {
            throw RunError(
                "\(data): its samples have columns of \(wrong.inputSize) numbers, the model in \(modelFile) "
                    + "expects p = \(p)", status: .data)
        }
        let rows = all.map { sample in
            Row(
                prediction: trained.inDataUnits(trained.predict(sample, point: point)),
                label: trained.inDataUnits(sample.label))
        }
        if let bad = rows.firstIndex(where: { !$0.prediction.isFinite }) {
            throw RunError("\(data): sample \(bad + 1): the prediction is not finite", status: .numerical)
        }
        return (trained, rows)
    }
}
