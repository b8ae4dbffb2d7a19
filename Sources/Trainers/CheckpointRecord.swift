/// A state saved in a checkpoint: named arrays of numbers, read back by name with their sizes
/// checked, so no state is parsed by offsets. Every trainer and the run loop write one; the
/// checkpoint file (Runs) stores a list of them with their field names and counts in its header.
///
/// Integers are stored as doubles: exact up to 2^53, far beyond any step, id or byte count.
public struct CheckpointRecord: Equatable, Sendable {
    public private(set) var names: [String] = []
    public private(set) var values: [[Double]] = []

    public init() {}

    public init(names: [String], values: [[Double]]) throws {
        guard names.count == values.count, Set(names).count == names.count else {
            throw TrainerError.malformedCheckpoint("\(names.count) field names for \(values.count) fields")
        }
        (self.names, self.values) = (names, values)
    }

    public mutating func append(_ name: String, _ field: [Double]) {
        precondition(!names.contains(name), "checkpoint field '\(name)' written twice")
        names.append(name)
        values.append(field)
    }

    public mutating func append(_ name: String, _ value: Int) { append(name, [Double(value)]) }

    public mutating func append(_ name: String, _ field: [Int]) { append(name, field.map(Double.init)) }

    /// The fields of `record` as "prefix.name".
    public mutating func append(_ prefix: String, _ record: CheckpointRecord) {
        for (name, field) in zip(record.names, record.values) { append(prefix + "." + name, field) }
    }

    /// The fields under "prefix.", without it.
    public func record(_ prefix: String) -> CheckpointRecord {
        var nested = CheckpointRecord()
        for (name, field) in zip(names, values) where name.hasPrefix(prefix + ".") {
            nested.append(String(name.dropFirst(prefix.count + 1)), field)
        }
        return nested
    }

    /// Field `name`, which must hold `count` numbers when a count is given.
    public func doubles(_ name: String, count: Int? = nil) throws -> [Double] {
        guard let index = names.firstIndex(of: name) else {
            throw TrainerError.malformedCheckpoint("no field '\(name)'")
        }
        if let count, values[index].count != count {
            throw TrainerError.malformedCheckpoint(
                "field '\(name)' holds \(values[index].count) numbers, expected \(count)")
        }
        return values[index]
    }

    public func ints(_ name: String, count: Int? = nil) throws -> [Int] {
        try doubles(name, count: count).map { value in
            guard let integer = Int(exactly: value) else {
                throw TrainerError.malformedCheckpoint("field '\(name)' holds \(value), expected an integer")
            }
            return integer
        }
    }

    public func int(_ name: String) throws -> Int { try ints(name, count: 1)[0] }
}
