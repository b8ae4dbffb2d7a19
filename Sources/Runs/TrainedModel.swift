import Distributed
import Foundation
import LSTM
import Numerics

/// A trained LSTM regression model as a run writes it (DIR/model.safetensors, the network's
/// average; DIR/node-K.safetensors, node K's estimate; DIR/model.json, the metadata) and
/// `dlstm predict` reads it.
///
/// The tensors load straight into PyTorch's `nn.LSTM(p, n, batch_first=True)` and
/// `nn.Linear(n, 1, bias=False)`: `lstm.weight_ih_l0` (4n x p), `lstm.weight_hh_l0` (4n x n),
/// `lstm.bias_ih_l0` (4n) and `lstm.bias_hh_l0` (4n, zeros), gates in PyTorch's order (i, f, g, o),
/// and `linear.weight` (1 x n), the readout w. With `--direct-link`, `direct.weight` (1 x p) holds
/// the coefficients v of the last input column (d_hat = w^T y_bar + v^T x^(m)). An ELM's readout also
/// has a constant, `linear.bias` (1). A particle filter's node file adds its final cloud: `particles`
/// (N x n_theta, each row theta in `LSTMShape`'s flat layout) and `log_weights` (N). All float64.
public struct TrainedModel {
    public static let format = "dlstm-model"
    public static let formatVersion = 1

    public var model: LSTMModel
    /// theta in `LSTMShape`'s layout [w | W^T | R | b (| v)].
    public var theta: [Double]
    /// An ELM's readout constant, and its direct link's coefficients (a trained LSTM's are in theta).
    public var readoutBias: Double?
    public var directWeights: [Double]?
    /// A particle filter's cloud: N rows of n_theta, and the log-weights.
    public var particles: [Double]?
    public var logWeights: [Double]?
    /// The run's configuration: the data options, normalisation and label scale among them.
    public var configuration: TrainingConfiguration
    /// x -> (x - offset) / scale, the CSV series' normalisation (0 and 1 for other data).
    public var dataOffset = 0.0
    public var dataScale = 1.0
    /// The node whose estimate this is; nil for the network's average.
    public var node: Int?

    public init(model: LSTMModel, theta: [Double], configuration: TrainingConfiguration) {
        precondition(theta.count == model.shape.parameterCount)
        (self.model, self.theta, self.configuration) = (model, theta, configuration)
    }

    /// From a trainer's estimate: theta, or for an ELM the readout beta = [w; constant; direct]
    /// over the fixed weights the seed gives.
    public init(estimate: [Double], inputSize: Int, configuration: TrainingConfiguration) {
        let model = LSTMModel(shape: configuration.modelShape(inputSize: inputSize), pooling: configuration.pooling)
        guard configuration.algorithm.isELM else {
            self.init(model: model, theta: estimate, configuration: configuration)
            return
        }
        let n = configuration.hidden
        var theta = ELMFeatures(model: model, seed: configuration.seed, scale: configuration.elmScale).theta
        theta.replaceSubrange(0..<n, with: estimate[0..<n])
        self.init(model: model, theta: theta, configuration: configuration)
        readoutBias = estimate[n]
        if configuration.directLink { directWeights = Array(estimate[(n + 1)...]) }
    }

    var isELM: Bool { readoutBias != nil }

    /// The model file a path names: a run's directory's model.safetensors (node-K.safetensors with
    /// `node`), or the path itself.
    public static func file(at path: String, node: Int? = nil) -> String {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else {
            return path
        }
        return path + "/" + (node.map { "node-\($0).safetensors" } ?? "model.safetensors")
    }

    /// The ELM's readout beta, in the feature order [y_bar; 1; x^(m)].
    var readout: [Double] {
        Array(theta[0..<model.shape.hidden]) + [readoutBias ?? 0] + (directWeights ?? [])
    }

