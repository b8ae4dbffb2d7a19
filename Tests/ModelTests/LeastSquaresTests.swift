import Foundation
import Numerics
import Testing

/// The QR triangle against numpy's SVD-based lstsq (`golden/least_squares.py`), and TSQR's
/// independence from the partition and the tree (`docs/design/elm.md`, tests).
@Suite("least squares by QR triangles")
struct LeastSquaresTests {
    typealias Golden = LeastSquaresGolden
    static let columns = Golden.features + 1

    /// Row i of [H | T].
    static func row(_ i: Int, h: [Double] = Golden.h, t: [Double] = Golden.t) -> [Double] {
        Array(h[(i * Golden.features)..<((i + 1) * Golden.features)]) + [t[i]]
    }

    static func rows(_ range: Range<Int>) -> [Double] { range.flatMap { row($0) } }

    func expectClose(
        _ a: [Double], _ b: [Double], relative tolerance: Double, sourceLocation: SourceLocation = #_sourceLocation
    ) {
        let scale = b.map(abs).max()!
        let error = zip(a, b).map { abs($0 - $1) }.max()!
        #expect(
            a.count == b.count && error <= tolerance * scale, "error \(error) against \(scale)",
            sourceLocation: sourceLocation)
    }

    @Test("one triangle of every row: beta and the residual equal numpy's lstsq")
    func batch() throws {
        let triangle = LeastSquaresTriangle(columns: Self.columns, rows: Self.rows(0..<Golden.rows))
        let (beta, residual) = try triangle.solve()
        expectClose(beta, Golden.beta, relative: 1e-10)
        #expect(abs(residual - Golden.residual) <= 1e-10 * Golden.residual)
        #expect(triangle.rows == Golden.rows)
    }

    /// Shares of the 40 rows: uneven, one with fewer rows than columns, one with none.
    static let partitions: [[Int]] = [[40], [25, 15], [3, 0, 37], [10, 5, 0, 20, 5], [1, 2, 3, 4, 5, 6, 7, 12]]

    @Test("TSQR: the same R and beta whatever the number of parts, their sizes and the tree", arguments: partitions)
    func tsqr(shares: [Int]) throws {
        var start = 0
        let parts = shares.map { share -> LeastSquaresTriangle in
            defer { start += share }
            return LeastSquaresTriangle(columns: Self.columns, rows: Self.rows(start..<(start + share)))
        }
        // A chain, and a binary tree (pairs, then pairs of pairs).
        var chain = parts[0]
        for part in parts.dropFirst() { chain.merge(part) }
        var level = parts
        while level.count > 1 {
            level = stride(from: 0, to: level.count, by: 2).map { i in
                var merged = level[i]
                if i + 1 < level.count { merged.merge(level[i + 1]) }
                return merged
            }
        }
        let reference = LeastSquaresTriangle(columns: Self.columns, rows: Self.rows(0..<Golden.rows))
        for triangle in [chain, level[0]] {
            expectClose(triangle.r, reference.r, relative: 1e-12)
            expectClose(try triangle.solve().beta, Golden.beta, relative: 1e-10)
            #expect(triangle.rows == Golden.rows)
        }
    }

    @Test("a packed triangle (what a message carries) reads back as the same triangle")
    func packing() {
        let triangle = LeastSquaresTriangle(columns: Self.columns, rows: Self.rows(0..<17))
        let packed = triangle.packed
        #expect(packed.count == Self.columns * (Self.columns + 1) / 2)
        #expect(LeastSquaresTriangle(columns: Self.columns, packed: packed, rows: 17) == triangle)
    }

    @Test("a ridge equals numpy's solution with sqrt(lambda) I appended")
    func ridge() throws {
        let triangle = LeastSquaresTriangle(columns: Self.columns, rows: Self.rows(0..<Golden.rows))
        expectClose(try triangle.solve(ridge: Golden.ridge).beta, Golden.ridgeBeta, relative: 1e-10)
        // Fewer rows than features: rank deficient without a ridge, solvable with one.
        let few = LeastSquaresTriangle(columns: Self.columns, rows: Self.rows(0..<3))
        #expect(throws: LeastSquaresTriangle.RankDeficient.self) { try few.solve() }
        #expect(try few.solve(ridge: 0.1).beta.allSatisfy(\.isFinite))
    }

    @Test("online, row by row: forgetting 1 is the batch solution, 0.9 exponentially weighted least squares")
    func online() throws {
        var plain = LeastSquaresTriangle(columns: Self.columns)
        var forgetting = LeastSquaresTriangle(columns: Self.columns)
        for i in 0..<Golden.rows {
            plain.add(rows: Self.row(i))
            forgetting.add(rows: Self.row(i), forgetting: Golden.forgetting)
        }
        expectClose(try plain.solve().beta, Golden.beta, relative: 1e-10)
        expectClose(try forgetting.solve().beta, Golden.weightedBeta, relative: 1e-10)
    }

    @Test("a near-collinear column (condition 2e7) stays accurate; an exactly repeated one is refused")
    func collinear() throws {
        #expect(Golden.collinearCondition > 1e7)
        let rows = (0..<Golden.rows).flatMap { Self.row($0, h: Golden.collinearH, t: Golden.collinearT) }
        let triangle = LeastSquaresTriangle(columns: Self.columns, rows: rows)
        // About kappa * 1e-16 relative, as the SVD; the normal equations would lose kappa^2 (all digits).
        expectClose(try triangle.solve().beta, Golden.collinearBeta, relative: 1e-7)
        var repeated = LeastSquaresTriangle(columns: Self.columns)
        for i in 0..<Golden.rows {
            var row = Self.row(i)
            row[1] = row[0]
            repeated.add(rows: row)
        }
        #expect(throws: LeastSquaresTriangle.RankDeficient.self) { try repeated.solve() }
    }
}

extension LeastSquaresTests {
    @Test("a ridge as prior rows: the same solution as the ridge at solve time")
    func ridgePrior() throws {
        var prior = LeastSquaresTriangle(columns: Self.columns, ridge: Golden.ridge)
        prior.add(rows: Self.rows(0..<Golden.rows))
        #expect(prior.rows == Golden.rows)
        expectClose(try prior.solve().beta, Golden.ridgeBeta, relative: 1e-10)
    }
}
