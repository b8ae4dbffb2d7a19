import CBLAS
import Dispatch

/// The parameter vectors of many particles, in groups of 8 (one SIMD lane per particle): particle
/// i's parameter j is at `((i / 8) * n_theta + j) * 8 + i % 8`. One parameter of 8 particles is one
/// 64-byte vector, and each group's parameters are contiguous, so a group's recurrent weights stay
/// in cache across the steps of a sequence. Padding particles (up to a multiple of 8) are zeros.
///
/// `values` may be longer than the particles need: a store whose particle count changes from step to
/// step (the DPF's) resizes within the room it has and grows it only past its largest count so far.
public struct ParticleParameters: Sendable, Equatable {
    public let shape: LSTMShape
    public private(set) var count: Int
    public var values: [Double]

    public static let laneWidth = 8

    public init(shape: LSTMShape, count: Int) {
        precondition(count >= 0)
        self.shape = shape
        self.count = count
        self.values = []
        self.values = [Double](repeating: 0, count: groups * shape.parameterCount * Self.laneWidth)
    }

    /// Equal particles, whatever room either has.
    public static func == (a: ParticleParameters, b: ParticleParameters) -> Bool {
        a.shape == b.shape && a.count == b.count && (0..<a.count).allSatisfy { a.particle($0) == b.particle($0) }
    }

    /// Groups of `laneWidth` particles.
    public var groups: Int { max(1, (count + Self.laneWidth - 1) / Self.laneWidth) }

    /// Sets the number of particles, keeping the first min(old, new) in place; new ones hold what
    /// the room held before (callers overwrite them).
    public mutating func resize(to newCount: Int) {
        precondition(newCount >= 0)
        count = newCount
        let needed = groups * shape.parameterCount * Self.laneWidth
        if values.count < needed { values.append(contentsOf: repeatElement(0, count: needed - values.count)) }
    }

    /// Copies particle `j` of `source` into slot `i`.
    @inlinable
    public mutating func copyParticle(_ j: Int, of source: ParticleParameters, to i: Int) {
        let from = source.index(parameter: 0, particle: j), to = index(parameter: 0, particle: i)
        let width = Self.laneWidth
        let nTheta = shape.parameterCount
        values.withUnsafeMutableBufferPointer { destination in
            source.values.withUnsafeBufferPointer { origin in
                let d = destination.baseAddress! + to, o = origin.baseAddress! + from
                for k in 0..<nTheta { d[k * width] = o[k * width] }
            }
        }
    }

    public init(shape: LSTMShape, particles: [[Double]]) {
        self.init(shape: shape, count: particles.count)
        for (i, theta) in particles.enumerated() { setParticle(i, theta) }
    }

    /// Particles including the padding: the length of per-particle kernel outputs.
    public var paddedCount: Int { groups * Self.laneWidth }

    @inlinable
    public func index(parameter j: Int, particle i: Int) -> Int {
        ((i / Self.laneWidth) * shape.parameterCount + j) * Self.laneWidth + i % Self.laneWidth
    }

    @inlinable
    public subscript(parameter j: Int, particle i: Int) -> Double {
        get { values[index(parameter: j, particle: i)] }
        set { values[index(parameter: j, particle: i)] = newValue }
    }

    /// The parameter vector theta of particle i.
    public func particle(_ i: Int) -> [Double] {
        let base = index(parameter: 0, particle: i)
        return (0..<shape.parameterCount).map { values[base + $0 * Self.laneWidth] }
    }

    public mutating func setParticle(_ i: Int, _ theta: [Double]) {
        precondition(theta.count == shape.parameterCount)
        let base = index(parameter: 0, particle: i)
        for j in theta.indices { values[base + j * Self.laneWidth] = theta[j] }
    }
}

/// What the kernel computed for every particle on one sequence: `estimates[i]` is particle i's
/// d_hat, `pooledOutput[k * paddedCount + i]` its y_bar_k (likewise `pooledCell`).
public struct KernelOutput: Sendable {
    public var estimates: [Double] = []
    public var pooledCell: [Double] = []
    public var pooledOutput: [Double] = []
    public init() {}
}