    /// d_hat for a sample in the model's units: the filter's predictive mean over its cloud (the
    /// weighted mean of h) when it has one and `point` is false, else h at the point estimate. The
    /// arithmetic is the trainers' own, so a saved model predicts as the run would have.
    public func predict(_ sample: Sample, point: Bool = false) -> Double {
        if isELM {
            let row = ELMFeatures(model: model, theta: theta, directLink: directWeights != nil).rows([sample])
            return ELMFeatures.estimate(beta: readout, row: row[...])
        }
        guard !point, let particles, let logWeights,
            let weights = normalizedWeights(fromLog: logWeights)
        else { return model.estimate(theta: theta, sample: sample) }
        let size = model.shape.parameterCount
        var mean = 0.0
        for (i, weight) in weights.enumerated() where weight > 0 {
            mean += weight * model.estimate(theta: Array(particles[(i * size)..<((i + 1) * size)]), sample: sample)
        }
        return mean
    }

    /// A prediction in the data's own units: undoes the label scale and the normalisation.
    public func inDataUnits(_ value: Double) -> Double {
        value / configuration.labelScale * dataScale + dataOffset
    }
}

/// PyTorch's gate order (i, f, g, o) against `LSTMShape`'s (z = g, i, f, o): PyTorch's gate k is
/// ours `pytorchGates[k]`.
private let pytorchGates = [1, 2, 0, 3]

extension TrainedModel {
    /// The model as safetensors: the tensors above and the metadata.
    public func safeTensors() throws -> SafeTensors {
        let shape = model.shape, n = shape.hidden, p = shape.input
        var inputWeights = [Double](), recurrentWeights = [Double](), bias = [Double]()
        for gate in pytorchGates {
            for k in 0..<n {
                let r = gate * n + k
                for q in 0..<p { inputWeights.append(theta[shape.inputWeightIndex(row: r, input: q)]) }
                for j in 0..<n { recurrentWeights.append(theta[shape.recurrentWeightIndex(row: r, hidden: j)]) }
                bias.append(theta[shape.biasIndex(row: r)])
            }
        }
        typealias Tensor = SafeTensors.Tensor
        var tensors = [
            "lstm.weight_ih_l0": Tensor(shape: [4 * n, p], values: inputWeights),
            "lstm.weight_hh_l0": Tensor(shape: [4 * n, n], values: recurrentWeights),
            "lstm.bias_ih_l0": Tensor(shape: [4 * n], values: bias),
            "lstm.bias_hh_l0": Tensor(shape: [4 * n], values: [Double](repeating: 0, count: 4 * n)),
            "linear.weight": Tensor(
                shape: [1, n], values: Array(theta[shape.regressionOffset..<(shape.regressionOffset + n)])),
        ]
        if let readoutBias { tensors["linear.bias"] = Tensor(shape: [1], values: [readoutBias]) }
        if let direct = directWeights ?? (shape.directLink ? Array(theta[shape.directOffset...]) : nil) {
            tensors["direct.weight"] = Tensor(shape: [1, p], values: direct)
        }
        if let particles, let logWeights {
            tensors["particles"] = Tensor(shape: [logWeights.count, shape.parameterCount], values: particles)
            tensors["log_weights"] = Tensor(shape: [logWeights.count], values: logWeights)
        }
        return SafeTensors(tensors: tensors, metadata: try metadata())
    }

