import Numerics

/// The state-space form of the paper (eqs. 6-11) for one node:
///   a_t = phi(a_{t-1}, X_t) + gamma_t,   a = [c_bar; y_bar; theta],
///   d_t = h(a_t, X_t) + eps_t = w^T y_bar (+ v^T x_t^(m) with the direct link) + eps_t.
/// phi runs the sequence with the parameters in a_{t-1}, starting from zero state, or, with
/// `carryState`, from the previous pooled (c_bar, y_bar) (eqs. 6-7); theta is static (eq. 8).
public struct LSTMStateSpace: Sendable {
    public let model: LSTMModel
    public let carryState: Bool

    public init(model: LSTMModel, carryState: Bool = false) {
        self.model = model
        self.carryState = carryState
    }

    public var shape: LSTMShape { model.shape }

    /// theta, the last n_theta entries of a.
    public func parameters(of state: [Double]) -> [Double] {
        Array(state[(2 * shape.hidden)...])
    }

    /// phi(a, X) and, if asked, the top 2n rows of its Jacobian F = d phi / d a (the rows of c_bar
    /// and y_bar, 2n x n_a, from 2n backward passes). The remaining rows, those of theta, are
    /// [0 | I]: F is never formed in full.
    public func transition(_ state: [Double], sample: Sample, jacobian: Bool) -> (
        state: [Double], jacobianHead: Matrix?
    ) {
        let n = shape.hidden, nA = shape.stateCount
        let theta = parameters(of: state)
        let initialCell = carryState ? Array(state[0..<n]) : nil
        let initialOutput = carryState ? Array(state[n..<2 * n]) : nil
        let trace = model.forward(theta: theta, sample: sample, initialCell: initialCell, initialOutput: initialOutput)
        let next = trace.pooledCell + trace.pooledOutput + theta
        guard jacobian else { return (next, nil) }

        var head = Matrix(rows: 2 * n, columns: nA)
        let zeros = [Double](repeating: 0, count: n)
        for row in 0..<(2 * n) {
            var seed = zeros
            seed[row % n] = 1
            let (dTheta, dCell, dOutput) = model.backward(
                trace, theta: theta, sample: sample,
                cellSeed: row < n ? seed : zeros,
                outputSeed: row < n ? zeros : seed)
            if carryState {
                for k in 0..<n {
                    head[row, k] = dCell[k]
                    head[row, n + k] = dOutput[k]
                }
            }
            for j in 0..<shape.parameterCount { head[row, 2 * n + j] = dTheta[j] }
        }
        return (next, head)
    }

    /// The full Jacobian F (n_a x n_a), for tests and small models.
    public func fullJacobian(_ state: [Double], sample: Sample) -> Matrix {
        let head = transition(state, sample: sample, jacobian: true).jacobianHead!
        let nA = shape.stateCount, rows = head.rows
        var f = Matrix(rows: nA, columns: nA)
        f.elements.replaceSubrange(0..<(rows * nA), with: head.elements)
        for j in rows..<nA { f[j, j] = 1 }
        return f
    }

    /// h(a, X) = w^T y_bar, plus v^T x^(m) with the direct link: the observation depends on the
    /// sequence only through that link, which is linear in theta.
    public func observation(_ state: [Double], sample: Sample) -> Double {
        let n = shape.hidden
        var sum = 0.0
        for k in 0..<n { sum += state[2 * n + shape.regressionOffset + k] * state[n + k] }
        let last = (sample.length - 1) * shape.input
        for q in 0..<shape.directCount { sum += state[2 * n + shape.directOffset + q] * sample.inputs[last + q] }
        return sum
    }

    /// H = dh/da: w in the y_bar block, y_bar in the w block of theta, x^(m) in the v block.
    public func observationJacobian(_ state: [Double], sample: Sample) -> [Double] {
        let n = shape.hidden
        var h = [Double](repeating: 0, count: shape.stateCount)
        for k in 0..<n {
            h[n + k] = state[2 * n + shape.regressionOffset + k]
            h[2 * n + shape.regressionOffset + k] = state[n + k]
        }
        let last = (sample.length - 1) * shape.input
        for q in 0..<shape.directCount { h[2 * n + shape.directOffset + q] = sample.inputs[last + q] }
        return h
    }
}
