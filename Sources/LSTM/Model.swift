#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

@inlinable @inline(__always)
public func sigmoid(_ x: Double) -> Double {
    // Two forms so that exp never overflows.
    if x >= 0 { return 1 / (1 + exp(-x)) }
    let e = exp(x)
    return e / (1 + e)
}

/// Everything the forward pass computed on one sequence, kept for the backward pass.
public struct ForwardTrace: Sendable {
    public let shape: LSTMShape
    public let pooling: Pooling
    public let length: Int
    /// Gate activations per step: `gates[l*4n ..< (l+1)*4n]` = [z; i; f; o] of column l.
    public var gates: [Double]
    /// c^(0..m): `cells[l*n ..< (l+1)*n]` is c^(l); c^(0) is the initial state.
    public var cells: [Double]
    /// y^(0..m), like `cells`.
    public var outputs: [Double]
    public var pooledCell: [Double]
    public var pooledOutput: [Double]
    /// For max pooling: the step (1-based) each component's maximum came from.
    public var maxCellStep: [Int]
    public var maxOutputStep: [Int]
    /// d_hat = w^T y_bar (+ v^T x^(m) with the direct link).
    public var estimate: Double
}

/// The LSTM regression model of the paper (eqs. 1-5 without peepholes, pooling, d_hat = w^T y_bar,
/// plus v^T x^(m) with the shape's direct link):
/// the scalar reference implementation, written for clarity; `ParticleKernel` is the fast batched one
/// and is tested against this.
public struct LSTMModel: Sendable {
    public let shape: LSTMShape
    public let pooling: Pooling

    public init(shape: LSTMShape, pooling: Pooling = .mean) {
        self.shape = shape
        self.pooling = pooling
    }

    /// Runs the sequence from the initial state (c^(0), y^(0)) (zeros by default).
    public func forward(
        theta: [Double], sample: Sample, initialCell: [Double]? = nil,
        initialOutput: [Double]? = nil
    ) -> ForwardTrace {
        let n = shape.hidden, p = shape.input, rows = shape.gateRows, m = sample.length
        precondition(
            theta.count == shape.parameterCount,
            "theta has \(theta.count) entries, \(shape) needs \(shape.parameterCount)")
        precondition(
            sample.inputSize == p, "the sample has columns of size \(sample.inputSize), the model expects p = \(p)")
        var trace = ForwardTrace(
            shape: shape, pooling: pooling, length: m,
            gates: [Double](repeating: 0, count: m * rows),
            cells: [Double](repeating: 0, count: (m + 1) * n), outputs: [Double](repeating: 0, count: (m + 1) * n),
            pooledCell: [Double](repeating: 0, count: n), pooledOutput: [Double](repeating: 0, count: n),
            maxCellStep: [Int](repeating: 1, count: n), maxOutputStep: [Int](repeating: 1, count: n), estimate: 0)
        if let initialCell { trace.cells.replaceSubrange(0..<n, with: initialCell) }
        if let initialOutput { trace.outputs.replaceSubrange(0..<n, with: initialOutput) }

        var preactivation = [Double](repeating: 0, count: rows)
        for l in 0..<m {
            for r in 0..<rows {
                var sum = theta[shape.biasIndex(row: r)]
                for q in 0..<p { sum += theta[shape.inputWeightIndex(row: r, input: q)] * sample.inputs[l * p + q] }
                for j in 0..<n {
                    sum += theta[shape.recurrentWeightIndex(row: r, hidden: j)] * trace.outputs[l * n + j]
                }
                preactivation[r] = sum
            }
            for k in 0..<n {
                let z = tanh(preactivation[k])
                let i = sigmoid(preactivation[n + k])
                let f = sigmoid(preactivation[2 * n + k])
                let o = sigmoid(preactivation[3 * n + k])
                let c = i * z + f * trace.cells[l * n + k]
                trace.gates[l * rows + k] = z
                trace.gates[l * rows + n + k] = i
                trace.gates[l * rows + 2 * n + k] = f
                trace.gates[l * rows + 3 * n + k] = o
                trace.cells[(l + 1) * n + k] = c
                trace.outputs[(l + 1) * n + k] = o * tanh(c)
            }
        }

        for k in 0..<n {
            switch pooling {
            case .mean:
                var cSum = 0.0, ySum = 0.0
                for l in 1...m {
                    cSum += trace.cells[l * n + k]
                    ySum += trace.outputs[l * n + k]
                }
                trace.pooledCell[k] = cSum / Double(m)
                trace.pooledOutput[k] = ySum / Double(m)
            case .max:
                var cBest = 1, yBest = 1
                for l in 1...m {
                    if trace.cells[l * n + k] > trace.cells[cBest * n + k] { cBest = l }
                    if trace.outputs[l * n + k] > trace.outputs[yBest * n + k] { yBest = l }
                }
                trace.maxCellStep[k] = cBest
                trace.maxOutputStep[k] = yBest
                trace.pooledCell[k] = trace.cells[cBest * n + k]
                trace.pooledOutput[k] = trace.outputs[yBest * n + k]
            case .last:
                trace.pooledCell[k] = trace.cells[m * n + k]
                trace.pooledOutput[k] = trace.outputs[m * n + k]
            }
        }
        var estimate = 0.0
        for k in 0..<n { estimate += theta[shape.regressionOffset + k] * trace.pooledOutput[k] }
        for q in 0..<shape.directCount { estimate += theta[shape.directOffset + q] * sample.inputs[(m - 1) * p + q] }
        trace.estimate = estimate
        return trace
    }

