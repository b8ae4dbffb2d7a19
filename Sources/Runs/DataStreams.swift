import DataSources
import LSTM

/// One node's samples and how many steps it can feed.
struct DataStream {
    var inputSize: Int
    var steps: Int
    var next: () throws -> Sample
}

/// The data wiring of a run: which samples each node receives, from the teacher or a file.
extension TrainingConfiguration {
    /// The samples in the data file, by one streaming pass; nil for the teacher.
    func countFileSamples() throws -> Int? {
        guard data != "teacher" else { return nil }
        var total = 0
        var counter = try openDataFile()
        while try counter.next() != nil { total += 1 }
        return total
    }

    func makeStream(node: Int, nodes: Int, fileSamples: Int?) throws -> DataStream {
        guard let total = fileSamples else {
            let teacher = SyntheticTeacher(
                shape: LSTMShape(hidden: teacherHidden ?? hidden, input: teacherInput), pooling: pooling,
                parameterScale: teacherScale, noiseVariance: teacherNoise, lengths: 1...5, count: Int.max,
                seed: seed &+ 1_000_003)
            let steps = samples ?? 1000
            var t = 0
            let blocks = partition == .blocks
            return DataStream(inputSize: teacherInput, steps: steps) {
                defer { t += 1 }
                return scaled(teacher.sample(blocks ? node * steps + t : t * nodes + node))
            }
        }
        // Every node runs as many steps as the node with the fewest samples has.
        let partitioning: Partitioning = partition == .blocks ? .blocks(total: total) : .roundRobin
        let available = (0..<nodes).map { partitioning.sampleCount(node: $0, nodes: nodes, total: total) }.min()!
        guard available >= 1 else {
            throw DataError(
                file: data, "\(total) samples for \(nodes) nodes (\(partition.rawValue)): every node needs at least one"
            )
        }
        var source = PartitionedSource(try openDataFile(), partitioning: partitioning, node: node, nodes: nodes)
        let steps = min(samples ?? available, available)
        return DataStream(inputSize: source.inputSize, steps: steps) {
            guard let sample = try source.next() else {
                throw DataError(file: data, "ran out of samples at node \(node)")
            }
            return scaled(sample)
        }
    }

    private func scaled(_ sample: Sample) -> Sample {
        guard labelScale != 1 else { return sample }
        return Sample(inputs: sample.inputs, length: sample.length, label: sample.label * labelScale)
    }

    /// The scaling the run applies to a CSV series (inputs and labels): x -> (x - offset) / scale;
    /// (0, 1) for other data. A model keeps it, to predict new data in the data's own units.
    public func dataScaling() throws -> (offset: Double, scale: Double) {
        guard data.lowercased().hasSuffix(".csv"), normalize != .none else { return (0, 1) }
        let series = try csvSeries(scaling: nil)
        return (series.offset, series.scale)
    }

    /// Every sample of the data in order (the teacher's first `samples ?? 1000`), a CSV series
    /// scaled with `scaling` when given (a model's statistics) instead of its own prefix's, and the
    /// labels multiplied by `labelScale`.
    public func allSamples(scaling: (offset: Double, scale: Double)?) throws -> [Sample] {
        if data == "teacher" {
            let stream = try makeStream(node: 0, nodes: 1, fileSamples: nil)
            return try (0..<stream.steps).map { _ in try stream.next() }
        }
        var source =
            data.lowercased().hasSuffix(".csv") ? AnySampleSource(try csvSeries(scaling: scaling)) : try openDataFile()
        var samples = [Sample]()
        while let sample = try source.next() { samples.append(scaled(sample)) }
        return samples
    }

    private func csvSeries(scaling: (offset: Double, scale: Double)?) throws -> CSVTimeSeries {
        guard let column else {
            throw DataError(file: data, "a CSV file needs --column NAME (the series to predict)")
        }
        let normalization: CSVTimeSeries.Normalization
        switch (normalize, try scaling ?? startingModelScaling()) {
        case (_, let given?): normalization = .fixed(offset: given.offset, scale: given.scale)
        case (.minmax, nil): normalization = .minMax(prefix: normalizePrefix)
        case (.zscore, nil): normalization = .zScore(prefix: normalizePrefix)
        case (.none, nil): normalization = .none
        }
        return try CSVTimeSeries(
            path: data, column: column, lags: lags, horizon: horizon, layout: lagLayout, normalization: normalization)
    }

    /// With `--init-model`, a series normalised as the saved model's was is scaled with the model's
    /// statistics, not its own prefix's: the model goes on seeing inputs on the scale it learned.
    private func startingModelScaling() throws -> (offset: Double, scale: Double)? {
        guard let initModel, normalize != .none else { return nil }
        let model = try TrainedModel(file: TrainedModel.file(at: initModel))
        guard model.configuration.normalize == normalize else { return nil }
        return (model.dataOffset, model.dataScale)
    }

    private func openDataFile() throws -> AnySampleSource {
        let lower = data.lowercased()
        if lower.hasSuffix(".csv") { return AnySampleSource(try csvSeries(scaling: nil)) }
        if lower.hasSuffix(".jsonl") || lower.hasSuffix(".json") {
            return AnySampleSource(try JSONLinesSource(path: data))
        }
        if lower.hasSuffix(".txt") || lower.hasSuffix(".tsv") {
            guard let wordVectors else {
                throw DataError(
                    file: data, "labelled text needs --word-vectors FILE (e.g. data/sentiment/vader_lexicon.txt)")
            }
            let vectors =
                wordVectors.hasSuffix("vader_lexicon.txt")
                ? try WordVectors.vaderLexicon(path: wordVectors) : try WordVectors.text(path: wordVectors)
            return AnySampleSource(try LabelledText(path: data, vectors: vectors))
        }
        throw DataError(
            file: data, "unknown data format: expected 'teacher' or a file ending in .csv, .jsonl, .txt or .tsv")
    }
}

/// A sample source of any kind (the file formats differ in type).
struct AnySampleSource: SampleSource {
    let inputSize: Int
    private let nextSample: () throws -> Sample?
    init<Base: SampleSource>(_ base: Base) {
        var base = base
        inputSize = base.inputSize
        nextSample = { try base.next() }
    }
    mutating func next() throws -> Sample? { try nextSample() }
}
