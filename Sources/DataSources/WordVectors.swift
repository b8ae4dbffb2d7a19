/// A table from words to vectors of one width: the VADER lexicon (2 numbers a word: mean valence
/// and its standard deviation, the paper's p = 2) or a GloVe / word2vec text file.
public struct WordVectors: Sendable {
    public let width: Int
    private let table: [String: [Double]]

    public init(width: Int, table: [String: [Double]]) {
        self.width = width
        self.table = table
    }

    public var count: Int { table.count }

    public func vector(for word: String) -> [Double]? { table[word] }

    /// vader_lexicon.txt: token TAB mean TAB std TAB [ten ratings]; the first two numbers are kept.
    public static func vaderLexicon(path: String) throws -> WordVectors {
        let reader = try LineReader(path: path)
        var table = [String: [Double]]()
        while let line = try reader.next() {
            if line.isEmpty { continue }
            let fields = line.split(separator: "\t", omittingEmptySubsequences: false)
            guard fields.count >= 3 else {
                throw DataError(
                    file: path, line: reader.lineNumber, "expected token TAB mean TAB std, found \(fields.count) fields"
                )
            }
            guard let mean = parseFinite(fields[1]), let sd = parseFinite(fields[2]) else {
                throw DataError(file: path, line: reader.lineNumber, "mean and std must be finite numbers")
            }
            table[String(fields[0]).lowercased()] = [mean, sd]
        }
        guard !table.isEmpty else { throw DataError(file: path, "the lexicon has no entries") }
        return WordVectors(width: 2, table: table)
    }

    /// A GloVe or word2vec text file: `word v1 ... vd` a line, one width throughout; a word2vec
    /// header line `count width` is recognised and skipped.
    public static func text(path: String) throws -> WordVectors {
        let reader = try LineReader(path: path)
        var table = [String: [Double]]()
        var width: Int?
        while let line = try reader.next() {
            let fields = line.split(separator: " ")
            if fields.isEmpty { continue }
            if reader.lineNumber == 1, fields.count == 2, Int(fields[0]) != nil, Int(fields[1]) != nil { continue }
            let numbers = fields.dropFirst().map { parseFinite($0) }
            guard !numbers.isEmpty, numbers.allSatisfy({ $0 != nil }) else {
                throw DataError(file: path, line: reader.lineNumber, "expected a word followed by finite numbers")
            }
            if let width, numbers.count != width {
                throw DataError(
                    file: path, line: reader.lineNumber, "vector of width \(numbers.count), earlier lines have \(width)"
                )
            }
            width = numbers.count
            table[String(fields[0])] = numbers.map { $0! }
        }
        guard let width else { throw DataError(file: path, "no word vectors in the file") }
        return WordVectors(width: width, table: table)
    }
}