    /// d_hat for one parameter vector.
    public func estimate(theta: [Double], sample: Sample) -> Double {
        forward(theta: theta, sample: sample).estimate
    }

    /// Backpropagation through the sequence of a linear functional of the pooled state,
    /// g = cellSeed^T c_bar + outputSeed^T y_bar, holding w fixed: returns dg/dtheta (zero in the w
    /// and v blocks, which the pooled state does not depend on) and dg/dc^(0), dg/dy^(0).
    public func backward(
        _ trace: ForwardTrace, theta: [Double], sample: Sample,
        cellSeed: [Double], outputSeed: [Double]
    ) -> (theta: [Double], initialCell: [Double], initialOutput: [Double]) {
        let n = shape.hidden, p = shape.input, rows = shape.gateRows, m = trace.length
        var gradient = [Double](repeating: 0, count: shape.parameterCount)
        // Seeds for each step's c and y from the pooling.
        var cellSeeds = [Double](repeating: 0, count: (m + 1) * n)
        var outputSeeds = [Double](repeating: 0, count: (m + 1) * n)
        for k in 0..<n {
            switch pooling {
            case .mean:
                for l in 1...m {
                    cellSeeds[l * n + k] = cellSeed[k] / Double(m)
                    outputSeeds[l * n + k] = outputSeed[k] / Double(m)
                }
            case .max:
                cellSeeds[trace.maxCellStep[k] * n + k] += cellSeed[k]
                outputSeeds[trace.maxOutputStep[k] * n + k] += outputSeed[k]
            case .last:
                cellSeeds[m * n + k] = cellSeed[k]
                outputSeeds[m * n + k] = outputSeed[k]
            }
        }

        var dCell = [Double](repeating: 0, count: n)  // dg/dc^(l), carried backwards
        var dOutput = [Double](repeating: 0, count: n)  // dg/dy^(l) from later steps
        var dPre = [Double](repeating: 0, count: rows)
        for l in stride(from: m, through: 1, by: -1) {
            for k in 0..<n {
                let z = trace.gates[(l - 1) * rows + k], i = trace.gates[(l - 1) * rows + n + k]
                let f = trace.gates[(l - 1) * rows + 2 * n + k], o = trace.gates[(l - 1) * rows + 3 * n + k]
                let c = trace.cells[l * n + k], cPrevious = trace.cells[(l - 1) * n + k]
                let tanhC = tanh(c)
                let dy = dOutput[k] + outputSeeds[l * n + k]
                let dc = dCell[k] + cellSeeds[l * n + k] + dy * o * (1 - tanhC * tanhC)
                dPre[k] = dc * i * (1 - z * z)
                dPre[n + k] = dc * z * i * (1 - i)
                dPre[2 * n + k] = dc * cPrevious * f * (1 - f)
                dPre[3 * n + k] = dy * tanhC * o * (1 - o)
                dCell[k] = dc * f
            }
            for r in 0..<rows {
                gradient[shape.biasIndex(row: r)] += dPre[r]
                for q in 0..<p {
                    gradient[shape.inputWeightIndex(row: r, input: q)] += dPre[r] * sample.inputs[(l - 1) * p + q]
                }
                for j in 0..<n {
                    gradient[shape.recurrentWeightIndex(row: r, hidden: j)] += dPre[r] * trace.outputs[(l - 1) * n + j]
                }
            }
            for j in 0..<n {
                var sum = 0.0
                for r in 0..<rows { sum += theta[shape.recurrentWeightIndex(row: r, hidden: j)] * dPre[r] }
                dOutput[j] = sum
            }
        }
        return (gradient, dCell, dOutput)
    }

    /// The gradient of d_hat = w^T y_bar (+ v^T x^(m)) with respect to theta, by backpropagation
    /// through the sequence.
    public func gradient(theta: [Double], sample: Sample) -> (estimate: Double, gradient: [Double]) {
        let trace = forward(theta: theta, sample: sample)
        let w = Array(theta[shape.regressionOffset..<shape.regressionOffset + shape.hidden])
        var (gradient, _, _) = backward(
            trace, theta: theta, sample: sample,
            cellSeed: [Double](repeating: 0, count: shape.hidden), outputSeed: w)
        for k in 0..<shape.hidden { gradient[shape.regressionOffset + k] = trace.pooledOutput[k] }
        let last = (sample.length - 1) * shape.input
        for q in 0..<shape.directCount { gradient[shape.directOffset + q] = sample.inputs[last + q] }
        return (trace.estimate, gradient)
    }
}
