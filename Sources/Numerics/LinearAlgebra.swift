import CBLAS

/// A dense row-major matrix of Doubles: the one matrix type of the model and the filters.
public struct Matrix: Equatable, Sendable {
    public let rows: Int
    public let columns: Int
    public var elements: [Double]

    public init(rows: Int, columns: Int, repeating value: Double = 0) {
        self.rows = rows
        self.columns = columns
        self.elements = [Double](repeating: value, count: rows * columns)
    }

    public init(rows: Int, columns: Int, elements: [Double]) {
        precondition(elements.count == rows * columns, "\(elements.count) elements for a \(rows)x\(columns) matrix")
        self.rows = rows
        self.columns = columns
        self.elements = elements
    }

    public static func identity(_ n: Int, scale: Double = 1) -> Matrix {
        var m = Matrix(rows: n, columns: n)
        for i in 0..<n { m.elements[i * n + i] = scale }
        return m
    }

    @inlinable
    public subscript(row: Int, column: Int) -> Double {
        get { elements[row * columns + column] }
        set { elements[row * columns + column] = newValue }
    }

    public var transposed: Matrix {
        var t = Matrix(rows: columns, columns: rows)
        for i in 0..<rows { for j in 0..<columns { t.elements[j * rows + i] = elements[i * columns + j] } }
        return t
    }

    /// Replaces the matrix by (A + A^T)/2: covariance updates drift from symmetry by rounding.
    public mutating func symmetrize() {
        precondition(rows == columns)
        for i in 0..<rows {
            for j in (i + 1)..<columns {
                let mean = 0.5 * (elements[i * columns + j] + elements[j * columns + i])
                elements[i * columns + j] = mean
                elements[j * columns + i] = mean
            }
        }
    }
}

public enum Transpose: Sendable {
    case none, transposed
    var cblas: CBLAS_TRANSPOSE { self == .none ? CblasNoTrans : CblasTrans }
}

/// C = alpha * op(A) * op(B) + beta * C (BLAS dgemm).
public func gemm(
    _ a: Matrix, _ transA: Transpose = .none, _ b: Matrix, _ transB: Transpose = .none,
    into c: inout Matrix, alpha: Double = 1, beta: Double = 0
) {
    let m = transA == .none ? a.rows : a.columns
    let k = transA == .none ? a.columns : a.rows
    let n = transB == .none ? b.columns : b.rows
    precondition(k == (transB == .none ? b.rows : b.columns), "gemm: inner dimensions differ")
    precondition(c.rows == m && c.columns == n, "gemm: result is \(c.rows)x\(c.columns), expected \(m)x\(n)")
    guard m > 0, n > 0 else { return }
    if k == 0 {
        for i in c.elements.indices { c.elements[i] *= beta }
        return
    }
    cblas_dgemm(
        CblasRowMajor, transA.cblas, transB.cblas, Int32(m), Int32(n), Int32(k), alpha,
        a.elements, Int32(max(a.columns, 1)), b.elements, Int32(max(b.columns, 1)), beta,
        &c.elements, Int32(max(c.columns, 1)))
}

public func * (a: Matrix, b: Matrix) -> Matrix {
    var c = Matrix(rows: a.rows, columns: b.columns)
    gemm(a, .none, b, .none, into: &c)
    return c
}

/// y = alpha * op(A) * x + beta * y (BLAS dgemv).
public func gemv(
    _ a: Matrix, _ trans: Transpose = .none, _ x: [Double], into y: inout [Double],
    alpha: Double = 1, beta: Double = 0
) {
    precondition(x.count == (trans == .none ? a.columns : a.rows), "gemv: x has the wrong length")
    precondition(y.count == (trans == .none ? a.rows : a.columns), "gemv: y has the wrong length")
    guard a.rows > 0, a.columns > 0 else {
        for i in y.indices { y[i] *= beta }
        return
    }
    cblas_dgemv(
        CblasRowMajor, trans.cblas, Int32(a.rows), Int32(a.columns), alpha, a.elements,
        Int32(a.columns), x, 1, beta, &y, 1)
}

/// A += alpha * x * y^T (BLAS dger).
public func ger(_ x: [Double], _ y: [Double], into a: inout Matrix, alpha: Double = 1) {
    precondition(x.count == a.rows && y.count == a.columns)
    guard a.rows > 0, a.columns > 0 else { return }
    cblas_dger(CblasRowMajor, Int32(a.rows), Int32(a.columns), alpha, x, 1, y, 1, &a.elements, Int32(a.columns))
}

public func dot(_ x: [Double], _ y: [Double]) -> Double {
    precondition(x.count == y.count)
    return x.isEmpty ? 0 : cblas_ddot(Int32(x.count), x, 1, y, 1)
}

/// The Cholesky factor L (lower, A = L L^T) of a symmetric matrix, or nil if A is not positive
/// definite (LAPACK dpotrf).
public func cholesky(_ a: Matrix) -> Matrix? {
    precondition(a.rows == a.columns)
    var l = a
    let info = LAPACKE_dpotrf(
        LAPACK_ROW_MAJOR, Int8(UInt8(ascii: "L")), Int32(a.rows), &l.elements, Int32(max(a.rows, 1)))
    guard info == 0 else { return nil }
    for i in 0..<a.rows { for j in (i + 1)..<a.columns { l.elements[i * a.columns + j] = 0 } }
    return l
}

/// The eigenvalues of a symmetric matrix in ascending order (LAPACK dsyev), or nil if it failed.
public func symmetricEigenvalues(_ a: Matrix) -> [Double]? {
    precondition(a.rows == a.columns)
    guard a.rows > 0 else { return [] }
    var copy = a.elements
    var values = [Double](repeating: 0, count: a.rows)
    let info = LAPACKE_dsyev(
        LAPACK_ROW_MAJOR, Int8(UInt8(ascii: "N")), Int8(UInt8(ascii: "U")), Int32(a.rows),
        &copy, Int32(a.rows), &values)
    return info == 0 ? values : nil
}

/// One BLAS thread per process unless OPENBLAS_NUM_THREADS says otherwise: under mpirun every rank
/// is already one core's worth of work, and OpenBLAS's default of a thread per core would
/// oversubscribe the node.
public func useOneBLASThreadPerProcess() {
    if getenv("OPENBLAS_NUM_THREADS") == nil { openblas_set_num_threads(1) }
}

#if canImport(Glibc)
    import Glibc
#endif
