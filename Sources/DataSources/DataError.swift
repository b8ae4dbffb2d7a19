/// Bad input, said in one line that names the file and line and what was expected.
public struct DataError: Error, CustomStringConvertible, Equatable {
    public let file: String
    /// 1-based; nil when the problem is not on one line (missing file, empty data).
    public let line: Int?
    public let message: String

    public init(file: String, line: Int? = nil, _ message: String) {
        self.file = file
        self.line = line
        self.message = escapingControlCharacters(message)
    }

    public var description: String {
        if let line { return "\(file):\(line): \(message)" }
        return "\(file): \(message)"
    }
}

/// Messages quote the user's text (a field, a JSON key), which may hold a carriage return or
/// another control character: escaped (\r, \u{1}), the message stays one printable line.
func escapingControlCharacters(_ text: String) -> String {
    guard text.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else { return text }
    return String(
        text.unicodeScalars.map { $0.properties.generalCategory == .control ? $0.escaped(asASCII: false) : String($0) }
            .joined())
}
