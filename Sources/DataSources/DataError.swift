/// Bad input, said in one line that names the file and line and what was expected.
public struct DataError: Error, CustomStringConvertible, Equatable {
    public let file: String
    /// 1-based; nil when the problem is not on one line (missing file, empty data).
    public let line: Int?
    public let message: String

    public init(file: String, line: Int? = nil, _ message: String) {
        self.file = file
        self.line = line
        self.message = message
    }

    public var description: String {
        if let line { return "\(file):\(line): \(message)" }
        return "\(file): \(message)"
    }
}
