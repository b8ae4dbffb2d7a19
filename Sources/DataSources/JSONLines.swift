import Foundation
import LSTM

/// Users' own data, one sample a line: `{"x": [[x11, ..., x1p], ..., [xm1, ..., xmp]], "d": label}`.
/// Every sample must have at least one column, and every column of every sample the same p.
public struct JSONLinesSource: SampleSource {
    public let path: String
    private let reader: LineReader
    public private(set) var inputSize: Int

    /// p is taken from the first sample.
    public init(path: String) throws {
        self.path = path
        let probe = try LineReader(path: path)
        var first: Sample?
        while first == nil, let line = try probe.next() {
            if line.trimmingCharacters(in: " \t").isEmpty { continue }
            first = try Self.parse(line, path: path, lineNumber: probe.lineNumber, expectedWidth: nil)
        }
        guard let first else { throw DataError(file: path, "no samples in the file") }
        inputSize = first.inputSize
        reader = try LineReader(path: path)
    }

    public mutating func next() throws -> Sample? {
        while let line = try reader.next() {
            if line.trimmingCharacters(in: " \t").isEmpty { continue }
            return try Self.parse(line, path: path, lineNumber: reader.lineNumber, expectedWidth: inputSize)
        }
        return nil
    }

    /// A JSON number as a Double; nil for anything else, booleans included. JSONSerialization
    /// returns both as NSNumber (and `is Bool` holds for the numbers 0 and 1 through bridging);
    /// a boolean's objCType is "c".
    static func number(_ value: Any?) -> Double? {
        guard let value, type(of: value) != Bool.self, let number = value as? NSNumber,
            String(cString: number.objCType) != "c"
        else { return nil }
        return number.doubleValue
    }

    static func parse(_ line: String, path: String, lineNumber: Int, expectedWidth: Int?) throws -> Sample {
        func fail(_ message: String) -> DataError { DataError(file: path, line: lineNumber, message) }
        guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
            throw fail("not a JSON object")
        }
        let unknown = Set(object.keys).subtracting(["x", "d"])
        guard unknown.isEmpty else {
            throw fail("unknown key(s) \(unknown.sorted().joined(separator: ", ")); expected \"x\" and \"d\"")
        }
        guard let label = number(object["d"]) else {
            throw fail("\"d\" must be a number")
        }
        guard label.isFinite else { throw fail("\"d\" is not finite") }
        guard let columns = object["x"] as? [Any], !columns.isEmpty else {
            throw fail("\"x\" must be a non-empty array of columns [[x1, ..., xp], ...]")
        }
        var inputs = [Double]()
        var width: Int?
        for (l, column) in columns.enumerated() {
            guard let values = column as? [Any], !values.isEmpty else {
                throw fail("column \(l + 1) of \"x\" is not a non-empty array")
            }
            if let width, values.count != width {
                throw fail("column \(l + 1) has \(values.count) values, column 1 has \(width) (ragged x)")
            }
            width = values.count
            for value in values {
                guard let number = number(value), number.isFinite else {
                    throw fail("column \(l + 1) of \"x\" holds a value that is not a finite number")
                }
                inputs.append(number)
            }
        }
        if let expectedWidth, width != expectedWidth {
            throw fail("columns have \(width!) values, earlier samples have p = \(expectedWidth)")
        }
        return Sample(inputs: inputs, length: columns.count, label: label)
    }
}
