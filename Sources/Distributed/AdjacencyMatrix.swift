import Foundation

/// Adjacency-matrix files: K lines of K zeros and ones.
extension Topology {
    /// Reads an adjacency matrix: K lines of K numbers (0 or 1) separated by spaces, tabs or commas;
    /// blank lines and lines starting with # are skipped.
    public static func load(path: String) throws -> Topology {
        guard let data = FileManager.default.contents(atPath: path) else {
            let exists = FileManager.default.fileExists(atPath: path)
            throw TopologyError(
                exists
                    ? "\(path): cannot be read"
                    : "\(path): no such file (expected a built-in topology name or an adjacency-matrix file)"
            )
        }
        guard let text = String(data: data, encoding: .utf8) else { throw TopologyError("\(path): not UTF-8 text") }
        return try parse(text, name: path)
    }

    public static func parse(_ text: String, name: String) throws -> Topology {
        var rows = [[Bool]]()
        var firstLine = [Int]()
        // Character.isNewline: "\r\n" is one Character in Swift, so splitting on "\n" alone would
        // leave a file saved on Windows as one line.
        for (index, raw) in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespacesAndNewlines)
            if line.isEmpty || line.hasPrefix("#") { continue }
            let fields = line.split(whereSeparator: { $0.isWhitespace || $0 == "," })
            var row = [Bool]()
            for field in fields {
                switch field {
                case "0": row.append(false)
                case "1": row.append(true)
                default: throw TopologyError("\(name):\(index + 1): '\(field)' is not 0 or 1")
                }
            }
            if let expected = rows.first?.count, row.count != expected {
                throw TopologyError(
                    "\(name):\(index + 1): \(row.count) entries, but line \(firstLine[0]) has \(expected) (the "
                        + "matrix must be square)"
                )
            }
            firstLine.append(index + 1)
            rows.append(row)
        }
        guard !rows.isEmpty else { throw TopologyError("\(name): no matrix rows") }
        guard rows.count == rows[0].count else {
            throw TopologyError("\(name): \(rows.count) rows of \(rows[0].count) entries (the matrix must be square)")
        }
        return try Topology(name: name, adjacency: rows)
    }
}
