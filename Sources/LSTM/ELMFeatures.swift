import CBLAS
import Numerics

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The feature map of an ELM-trained LSTM (`docs/design/elm.md`, "ELM-rand"): the LSTM's
/// weights (W, R, b) are drawn once and never trained, and a sequence's feature row is
/// h = [y_bar; 1], or [y_bar; 1; x^(m)] with the direct link (the last input column). Only the
/// readout beta, d_hat = beta^T h, is learned, by least squares.
///
/// Many sequences at once: those of equal length go through the input projection and each
/// recurrent step together, as matrix-matrix products (dgemm), the transpose of the particle
/// kernel's problem (one theta, many sequences, instead of one sequence, many thetas).
public struct ELMFeatures: Sendable {
    public let model: LSTMModel
    /// The fixed weights, in the model's layout (its readout block w is unused).
    public let theta: [Double]
    public let directLink: Bool

    public init(model: LSTMModel, theta: [Double], directLink: Bool = false) {
        precondition(theta.count == model.shape.parameterCount, "theta of \(model.shape.parameterCount) numbers")
        (self.model, self.theta, self.directLink) = (model, theta, directLink)
    }

    /// Weights drawn from N(0, scale^2) keyed by `seed` alone: every node draws the same ones.
    public init(model: LSTMModel, seed: UInt64, scale: Double, directLink: Bool = false) {
        var random = RandomStream(seed: seed, purpose: .initialization, index: Int(UInt32.max - 1))
        let theta = (0..<model.shape.parameterCount).map { _ in scale * random.nextGaussian() }
        self.init(model: model, theta: theta, directLink: directLink)
    }

    /// M + 1 (+ p with the direct link): the columns of H.
    public var featureCount: Int { model.shape.hidden + 1 + (directLink ? model.shape.input : 0) }

    /// The rows [h; d] of least squares: each sample's feature row followed by its label
    /// (`featureCount` + 1 numbers each).
    public func labelledRows(_ samples: [Sample]) -> [Double] {
        let width = featureCount
        let h = rows(samples)
        var labelled = [Double]()
        labelled.reserveCapacity(samples.count * (width + 1))
        for (i, sample) in samples.enumerated() {
            labelled += h[(i * width)..<((i + 1) * width)]
            labelled.append(sample.label)
        }
        return labelled
    }

    /// d_hat = beta^T h, summed in feature order. Every ELM prediction (the trainer's, a fit's, a
    /// saved model's) is this one sum, so they agree bit for bit.
    public static func estimate(beta: [Double], row: ArraySlice<Double>) -> Double {
        var estimate = 0.0
        for (j, h) in zip(beta.indices, row) { estimate += beta[j] * h }
        return estimate
    }

    /// The feature rows of `samples`, in their order, back to back (`featureCount` numbers each).
    public func rows(_ samples: [Sample]) -> [Double] {
        let width = featureCount
        var result = [Double](repeating: 0, count: samples.count * width)
        var byLength = [Int: [Int]]()
        for (i, sample) in samples.enumerated() {
            precondition(sample.inputSize == model.shape.input, "columns of \(model.shape.input) numbers")
            byLength[sample.length, default: []].append(i)
        }
        for (length, members) in byLength {
            let pooled = pooledOutputs(members.map { samples[$0] }, length: length)
            let n = model.shape.hidden, p = model.shape.input
            for (b, i) in members.enumerated() {
                for k in 0..<n { result[i * width + k] = pooled[b * n + k] }
                result[i * width + n] = 1
                if directLink {
                    let last = samples[i].inputs[((length - 1) * p)..<(length * p)]
                    for (q, x) in last.enumerated() { result[i * width + n + 1 + q] = x }
                }
            }
        }
        return result
    }