    /// Everything needed to predict in the data's units, as strings (safetensors' metadata).
    public func metadata() throws -> [String: String] {
        let c = configuration
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(
            positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        let json = try encoder.encode(c)
        return [
            "format": Self.format, "format_version": String(Self.formatVersion),
            "algorithm": c.algorithm.rawValue, "node": node.map(String.init) ?? "network average",
            "hidden": String(model.shape.hidden), "input": String(model.shape.input),
            "pooling": model.pooling.rawValue, "readout": isELM ? "elm" : "linear",
            "data": c.data, "column": c.column ?? "", "lags": String(c.lags), "horizon": String(c.horizon),
            "lag_layout": c.lagLayout.rawValue, "normalize": c.normalize.rawValue,
            "normalize_offset": exact(dataOffset), "normalize_scale": exact(dataScale),
            "label_scale": exact(c.labelScale), "word_vectors": c.wordVectors ?? "",
            "configuration": String(decoding: json, as: UTF8.self),
        ]
    }

    /// model.json: the metadata with the configuration as an object, and the tensors' shapes.
    public func description() throws -> Data {
        var object: [String: Any] = try metadata()
        object["configuration"] = try configuration.jsonObject()
        object["tensors"] = try safeTensors().tensors.mapValues(\.shape)
        for key in ["format_version", "hidden", "input", "lags", "horizon"] {
            object[key] = Int(object[key] as! String)
        }
        for key in ["normalize_offset", "normalize_scale", "label_scale"] {
            object[key] = Double(object[key] as! String)
        }
        return try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
            + Data("\n".utf8)
    }

    /// Reads DIR/model.safetensors (or node-K's); a missing, truncated or foreign file, or one of
    /// another format version, is one line (status 3).
    public init(file: String) throws {
        guard let data = FileManager.default.contents(atPath: file) else {
            throw RunError("\(file): cannot read it (no such file?)", status: .data)
        }
        let stored = try SafeTensors(data: data, file: file)
        func fail(_ reason: String) -> RunError { RunError("\(file): \(reason)", status: .data) }
        let meta = stored.metadata
        guard meta["format"] == Self.format else { throw fail("not a dlstm model (its metadata has no format)") }
        guard meta["format_version"] == String(Self.formatVersion) else {
            throw fail(
                "format version \(meta["format_version"] ?? "?"); this dlstm reads version \(Self.formatVersion)")
        }
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(
            positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        guard let json = meta["configuration"]?.data(using: .utf8),
            var configuration = try? decoder.decode(TrainingConfiguration.self, from: json),
            let labelScale = Double(meta["label_scale"] ?? ""),
            let n = Int(meta["hidden"] ?? ""), let p = Int(meta["input"] ?? ""), n >= 1, p >= 1,
            let pooling = Pooling(rawValue: meta["pooling"] ?? ""),
            let offset = Double(meta["normalize_offset"] ?? ""), let scale = Double(meta["normalize_scale"] ?? "")
        else { throw fail("its metadata lacks the configuration, sizes or scaling") }
        func tensor(_ name: String, _ shape: [Int]) throws -> [Double] {
            guard let found = stored.tensors[name] else { throw fail("no tensor \(name)") }
            guard found.shape == shape else { throw fail("tensor \(name) has shape \(found.shape), expected \(shape)") }
            return found.values
        }
        // A direct link is part of a trained LSTM's theta, and a feature of an ELM (the one with a constant).
        let elm = stored.tensors["linear.bias"] != nil, direct = stored.tensors["direct.weight"] != nil
        let model = LSTMModel(shape: LSTMShape(hidden: n, input: p, directLink: direct && !elm), pooling: pooling)
        let shape = model.shape
        let inputWeights = try tensor("lstm.weight_ih_l0", [4 * n, p])
        let recurrentWeights = try tensor("lstm.weight_hh_l0", [4 * n, n])
        let biasIH = try tensor("lstm.bias_ih_l0", [4 * n]), biasHH = try tensor("lstm.bias_hh_l0", [4 * n])
        var theta = [Double](repeating: 0, count: shape.parameterCount)
        theta.replaceSubrange(0..<n, with: try tensor("linear.weight", [1, n]))
        for (g, gate) in pytorchGates.enumerated() {
            for k in 0..<n {
                let row = g * n + k, r = gate * n + k
                for q in 0..<p { theta[shape.inputWeightIndex(row: r, input: q)] = inputWeights[row * p + q] }
                for j in 0..<n { theta[shape.recurrentWeightIndex(row: r, hidden: j)] = recurrentWeights[row * n + j] }
                // PyTorch adds two biases; dlstm's are zero in bias_hh, a PyTorch-trained model's need not be.
                theta[shape.biasIndex(row: r)] = biasIH[row] + biasHH[row]
            }
        }
        if shape.directLink {
            theta.replaceSubrange(shape.directOffset..., with: try tensor("direct.weight", [1, p]))
        }
        configuration.labelScale = labelScale  // exact, where JSON's reading of a double may not be
        self.init(model: model, theta: theta, configuration: configuration)
        (dataOffset, dataScale) = (offset, scale)
        node = Int(meta["node"] ?? "")
        if elm { readoutBias = try tensor("linear.bias", [1])[0] }
        if elm && direct { directWeights = try tensor("direct.weight", [1, p]) }
        if let cloud = stored.tensors["log_weights"] {
            logWeights = cloud.values
            particles = try tensor("particles", [cloud.values.count, shape.parameterCount])
        }
    }
}
