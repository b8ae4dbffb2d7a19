import CBLAS
import Foundation

/// Least squares min ||H beta - T|| kept as the triangle R of a QR factorisation of the augmented
/// rows A = [H | T] (`docs/design/elm.md`): never the normal equations, which square the
/// condition number. Rows are folded in as they come (square-root recursive least squares, with a
/// forgetting factor), and two triangles of disjoint row sets merge into the triangle of their
/// union (TSQR), in any order and grouping. With R = [[R11, z], [0, rho]], beta = R11^-1 z and
/// |rho| = ||H beta - T||.
///
/// R's diagonal is kept non-negative, which makes R unique for a full-rank A: whatever the
/// partition of the rows and the reduction tree, the same R (to rounding).
public struct LeastSquaresTriangle: Equatable, Sendable {
    /// c: the features and the target column.
    public let columns: Int
    /// R, c x c row-major; zero below the diagonal.
    public private(set) var r: [Double]
    /// Rows folded in (with forgetting, their weights decay but they still count here).
    public private(set) var rows = 0

    public init(columns: Int) {
        precondition(columns >= 2, "at least one feature and the target")
        self.columns = columns
        r = [Double](repeating: 0, count: columns * columns)
    }

    /// A triangle that starts from the rows sqrt(ridge) e_j (a prior: not counted in `rows`): with no
    /// forgetting, solving it without a ridge is the ridge solution, at the cost of a plain solve.
    public init(columns: Int, ridge: Double) {
        self.init(columns: columns)
        guard ridge > 0 else { return }
        var penalty = [Double](repeating: 0, count: (columns - 1) * columns)
        for j in 0..<(columns - 1) { penalty[j * columns + j] = ridge.squareRoot() }
        add(rows: penalty)
        rows = 0
    }

    /// The triangle of `rows` (row-major, each `columns` long, the target last).
    public init(columns: Int, rows: [Double]) {
        self.init(columns: columns)
        add(rows: rows)
    }

    /// Folds in rows: R becomes the triangle of [sqrt(forgetting) R; B] (LAPACK dtpqrt).
    public mutating func add(rows block: [Double], forgetting: Double = 1) {
        precondition(block.count % columns == 0, "rows of \(columns) numbers")
        precondition(forgetting > 0 && forgetting <= 1, "a forgetting factor in (0, 1]")
        let count = block.count / columns
        guard count > 0 else { return }
        if forgetting != 1 {
            let scale = forgetting.squareRoot()
            for j in r.indices { r[j] *= scale }
        }
        var b = block
        factor(stackedUnder: &b, count: count, triangular: false)
        rows += count
    }

    /// The triangle of the same rows with their weights multiplied by `factor` (R times its root).
    public func scaled(by factor: Double) -> LeastSquaresTriangle {
        var copy = self
        let root = factor.squareRoot()
        for j in copy.r.indices { copy.r[j] *= root }
        return copy
    }

    /// Merges the triangle of other rows: R becomes the triangle of [R; R_other].
    public mutating func merge(_ other: LeastSquaresTriangle) {
        precondition(other.columns == columns, "triangles of \(columns) and \(other.columns) columns")
        var b = other.r
        factor(stackedUnder: &b, count: columns, triangular: true)
        rows += other.rows
    }

    private mutating func factor(stackedUnder b: inout [Double], count: Int, triangular: Bool) {
        let c = Int32(columns)
        let blocking = Int32(min(columns, 32))
        var t = [Double](repeating: 0, count: Int(blocking) * columns)
        let info = LAPACKE_dtpqrt(
            LAPACK_ROW_MAJOR, Int32(count), c, triangular ? c : 0, blocking, &r, c, &b, c, &t, c)
        precondition(info == 0, "dtpqrt: argument \(-info) is invalid")
        // dtpqrt leaves B holding the reflectors; R's strict lower part is untouched zeros.
        for i in 0..<columns where r[i * columns + i] < 0 {
            for j in i..<columns { r[i * columns + j] = -r[i * columns + j] }
        }
    }

    /// The upper triangle, row by row (c (c + 1) / 2 numbers): what a TSQR message carries.
    public var packed: [Double] {
        (0..<columns).flatMap { i in r[(i * columns + i)..<((i + 1) * columns)] }
    }

    /// [rows, the packed triangle]: a triangle as one message of doubles (TSQR's, delm's).
    public var message: [Double] { [Double(rows)] + packed }

    public init(columns: Int, message: [Double]) {
        self.init(columns: columns, packed: Array(message.dropFirst()), rows: Int(message[0]))
    }

    public init(columns: Int, packed: [Double], rows: Int) {
        precondition(packed.count == columns * (columns + 1) / 2, "a packed triangle of \(columns) columns")
        self.init(columns: columns)
        var k = 0
        for i in 0..<columns {
            for j in i..<columns {
                r[i * columns + j] = packed[k]
                k += 1
            }
        }
        self.rows = rows
    }

    public struct RankDeficient: Error, CustomStringConvertible {
        public let column: Int
        public var description: String {
            "the least-squares problem is rank deficient (feature column \(column) depends on the others, or "
                + "there are fewer rows than features); add a ridge"
        }
    }

    /// beta minimising ||H beta - T||^2 + ridge ||beta||^2, and the square root of that minimum
    /// (|rho|; without a ridge, the residual norm). A ridge is folded in as rows sqrt(ridge) e_j.
    public func solve(ridge: Double = 0) throws -> (beta: [Double], residual: Double) {
        precondition(ridge >= 0, "a ridge >= 0")
        var triangle = self
        let features = columns - 1
        if ridge > 0 {
            var penalty = [Double](repeating: 0, count: features * columns)
            for j in 0..<features { penalty[j * columns + j] = ridge.squareRoot() }
            triangle.add(rows: penalty)
        }
        let diagonal = (0..<features).map { abs(triangle.r[$0 * columns + $0]) }
        let largest = diagonal.max() ?? 0
        // Relative to the largest: beyond 1e13 the solve loses every digit.
        if let column = diagonal.firstIndex(where: { $0 <= 1e-13 * largest }) ?? (largest == 0 ? 0 : nil) {
            throw RankDeficient(column: column)
        }
        var beta = (0..<features).map { triangle.r[$0 * columns + features] }
        var r11 = [Double](repeating: 0, count: features * features)
        for i in 0..<features {
            for j in i..<features { r11[i * features + j] = triangle.r[i * columns + j] }
        }
        let n = Int32(features)
        cblas_dtrsv(CblasRowMajor, CblasUpper, CblasNoTrans, CblasNonUnit, n, r11, n, &beta, 1)
        return (beta, abs(triangle.r[features * columns + features]))
    }
}
