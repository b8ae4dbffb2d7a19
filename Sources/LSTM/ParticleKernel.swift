import CBLAS

/// The parameter vectors of many particles, stored parameter-major: entry (j, i), parameter j of
/// particle i, is at `j * stride + i`. One parameter of all particles is contiguous, so the kernel
/// works on 8 particles per SIMD operation and the input projection of all particles is one GEMM.
/// `stride` is the particle count rounded up to 8; the padding particles are zeros and ignored.
public struct ParticleParameters: Sendable, Equatable {
    public let shape: LSTMShape
    public let count: Int
    public let stride: Int
    public var values: [Double]

    public static let laneWidth = 8

    public init(shape: LSTMShape, count: Int) {
        precondition(count >= 0)
        self.shape = shape
        self.count = count
        self.stride = max(Self.laneWidth, (count + Self.laneWidth - 1) / Self.laneWidth * Self.laneWidth)
        self.values = [Double](repeating: 0, count: shape.parameterCount * stride)
    }

    public init(shape: LSTMShape, particles: [[Double]]) {
        self.init(shape: shape, count: particles.count)
        for (i, theta) in particles.enumerated() { setParticle(i, theta) }
    }

    @inlinable
    public subscript(parameter j: Int, particle i: Int) -> Double {
        get { values[j * stride + i] }
        set { values[j * stride + i] = newValue }
    }

    /// The parameter vector theta of particle i.
    public func particle(_ i: Int) -> [Double] {
        (0..<shape.parameterCount).map { values[$0 * stride + i] }
    }

    public mutating func setParticle(_ i: Int, _ theta: [Double]) {
        precondition(theta.count == shape.parameterCount)
        for j in theta.indices { values[j * stride + i] = theta[j] }
    }
}

/// What the kernel computed for every particle on one sequence, parameter-major like the input:
/// `pooledOutput[k * stride + i]` is y_bar_k of particle i.
public struct KernelOutput: Sendable {
    public var estimates: [Double] = []
    public var pooledCell: [Double] = []
    public var pooledOutput: [Double] = []
    public init() {}
}

/// Evaluates many parameter vectors (particles) on one sequence: the hot kernel of every particle
/// filter. The input projections W x^(l) of all particles for all columns are one matrix product
/// (BLAS); only the recurrent part runs per particle, 8 particles per SIMD lane group.
public final class ParticleKernel {
    public let shape: LSTMShape
    public let pooling: Pooling
    private var projections: [Double] = []
    /// Per lane group: preactivations (4n), c (n), y (n), pooled c (n), pooled y (n).
    private let scratch: UnsafeMutablePointer<Lanes>

    public init(shape: LSTMShape, pooling: Pooling = .mean) {
        self.shape = shape
        self.pooling = pooling
        scratch = .allocate(capacity: 8 * shape.hidden)
    }

    deinit { scratch.deallocate() }

    /// Runs `sample` through every particle. `initialCell`/`initialOutput` (n x stride, parameter-major)
    /// start each particle from its own carried state; nil means zeros.
    public func evaluate(_ particles: ParticleParameters, sample: Sample, initialCell: [Double]? = nil,
                         initialOutput: [Double]? = nil, into output: inout KernelOutput) {
        precondition(particles.shape == shape, "particles are \(particles.shape), the kernel is \(shape)")
        precondition(sample.inputSize == shape.input, "sample columns have size \(sample.inputSize), expected \(shape.input)")
        let n = shape.hidden, rows = shape.gateRows, m = sample.length, stride = particles.stride
        let width = rows * stride
        if projections.count < m * width { projections = [Double](repeating: 0, count: m * width) }
        if output.estimates.count != stride {
            output.estimates = [Double](repeating: 0, count: stride)
            output.pooledCell = [Double](repeating: 0, count: n * stride)
            output.pooledOutput = [Double](repeating: 0, count: n * stride)
        }

        particles.values.withUnsafeBufferPointer { theta in
            // projections (m x 4n*stride) = X (m x p) * W' (p x 4n*stride), where row q of W' is
            // W^T's row q for all particles: contiguous in the parameter-major layout.
            sample.inputs.withUnsafeBufferPointer { x in
                projections.withUnsafeMutableBufferPointer { u in
                    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(m), Int32(width), Int32(shape.input),
                                1, x.baseAddress, Int32(shape.input), theta.baseAddress! + shape.inputWeightsOffset * stride,
                                Int32(width), 0, u.baseAddress, Int32(width))
                }
            }
            projections.withUnsafeBufferPointer { u in
                output.estimates.withUnsafeMutableBufferPointer { estimates in
                    output.pooledCell.withUnsafeMutableBufferPointer { pooledCell in
                        output.pooledOutput.withUnsafeMutableBufferPointer { pooledOutput in
                            for lane in Swift.stride(from: 0, to: stride, by: ParticleParameters.laneWidth) {
                                runLaneGroup(lane: lane, theta: theta.baseAddress!, projections: u.baseAddress!, length: m,
                                             stride: stride, initialCell: initialCell, initialOutput: initialOutput,
                                             estimates: estimates.baseAddress!, pooledCell: pooledCell.baseAddress!,
                                             pooledOutput: pooledOutput.baseAddress!)
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

    private func runLaneGroup(lane: Int, theta: UnsafePointer<Double>, projections: UnsafePointer<Double>, length m: Int,
                              stride: Int, initialCell: [Double]?, initialOutput: [Double]?,
                              estimates: UnsafeMutablePointer<Double>, pooledCell: UnsafeMutablePointer<Double>,
                              pooledOutput: UnsafeMutablePointer<Double>) {
        let n = shape.hidden, rows = shape.gateRows
        let pre = scratch, c = scratch + rows, y = c + n, cPool = y + n, yPool = cPool + n
        let bias = theta + shape.biasOffset * stride + lane
        let recurrent = theta + shape.recurrentWeightsOffset * stride + lane
        for k in 0..<n {
            c[k] = initialCell.map { $0.withUnsafeBufferPointer { load($0.baseAddress! + k * stride + lane) } } ?? .zero
            y[k] = initialOutput.map { $0.withUnsafeBufferPointer { load($0.baseAddress! + k * stride + lane) } } ?? .zero
            cPool[k] = pooling == .max ? Lanes(repeating: -.infinity) : .zero
            yPool[k] = cPool[k]
        }
        for l in 0..<m {
            let u = projections + l * rows * stride + lane
            // Four gate rows at a time: four independent accumulation chains instead of one
            // serial chain of dependent adds, and each y_j loaded once for four rows.
            for r in Swift.stride(from: 0, to: rows, by: 4) {
                var s0 = load(u + r * stride) + load(bias + r * stride)
                var s1 = load(u + (r + 1) * stride) + load(bias + (r + 1) * stride)
                var s2 = load(u + (r + 2) * stride) + load(bias + (r + 2) * stride)
                var s3 = load(u + (r + 3) * stride) + load(bias + (r + 3) * stride)
                let w0 = recurrent + r * n * stride, w1 = w0 + n * stride, w2 = w1 + n * stride, w3 = w2 + n * stride
                for j in 0..<n {
                    let yj = y[j], offset = j * stride
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
        let w = theta + shape.regressionOffset * stride + lane
        let scale = pooling == .mean ? 1 / Double(m) : 1
        for k in 0..<n {
            let cBar = cPool[k] * scale, yBar = yPool[k] * scale
            store(cBar, pooledCell + k * stride + lane)
            store(yBar, pooledOutput + k * stride + lane)
            estimate += load(w + k * stride) * yBar
        }
        store(estimate, estimates + lane)
    }
}
