#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Reads a text file one line at a time (getline), so a data set is never loaded whole.
/// Strips the line end, CRLF included; counts lines from 1.
public final class LineReader {
    public let path: String
    private let file: UnsafeMutablePointer<FILE>
    private var buffer: UnsafeMutablePointer<CChar>?
    private var capacity = 0
    public private(set) var lineNumber = 0

    public init(path: String) throws {
        self.path = path
        guard let file = fopen(path, "r") else {
            throw DataError(file: path, "cannot open: \(String(cString: strerror(errno)))")
        }
        self.file = file
    }

    deinit {
        fclose(file)
        free(buffer)
    }

    /// The next line without its line end, or nil at the end of the file.
    public func next() throws -> String? {
        let length = getline(&buffer, &capacity, file)
        if length < 0 {
            if ferror(file) != 0 { throw DataError(file: path, line: lineNumber + 1, "read error") }
            return nil
        }
        lineNumber += 1
        var count = length
        while count > 0, buffer![count - 1] == 10 || buffer![count - 1] == 13 { count -= 1 }
        let bytes = UnsafeRawBufferPointer(start: buffer, count: count)
        guard let line = String(validating: bytes, as: UTF8.self) else {
            throw DataError(file: path, line: lineNumber, "not valid UTF-8")
        }
        return line
    }
}

/// Parses a decimal number, refusing NaN and infinities (which would poison every filter).
func parseFinite(_ text: Substring) -> Double? {
    guard let value = Double(text.trimmingCharacters()), value.isFinite else { return nil }
    return value
}

extension Substring {
    func trimmingCharacters() -> Substring {
        var s = self
        while let first = s.first, first == " " || first == "\t" { s = s.dropFirst() }
        while let last = s.last, last == " " || last == "\t" { s = s.dropLast() }
        return s
    }
}