    /// One sequence's step after its preactivations: the gates, c, y, and the pooling, eight units at
    /// a time in SIMD lanes (the gates' exponentials cost more than the products at M = 128).
    private func gates(
        preactivation: inout [Double], at a: Int, cells: inout [Double], outputs: inout [Double],
        pooled: inout [Double], at h: Int, units n: Int
    ) {
        let pooling = model.pooling
        preactivation.withUnsafeBufferPointer { pre in
            cells.withUnsafeMutableBufferPointer { cells in
                outputs.withUnsafeMutableBufferPointer { outputs in
                    pooled.withUnsafeMutableBufferPointer { pooled in
                        func load(_ buffer: UnsafeBufferPointer<Double>, _ i: Int) -> Lanes {
                            UnsafeRawPointer(buffer.baseAddress! + i).loadUnaligned(as: Lanes.self)
                        }
                        func store(_ value: Lanes, _ buffer: UnsafeMutableBufferPointer<Double>, _ i: Int) {
                            UnsafeMutableRawPointer(buffer.baseAddress! + i).storeBytes(of: value, as: Lanes.self)
                        }
                        var k = 0
                        while k + 8 <= n {
                            let z = tanh(load(pre, a + k)), i = sigmoid(load(pre, a + n + k))
                            let f = sigmoid(load(pre, a + 2 * n + k)), o = sigmoid(load(pre, a + 3 * n + k))
                            let c = i * z + f * load(UnsafeBufferPointer(cells), h + k)
                            store(c, cells, h + k)
                            let y = o * tanh(c)
                            store(y, outputs, h + k)
                            let before = load(UnsafeBufferPointer(pooled), h + k)
                            switch pooling {
                            case .mean: store(before + y, pooled, h + k)
                            case .max: store(pointwiseMaximum(before, y), pooled, h + k)
                            case .last: store(y, pooled, h + k)
                            }
                            k += 8
                        }
                        for k in k..<n {
                            let z = tanh(pre[a + k]), i = sigmoid(pre[a + n + k])
                            let f = sigmoid(pre[a + 2 * n + k]), o = sigmoid(pre[a + 3 * n + k])
                            let c = i * z + f * cells[h + k]
                            cells[h + k] = c
                            let y = o * tanh(c)
                            outputs[h + k] = y
                            switch pooling {
                            case .mean: pooled[h + k] += y
                            case .max: pooled[h + k] = Swift.max(pooled[h + k], y)
                            case .last: pooled[h + k] = y
                            }
                        }
                    }
                }
            }
        }
    }

    /// y_bar of B sequences of one length m, B x n row-major.
    private func pooledOutputs(_ batch: [Sample], length m: Int) -> [Double] {
        let shape = model.shape
        let n = shape.hidden, p = shape.input, rows = shape.gateRows, count = batch.count
        var inputs = [Double](repeating: 0, count: count * p)
        var preactivation = [Double](repeating: 0, count: count * rows)
        var cells = [Double](repeating: 0, count: count * n)
        var outputs = [Double](repeating: 0, count: count * n)
        var pooled = [Double](repeating: model.pooling == .max ? -.infinity : 0, count: count * n)
        theta.withUnsafeBufferPointer { theta in
            let inputWeights = theta.baseAddress! + shape.inputWeightsOffset  // W^T, p x 4n
            let recurrent = theta.baseAddress! + shape.recurrentWeightsOffset  // R, 4n x n
            let bias = theta.baseAddress! + shape.biasOffset
            for l in 0..<m {
                for (b, sample) in batch.enumerated() {
                    for q in 0..<p { inputs[b * p + q] = sample.inputs[l * p + q] }
                    for r in 0..<rows { preactivation[b * rows + r] = bias[r] }
                }
                // A = X_l W^T + Y_(l-1) R^T + b.
                cblas_dgemm(
                    CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(count), Int32(rows), Int32(p), 1, inputs,
                    Int32(p), inputWeights, Int32(rows), 1, &preactivation, Int32(rows))
                if l > 0 {
                    cblas_dgemm(
                        CblasRowMajor, CblasNoTrans, CblasTrans, Int32(count), Int32(rows), Int32(n), 1, outputs,
                        Int32(n), recurrent, Int32(n), 1, &preactivation, Int32(rows))
                }
                for b in 0..<count {
                    gates(
                        preactivation: &preactivation, at: b * rows, cells: &cells, outputs: &outputs,
                        pooled: &pooled, at: b * n, units: n)
                }
            }
        }
        if model.pooling == .mean { for j in pooled.indices { pooled[j] /= Double(m) } }
        return pooled
    }
}
