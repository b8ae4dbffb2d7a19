import LSTM

/// Labelled sentences, `id TAB score TAB text` a line (the VADER ground-truth files: CRLF line
/// ends, UTF-8), each word mapped through a word-vector table: a sentence of m known words is a
/// sample of m columns of size p = the table's width, labelled with the score.
///
/// Tokens: the text is lower-cased and split on white space; a token is looked up as it is (so
/// emoticons such as ":)" and words such as "can't" match the lexicon), then with punctuation
/// stripped from both ends. Unknown words are skipped; a sentence with no known word becomes one
/// zero column, so every sentence still yields a prediction and an error.
public struct LabelledText: SampleSource {
    public let path: String
    public let vectors: WordVectors
    private let reader: LineReader
    public private(set) var unknownWords = 0
    public private(set) var knownWords = 0

    public init(path: String, vectors: WordVectors) throws {
        self.path = path
        self.vectors = vectors
        self.reader = try LineReader(path: path)
    }

    public var inputSize: Int { vectors.width }

    static let punctuation = Set(".,!?;:\"'()[]{}<>*_-~`…“”‘’")

    public mutating func next() throws -> Sample? {
        while let line = try reader.next() {
            if line.trimmingCharacters(in: " \t").isEmpty { continue }
            let fields = line.split(separator: "\t", maxSplits: 2, omittingEmptySubsequences: false)
            guard fields.count == 3 else {
                throw DataError(
                    file: path, line: reader.lineNumber, "expected id TAB score TAB text, found \(fields.count) fields")
            }
            guard let score = parseFinite(fields[1]) else {
                throw DataError(file: path, line: reader.lineNumber, "the score '\(fields[1])' is not a finite number")
            }
            var inputs = [Double]()
            for token in fields[2].lowercased().split(whereSeparator: \.isWhitespace) {
                let word = String(token)
                if let vector = vectors.vector(for: word) ?? vectors.vector(for: Self.strip(word)) {
                    inputs.append(contentsOf: vector)
                    knownWords += 1
                } else {
                    unknownWords += 1
                }
            }
            if inputs.isEmpty { inputs = [Double](repeating: 0, count: vectors.width) }
            return Sample(inputs: inputs, length: inputs.count / vectors.width, label: score)
        }
        return nil
    }

    static func strip(_ word: String) -> String {
        var s = Substring(word)
        while let first = s.first, punctuation.contains(first) { s = s.dropFirst() }
        while let last = s.last, punctuation.contains(last) { s = s.dropLast() }
        return String(s)
    }
}