/// Evaluates many parameter vectors (particles) on one sequence: the hot kernel of every particle
/// filter. The input projections W x^(l) of a group's particles for all columns are one matrix
/// product (BLAS); the recurrent part runs 8 particles per SIMD operation.
public final class ParticleKernel {
    public let shape: LSTMShape
    public let pooling: Pooling
    /// Below this input size the projections are computed in the SIMD loop: a BLAS call costs more.
    public static let gemmMinimumInput = 4
    private var projections: [Double] = []
    /// Per lane group: preactivations (4n), c (n), y (n), pooled c (n), pooled y (n).
    private let scratch: UnsafeMutablePointer<Lanes>

    /// When set, `evaluationSeconds` accumulates the wall time of every `evaluate` (a benchmark
    /// compares it with the filter step that contains it).
    public var timesEvaluations = false
    public private(set) var evaluationSeconds = 0.0

    public init(shape: LSTMShape, pooling: Pooling = .mean) {
        self.shape = shape
        self.pooling = pooling
        scratch = .allocate(capacity: 8 * shape.hidden)
    }

    deinit { scratch.deallocate() }

    /// Runs `sample` through every particle. `initialCell`/`initialOutput` (n x paddedCount, entry
    /// (k, i) at k * paddedCount + i) start each particle from its own carried state; nil means zeros.
    public func evaluate(
        _ particles: ParticleParameters, sample: Sample, initialCell: [Double]? = nil,
        initialOutput: [Double]? = nil, into output: inout KernelOutput
    ) {
        let start = timesEvaluations ? DispatchTime.now().uptimeNanoseconds : 0
        defer {
            if timesEvaluations { evaluationSeconds += Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 }
        }
        precondition(particles.shape == shape, "particles are \(particles.shape), the kernel is \(shape)")
        precondition(
            sample.inputSize == shape.input, "sample columns have size \(sample.inputSize), expected \(shape.input)")
        let n = shape.hidden, m = sample.length, padded = particles.paddedCount
        let useGEMM = shape.input >= Self.gemmMinimumInput
        let width = shape.gateRows * ParticleParameters.laneWidth
        if useGEMM && projections.count < m * width { projections = [Double](repeating: 0, count: m * width) }
        if output.estimates.count < padded {
            output.estimates = [Double](repeating: 0, count: padded)
            output.pooledCell = [Double](repeating: 0, count: n * padded)
            output.pooledOutput = [Double](repeating: 0, count: n * padded)
        }
        let groupSize = shape.parameterCount * ParticleParameters.laneWidth
        particles.values.withUnsafeBufferPointer { all in
            sample.inputs.withUnsafeBufferPointer { x in
                projections.withUnsafeMutableBufferPointer { u in
                    output.estimates.withUnsafeMutableBufferPointer { estimates in
                        output.pooledCell.withUnsafeMutableBufferPointer { pooledCell in
                            output.pooledOutput.withUnsafeMutableBufferPointer { pooledOutput in
                                for group in 0..<particles.groups {
                                    let theta = all.baseAddress! + group * groupSize
                                    if useGEMM {
                                        // u (m x 4n*8) = X (m x p) * W' (p x 4n*8): row q of W' is W^T's
                                        // row q for the group's 8 particles, contiguous.
                                        cblas_dgemm(
                                            CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(m), Int32(width),
                                            Int32(shape.input), 1, x.baseAddress, Int32(shape.input),
                                            theta + shape.inputWeightsOffset * ParticleParameters.laneWidth,
                                            Int32(width), 0, u.baseAddress, Int32(width))
                                    }
                                    runLaneGroup(
                                        lane: group * ParticleParameters.laneWidth, theta: theta,
                                        inputs: x.baseAddress!,
                                        projections: useGEMM ? UnsafePointer(u.baseAddress) : nil,
                                        length: m, padded: padded, initialCell: initialCell,
                                        initialOutput: initialOutput,
                                        estimates: estimates.baseAddress!, pooledCell: pooledCell.baseAddress!,
                                        pooledOutput: pooledOutput.baseAddress!)
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    @inline(__always)
    private func load(_ pointer: UnsafePointer<Double>) -> Lanes {
        UnsafeRawPointer(pointer).loadUnaligned(as: Lanes.self)
    }

    @inline(__always)
    private func store(_ value: Lanes, _ pointer: UnsafeMutablePointer<Double>) {
        UnsafeMutableRawPointer(pointer).storeBytes(of: value, as: Lanes.self)
    }

    /// One group of 8 particles through the whole sequence. `theta` is the group's block, entry
    /// (j, lane) at j * 8 + lane; `lane` is the group's first particle.
    private func runLaneGroup(
        lane: Int, theta: UnsafePointer<Double>, inputs: UnsafePointer<Double>,
        projections: UnsafePointer<Double>?, length m: Int, padded: Int,
        initialCell: [Double]?, initialOutput: [Double]?,
        estimates: UnsafeMutablePointer<Double>, pooledCell: UnsafeMutablePointer<Double>,
        pooledOutput: UnsafeMutablePointer<Double>
    ) {
        let n = shape.hidden, p = shape.input, rows = shape.gateRows, width = ParticleParameters.laneWidth
        let pre = scratch, c = scratch + rows, y = c + n, cPool = y + n, yPool = cPool + n
        let bias = theta + shape.biasOffset * width
        let recurrent = theta + shape.recurrentWeightsOffset * width
        let inputWeights = theta + shape.inputWeightsOffset * width
        for k in 0..<n {
            c[k] = initialCell.map { $0.withUnsafeBufferPointer { load($0.baseAddress! + k * padded + lane) } } ?? .zero
            y[k] =
                initialOutput.map { $0.withUnsafeBufferPointer { load($0.baseAddress! + k * padded + lane) } } ?? .zero
            cPool[k] = pooling == .max ? Lanes(repeating: -.infinity) : .zero
            yPool[k] = cPool[k]
        }
        for l in 0..<m {
            if let projections {
                let u = projections + l * rows * width
                for r in 0..<rows { pre[r] = load(u + r * width) + load(bias + r * width) }
            } else {
                for r in 0..<rows { pre[r] = load(bias + r * width) }
                for q in 0..<p {
                    let xq = Lanes(repeating: inputs[l * p + q]), weights = inputWeights + q * rows * width
                    for r in 0..<rows { pre[r] = multiplyAdd(load(weights + r * width), xq, pre[r]) }
                }
            }
            // Four gate rows at a time: four independent accumulation chains instead of one
            // serial chain of dependent adds, and each y_j loaded once for four rows.
            for r in Swift.stride(from: 0, to: rows, by: 4) {
                var s0 = pre[r], s1 = pre[r + 1], s2 = pre[r + 2], s3 = pre[r + 3]
                let w0 = recurrent + r * n * width, w1 = w0 + n * width, w2 = w1 + n * width, w3 = w2 + n * width
                for j in 0..<n {
                    let yj = y[j], offset = j * width
                    s0 = multiplyAdd(load(w0 + offset), yj, s0)
                    s1 = multiplyAdd(load(w1 + offset), yj, s1)
                    s2 = multiplyAdd(load(w2 + offset), yj, s2)
                    s3 = multiplyAdd(load(w3 + offset), yj, s3)
                }
                pre[r] = s0
                pre[r + 1] = s1
                pre[r + 2] = s2
                pre[r + 3] = s3
            }
            for k in 0..<n {
                let z = tanh(pre[k]), i = sigmoid(pre[n + k]), f = sigmoid(pre[2 * n + k]), o = sigmoid(pre[3 * n + k])
                let cell = i * z + f * c[k]
                let out = o * tanh(cell)
                c[k] = cell
                y[k] = out
                switch pooling {
                case .mean:
                    cPool[k] += cell
                    yPool[k] += out
                case .max:
                    cPool[k] = pointwiseMaximum(cPool[k], cell)
                    yPool[k] = pointwiseMaximum(yPool[k], out)
                case .last:
                    cPool[k] = cell
                    yPool[k] = out
                }
            }
        }
        var estimate = Lanes.zero
        let w = theta + shape.regressionOffset * width
        let scale = pooling == .mean ? 1 / Double(m) : 1
        for k in 0..<n {
            let cBar = cPool[k] * scale, yBar = yPool[k] * scale
            store(cBar, pooledCell + k * padded + lane)
            store(yBar, pooledOutput + k * padded + lane)
            estimate = multiplyAdd(load(w + k * width), yBar, estimate)
        }
        store(estimate, estimates + lane)
    }
}
