/// A table of results, written twice: Markdown for reading (figures rounded as each column says)
/// and CSV with every digit. The experiments, the scaling study and `dlstm plot` write theirs here.
public struct ResultTable {
    /// The Markdown header and the CSV header (the CSV may keep columns the Markdown leaves out).
    public let headings: [String]
    public let csvHeadings: [String]
    /// The first `textColumns` columns are aligned left (names), the rest right (numbers).
    public let textColumns: Int
    public private(set) var rows: [[String]] = []
    public private(set) var csvRows: [[String]] = []

    public init(headings: [String], csvHeadings: [String], textColumns: Int = 1) {
        (self.headings, self.csvHeadings, self.textColumns) = (headings, csvHeadings, textColumns)
    }

    /// One row: its cells as the Markdown shows them, and as the CSV keeps them.
    public mutating func append(_ cells: [String], csv: [String]) {
        precondition(cells.count == headings.count && csv.count == csvHeadings.count, "a cell for every column")
        rows.append(cells)
        csvRows.append(csv)
    }

    /// The header, the alignment row and the rows, without a newline at the end.
    public var markdown: String {
        let alignment = headings.indices.map { $0 < textColumns ? "---" : "---:" }
        return ([headings, alignment] + rows).map { "| " + $0.joined(separator: " | ") + " |" }.joined(separator: "\n")
    }

    /// The header and the rows, each line ending in a newline.
    public var csv: String {
        ([csvHeadings] + csvRows).map { $0.joined(separator: ",") + "\n" }.joined()
    }
}
