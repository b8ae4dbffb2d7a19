import Foundation

/// A configuration's options as (name, value) pairs, by its own `Encodable` conformance: the keys
/// are its coding keys, unset optionals are left out. Written out as config.toml and as
/// summary.json's parameters without a round trip through a JSON parser (Foundation's on Linux
/// reads 0.30000000000000004 back as 0.3000000000000001).
enum OptionValue: Equatable {
    case text(String)
    case integer(Int64)
    case number(Double)
    case flag(Bool)

    var json: Any {
        switch self {
        case .text(let text): text
        case .integer(let value): NSNumber(value: value)
        // JSON has no infinity: a threshold of inf is written as the string "inf".
        case .number(let value): value.isFinite ? NSNumber(value: value) : OptionValue.number(value).toml
        case .flag(let value): NSNumber(value: value)
        }
    }

    /// The TOML value: a basic string, an integer, a float as the shortest decimal that reads back
    /// as the same double, or a boolean.
    var toml: String {
        switch self {
        case .text(let text): quotedTOML(text)
        case .integer(let value): "\(value)"
        case .number(let value): value.isFinite ? "\(value)" : (value.isNaN ? "nan" : (value > 0 ? "inf" : "-inf"))
        case .flag(let value): "\(value)"
        }
    }
}

func optionValues<T: Encodable>(of value: T) throws -> [(name: String, value: OptionValue)] {
    let encoder = OptionEncoder()
    try value.encode(to: encoder)
    return encoder.values.values
}

/// Collects the scalar fields of a flat `Encodable` (enums encode as their raw values).
private final class OptionEncoder: Encoder {
    final class Values { var values = [(name: String, value: OptionValue)]() }
    let values: Values
    var key: String?
    var codingPath: [CodingKey] = []
    var userInfo: [CodingUserInfoKey: Any] = [:]

    init(values: Values = Values(), key: String? = nil) { (self.values, self.key) = (values, key) }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        KeyedEncodingContainer(Keyed<Key>(values: values))
    }

    func unkeyedContainer() -> UnkeyedEncodingContainer { preconditionFailure("options are scalars") }
    func singleValueContainer() -> SingleValueEncodingContainer { Single(values: values, key: key!) }

    struct Keyed<Key: CodingKey>: KeyedEncodingContainerProtocol {
        let values: Values
        var codingPath: [CodingKey] = []
        mutating func encodeNil(forKey key: Key) throws {}
        mutating func encode(_ value: Bool, forKey key: Key) throws {
            values.values.append((key.stringValue, .flag(value)))
        }
        mutating func encode(_ value: String, forKey key: Key) throws {
            values.values.append((key.stringValue, .text(value)))
        }
        mutating func encode(_ value: Double, forKey key: Key) throws {
            values.values.append((key.stringValue, .number(value)))
        }
        mutating func encode(_ value: Int, forKey key: Key) throws {
            values.values.append((key.stringValue, .integer(Int64(value))))
        }
        mutating func encode(_ value: UInt64, forKey key: Key) throws {
            guard let integer = Int64(exactly: value) else {
                throw EncodingError.invalidValue(
                    value, .init(codingPath: [key], debugDescription: "beyond a signed 64-bit integer"))
            }
            values.values.append((key.stringValue, .integer(integer)))
        }
        mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
            try value.encode(to: OptionEncoder(values: values, key: key.stringValue))
        }
        mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key)
            -> KeyedEncodingContainer<NestedKey>
        { preconditionFailure("options are scalars") }
        mutating func nestedUnkeyedContainer(forKey key: Key) -> UnkeyedEncodingContainer {
            preconditionFailure("options are scalars")
        }
        mutating func superEncoder() -> Encoder { preconditionFailure("options are scalars") }
        mutating func superEncoder(forKey key: Key) -> Encoder { preconditionFailure("options are scalars") }
    }

    /// An enum's raw value.
    struct Single: SingleValueEncodingContainer {
        let values: Values
        let key: String
        var codingPath: [CodingKey] = []
        mutating func encodeNil() throws {}
        mutating func encode(_ value: String) throws { values.values.append((key, .text(value))) }
        mutating func encode(_ value: Bool) throws { values.values.append((key, .flag(value))) }
        mutating func encode(_ value: Double) throws { values.values.append((key, .number(value))) }
        mutating func encode(_ value: Int) throws { values.values.append((key, .integer(Int64(value)))) }
        mutating func encode<T: Encodable>(_ value: T) throws {
            throw EncodingError.invalidValue(value, .init(codingPath: [], debugDescription: "options are scalars"))
        }
    }
}
