import LSTM

/// One column of a CSV file as a time series, turned into lag windows: the sample at time t has
/// the inputs x_{t-L+1..t} and the label x_{t+h} (h = horizon).
public struct CSVTimeSeries: SampleSource {
    /// How the L lags form the input X.
    public enum LagLayout: String, Sendable, CaseIterable, Codable {
        /// One column of size p = L (the paper's FX set-up: "the values in the previous two days").
        case vector
        /// A sequence of m = L columns of size p = 1.
        case sequence
    }

    /// Scaling of the series. Statistics come from the first `prefix` values only, so nothing from
    /// the future leaks into an online run; the same map is applied to inputs and labels.
    public enum Normalization: Sendable, Equatable {
        case none
        /// (x - min) / (max - min) over the prefix.
        case minMax(prefix: Int)
        /// (x - mean) / sd over the prefix.
        case zScore(prefix: Int)
        /// (x - offset) / scale with statistics from elsewhere (a trained model's, on new data).
        case fixed(offset: Double, scale: Double)
    }

    public let path: String
    public let lags: Int
    public let horizon: Int
    public let layout: LagLayout
    /// x -> (x - offset) / scale.
    public let offset: Double
    public let scale: Double
    private let columnIndex: Int
    private let reader: LineReader
    private var window: [Double] = []

    /// `column` is a header name or a 1-based column number.
    public init(
        path: String, column: String, lags: Int, horizon: Int = 1, layout: LagLayout = .vector,
        normalization: Normalization = .none
    ) throws {
        guard lags >= 1 else { throw DataError(file: path, "the number of lags must be at least 1, got \(lags)") }
        guard horizon >= 1 else { throw DataError(file: path, "the horizon must be at least 1, got \(horizon)") }
        self.path = path
        self.lags = lags
        self.horizon = horizon
        self.layout = layout
        let (index, hasHeader) = try Self.locateColumn(path: path, column: column)
        self.columnIndex = index
        switch normalization {
        case .none:
            (offset, scale) = (0, 1)
        case .fixed(let givenOffset, let givenScale):
            guard givenOffset.isFinite, givenScale.isFinite, givenScale != 0 else {
                throw DataError(file: path, "the scaling (x - \(givenOffset)) / \(givenScale) is not usable")
            }
            (offset, scale) = (givenOffset, givenScale)
        case .minMax(let prefix), .zScore(let prefix):
            let values = try Self.prefixValues(path: path, column: index, skipHeader: hasHeader, count: prefix)
            guard values.count >= 2 else {
                throw DataError(file: path, "normalisation needs at least 2 values, found \(values.count)")
            }
            if case .minMax = normalization {
                let low = values.min()!, high = values.max()!
                (offset, scale) = (low, high > low ? high - low : 1)
            } else {
                let mean = values.reduce(0, +) / Double(values.count)
                let sd = (values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(values.count - 1)).squareRoot()
                (offset, scale) = (mean, sd > 0 ? sd : 1)
            }
            // Values near the largest Double (1e308 and -1e308) overflow the range or the variance,
            // and every scaled value would be 0 or NaN.
            guard offset.isFinite, scale.isFinite else {
                throw DataError(
                    file: path,
                    "the values in the first \(values.count) rows are too large to normalise (their range overflows "
                        + "a Double)"
                )
            }
        }
        reader = try LineReader(path: path)
        if hasHeader { _ = try reader.next() }
    }

    public var inputSize: Int { layout == .vector ? lags : 1 }

    public mutating func next() throws -> Sample? {
        while window.count < lags + horizon {
            guard let value = try nextValue() else { return nil }
            window.append(value)
        }
        let inputs = Array(window[0..<lags])
        let label = window[lags + horizon - 1]
        window.removeFirst()
        return Sample(inputs: inputs, length: layout == .vector ? 1 : lags, label: label)
    }

    private func nextValue() throws -> Double? {
        while let line = try reader.next() {
            if line.trimmingCharacters(in: " \t").isEmpty { continue }
            let fields = line.split(separator: ",", omittingEmptySubsequences: false)
            guard columnIndex < fields.count else {
                throw DataError(
                    file: path, line: reader.lineNumber,
                    "expected at least \(columnIndex + 1) fields, found \(fields.count)")
            }
            guard let value = parseFinite(fields[columnIndex]) else {
                throw DataError(
                    file: path, line: reader.lineNumber,
                    "field \(columnIndex + 1) is '\(fields[columnIndex])', expected a finite number")
            }
            let scaled = (value - offset) / scale
            guard scaled.isFinite else {
                throw DataError(
                    file: path, line: reader.lineNumber,
                    "\(value) is too large to normalise with the first rows' statistics")
            }
            return scaled
        }
        return nil
    }

    private static func locateColumn(path: String, column: String) throws -> (index: Int, hasHeader: Bool) {
        let reader = try LineReader(path: path)
        guard let first = try reader.next() else { throw DataError(file: path, "the file is empty") }
        let fields = first.split(separator: ",", omittingEmptySubsequences: false).map {
            String($0.trimmingCharacters())
        }
        // A header is a first line whose field in the chosen column is not a number; other columns
        // (dates, weekday names) may hold text in every line.
        if let number = Int(column) {
            guard number >= 1 && number <= fields.count else {
                throw DataError(
                    file: path, line: 1, "column \(number) does not exist: the file has \(fields.count) columns")
            }
            return (number - 1, parseFinite(Substring(fields[number - 1])) == nil)
        }
        guard let index = fields.firstIndex(of: column) else {
            throw DataError(
                file: path, line: 1, "no column named '\(column)'; columns: \(fields.joined(separator: ", "))")
        }
        return (index, true)
    }

    private static func prefixValues(path: String, column: Int, skipHeader: Bool, count: Int) throws -> [Double] {
        let reader = try LineReader(path: path)
        if skipHeader { _ = try reader.next() }
        var values = [Double]()
        while values.count < count, let line = try reader.next() {
            let fields = line.split(separator: ",", omittingEmptySubsequences: false)
            guard column < fields.count, let value = parseFinite(fields[column]) else {
                throw DataError(file: path, line: reader.lineNumber, "field \(column + 1) is not a finite number")
            }
            values.append(value)
        }
        return values
    }
}

extension String {
    func trimmingCharacters(in set: String) -> Substring {
        var s = Substring(self)
        while let first = s.first, set.contains(first) { s = s.dropFirst() }
        while let last = s.last, set.contains(last) { s = s.dropLast() }
        return s
    }
}
