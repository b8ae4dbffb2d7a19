import Foundation
import TOMLKit

/// `--config FILE`: a TOML or JSON table whose keys are a subcommand's long option names, so an
/// experiment is one file that can be versioned:
///
///     # fx-dpf.toml
///     algorithm = "dpf"
///     data = "data/fx/garch_daily_usd_1980_1987.csv"
///     column = "bp"
///     normalize = "minmax"
///     particles = 80
///     liu-west = 0.1        # any option; a flag is `quiet = true`
///
/// The file's options are inserted before the command line's own, and for an option given twice
/// the last one wins: the command line overrides the file.
public enum ConfigFile {
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
        /// Control characters (a TOML key may hold "\n") are escaped: the message stays one line.
        init(description: String) {
            self.description = String(
                description.unicodeScalars.map {
                    $0.properties.generalCategory == .control ? $0.escaped(asASCII: false) : String($0)
                }.joined())
        }
    }

    /// The arguments with every `--config FILE` expanded; `origins` maps each inserted option back to
    /// its file for error messages.
    public static func expand(_ arguments: [String]) throws -> (arguments: [String], origins: [String: String]) {
        var rest = [String]()
        var fromFiles = [String]()
        var origins = [String: String]()
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            var path: String?
            if argument == "--config" {
                guard index + 1 < arguments.count else { throw Failure(description: "--config: expected a file name") }
                path = arguments[index + 1]
            } else if argument.hasPrefix("--config=") {
                path = String(argument.dropFirst("--config=".count))
            }
            guard let path else {
                rest.append(argument)
                index += 1
                continue
            }
            // Keep --config itself so the command can report which file it read.
            rest += ["--config", path]
            index += argument == "--config" ? 2 : 1
            for (key, value) in try options(in: path) {
                origins[key] = path
                switch value {
                case .flag(true): fromFiles.append("--" + key)
                case .flag(false): break
                case .value(let text): fromFiles += ["--" + key, text]
                }
            }
        }
        // Before the first option: after the subcommand and its positional arguments.
        let insertion = rest.firstIndex { $0.hasPrefix("-") } ?? rest.count
        rest.insert(contentsOf: fromFiles, at: insertion)
        return (rest, origins)
    }

    public enum Setting: Equatable, Sendable {
        case flag(Bool)
        case value(String)
    }

    /// The file's settings, in the file's key order for TOML and sorted for JSON.
    public static func options(in path: String) throws -> [(String, Setting)] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw Failure(description: "--config \(path): cannot read the file")
        }
        return try options(text: text, path: path)
    }

    /// The settings in `text`, read as TOML or JSON by `path`'s extension; `path` names the file in errors.
    public static func options(text: String, path: String) throws -> [(String, Setting)] {
        if path.lowercased().hasSuffix(".json") {
            return try jsonOptions(text, path: path)
        }
        guard path.lowercased().hasSuffix(".toml") else {
            throw Failure(description: "--config \(path): expected a .toml or .json file")
        }
        try rejectWhatCrashesTheParser(text, path: path)
        let table: TOMLTable
        do {
            table = try TOMLTable(string: text)
        } catch let error as TOMLParseError {
            throw Failure(description: "\(path):\(error.source.begin.line): \(error.description)")
        }
        return try table.map { key, value in
            let setting: Setting
            switch value.type {
            case .bool: setting = .flag(value.bool!)
            case .int: setting = .value(String(value.int!))
            case .double: setting = .value(value.double!.description)
            case .string: setting = .value(value.string!)
            default:
                throw Failure(
                    description: "\(path): '\(key)': expected a string, number or boolean, not a \(value.type)")
            }
            return (try checked(key, path: path), setting)
        }
    }

    /// toml++ 3.4 stops the process with an assertion, instead of reporting an error, on two kinds
    /// of invalid TOML that scripts/fuzz found: a control character (TOML allows none but tab and
    /// line ends), and a table header whose key starts with a character no key starts with
    /// (`[;x]`). Both are reported here the way the parser reports its errors.
    private static func rejectWhatCrashesTheParser(_ text: String, path: String) throws {
        let keyStart = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-\"'".unicodeScalars)
        // Character.isNewline: "\r\n" is one Character, so splitting on "\n" would leave a file saved
        // on Windows as one line, its line ends control characters.
        for (number, line) in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated() {
            let scalars = line.unicodeScalars
            if let bad = scalars.first(where: { $0.properties.generalCategory == .control && $0 != "\t" }) {
                throw Failure(
                    description:
                        "\(path):\(number + 1): control character U+\(String(format: "%04X", bad.value)) (TOML "
                        + "allows none but tab)"
                )
            }
            // The header's key: after "[" or "[[" and blanks.
            var rest = scalars.drop { $0 == " " || $0 == "\t" }
            guard rest.first == "[" else { continue }
            rest = rest.dropFirst()
            if rest.first == "[" { rest = rest.dropFirst() }
            rest = rest.drop { $0 == " " || $0 == "\t" }
            guard let first = rest.first else {
                throw Failure(
                    description: "\(path):\(number + 1): a table header must start with a key on the same line")
            }
            if first != "]" && !keyStart.contains(first) {
                throw Failure(
                    description: "\(path):\(number + 1): a table header must start with a key, not '\(first)'")
            }
        }
    }

    /// A JSON value of the kinds an option takes; decoding tries Bool first, so `true` is a flag
    /// and never the number 1.
    private enum JSONSetting: Decodable {
        case bool(Bool), integer(Int64), number(Double), text(String)
        init(from decoder: Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let value = try? container.decode(Bool.self) {
                self = .bool(value)
            } else if let value = try? container.decode(Int64.self) {
                self = .integer(value)
            } else if let value = try? container.decode(Double.self) {
                self = .number(value)
            } else if let value = try? container.decode(String.self) {
                self = .text(value)
            } else {
                throw DecodingError.dataCorruptedError(
                    in: container, debugDescription: "expected a string, number or boolean")
            }
        }
    }

    private static func jsonOptions(_ text: String, path: String) throws -> [(String, Setting)] {
        let table: [String: JSONSetting]
        do {
            table = try JSONDecoder().decode([String: JSONSetting].self, from: Data(text.utf8))
        } catch DecodingError.dataCorrupted(let context) where !context.codingPath.isEmpty {
            throw Failure(
                description: "\(path): '\(context.codingPath[0].stringValue)': expected a string, number or boolean")
        } catch {
            throw Failure(description: "\(path): expected one JSON object of option names and values")
        }
        return try table.keys.sorted().map { key in
            let setting: Setting
            switch table[key]! {
            case .bool(let value): setting = .flag(value)
            case .integer(let value): setting = .value(String(value))
            case .number(let value): setting = .value(value.description)
            case .text(let value): setting = .value(value)
            }
            return (try checked(key, path: path), setting)
        }
    }

    private static func checked(_ key: String, path: String) throws -> String {
        guard !key.isEmpty, key.allSatisfy({ $0.isLowercase || $0.isNumber || $0 == "-" }), key.first!.isLowercase,
            key != "config"
        else {
            throw Failure(description: "\(path): '\(key)' is not an option name (expected e.g. walk-steps = 3)")
        }
        return key
    }
}
