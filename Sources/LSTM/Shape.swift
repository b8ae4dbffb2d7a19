/// How the m outputs y^(1..m) of a sequence are pooled into one vector y_bar (and c_bar).
public enum Pooling: String, CaseIterable, Codable, Sendable {
    /// The average over the sequence (the paper's default).
    case mean
    /// The element-wise maximum over the sequence.
    case max
    /// The last output.
    case last
}

/// The sizes of an LSTM regression model (input size p, hidden size n) and where each parameter
/// lives in the flat parameter vector theta. Every trainer and every message uses this layout.
///
/// theta = [ w | W^T | R | b ], n_theta = 4n(n+p) + 5n, or with the direct link
/// theta = [ w | W^T | R | b | v ], n_theta = 4n(n+p) + 5n + p:
/// - `w` (n): the regression vector, d_hat = w^T y_bar (+ v^T x^(m) with the direct link);
/// - `W^T` (p x 4n, row-major): input weights, entry (q, r) = W[r][q], so all gates' weights of one
///   input component are contiguous (the particle kernel's input projection is then one GEMM);
/// - `R` (4n x n, row-major): recurrent weights;
/// - `b` (4n): biases;
/// - `v` (p, with `directLink` only): the coefficients of the sequence's last input column x^(m).
///   It comes last so that every other block has the same place with and without it.
/// The 4n gate rows are ordered z (block input, tanh), i (input gate), f (forget gate),
/// o (output gate): row r belongs to gate r / n, unit r % n.
public struct LSTMShape: Sendable, Equatable, CustomStringConvertible {
    /// n, the size of the hidden state and of the output y.
    public let hidden: Int
    /// p, the size of each input column x.
    public let input: Int
    /// d_hat = w^T y_bar + v^T x^(m): a linear path from the input to the output, which the
    /// bounded y_bar cannot give (persistence, d = x^(m), is hard to learn through tanh).
    public let directLink: Bool

    public init(hidden: Int, input: Int, directLink: Bool = false) {
        precondition(hidden >= 1 && input >= 1, "an LSTM needs hidden >= 1 and input >= 1")
        self.hidden = hidden
        self.input = input
        self.directLink = directLink
    }

    /// 4n: the stacked gate rows.
    @inlinable public var gateRows: Int { 4 * hidden }
    /// n_theta = 4n(n+p) + 5n (+ p with the direct link).
    @inlinable public var parameterCount: Int { 4 * hidden * (hidden + input) + 5 * hidden + directCount }
    /// p with the direct link, else 0: the length of v.
    @inlinable public var directCount: Int { directLink ? input : 0 }
    /// n_a = 2n + n_theta: the state a = [c_bar; y_bar; theta] of the state-space form.
    @inlinable public var stateCount: Int { 2 * hidden + parameterCount }

    @inlinable public var regressionOffset: Int { 0 }
    @inlinable public var inputWeightsOffset: Int { hidden }
    @inlinable public var recurrentWeightsOffset: Int { hidden + gateRows * input }
    @inlinable public var biasOffset: Int { recurrentWeightsOffset + gateRows * hidden }
    @inlinable public var directOffset: Int { biasOffset + gateRows }

    /// Index in theta of W[r][q] (gate row r, input component q).
    @inlinable public func inputWeightIndex(row r: Int, input q: Int) -> Int { inputWeightsOffset + q * gateRows + r }
    /// Index in theta of R[r][j] (gate row r, hidden unit j).
    @inlinable public func recurrentWeightIndex(row r: Int, hidden j: Int) -> Int {
        recurrentWeightsOffset + r * hidden + j
    }
    @inlinable public func biasIndex(row r: Int) -> Int { biasOffset + r }

    public var description: String {
        "LSTM(n: \(hidden), p: \(input)\(directLink ? ", direct link" : ""), n_theta: \(parameterCount))"
    }
}

/// One labelled sequence X = [x^(1) ... x^(m)], x in R^p, with its label d.
public struct Sample: Sendable, Equatable {
    /// The m columns back to back: column l is `inputs[l*p ..< (l+1)*p]`.
    public let inputs: [Double]
    /// m >= 1.
    public let length: Int
    public let label: Double

    public init(inputs: [Double], length: Int, label: Double) {
        precondition(length >= 1 && inputs.count % length == 0, "a sample needs m >= 1 columns of equal size")
        self.inputs = inputs
        self.length = length
        self.label = label
    }

    /// p, the size of each column.
    public var inputSize: Int { inputs.count / length }
}
