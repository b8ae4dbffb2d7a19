import Dispatch

/// What the kernel computed for every particle on one sequence: `estimates[i]` is particle i's
/// d_hat, `pooledOutput[k * paddedCount + i]` its y_bar_k (likewise `pooledCell`).
public struct KernelOutput: Sendable {
    public var estimates: [Double] = []
    public var pooledCell: [Double] = []
    public var pooledOutput: [Double] = []
    public init() {}
}

/// Evaluates many parameter vectors (particles) on one sequence: the hot kernel of every particle
/// filter. The input projections W x^(l) + b of a group's particles for all columns come first
/// (`project`); the recurrent part follows column by column; both run 8 particles per SIMD
/// operation, in double, or in single precision when asked (`Precision.single`: the particles and
/// the sequence are rounded to Float once per evaluation; eight Float lanes are one AVX register
/// where eight Double lanes are two).
public final class ParticleKernel {
    public let shape: LSTMShape
    public let pooling: Pooling
    public let precision: Precision
    private var projections: [Double] = []
    /// Per lane group: preactivations (4n), c (n), y (n), pooled c (n), pooled y (n).
    private let scratch: UnsafeMutablePointer<Lanes>
    // The single-precision path's copies of one lane group's parameters, the sequence, the projections,
    // the scratch.
    private var singleGroup: [Float] = []
    private var singleInputs: [Float] = []
    private var singleProjections: [Float] = []
    private let singleScratch: UnsafeMutablePointer<SIMD8<Float>>

    /// When set, `evaluationSeconds` accumulates the wall time of every `evaluate` (a benchmark
    /// compares it with the filter step that contains it), and `evaluatedColumns` the particle-columns
    /// it ran (padding lanes not counted).
    public var timesEvaluations = false
    public private(set) var evaluationSeconds = 0.0
    public private(set) var evaluatedColumns = 0

    public init(shape: LSTMShape, pooling: Pooling = .mean, precision: Precision = .double) {
        self.shape = shape
        self.pooling = pooling
        self.precision = precision
        scratch = .allocate(capacity: 8 * shape.hidden)
        singleScratch = .allocate(capacity: 8 * shape.hidden)
    }

    deinit {
        scratch.deallocate()
        singleScratch.deallocate()
    }

    /// Runs `sample` through every particle, or only through the lane groups `groups` (their lanes'
    /// outputs are written; the other estimates are kept, pooled values are not). `initialCell` and
    /// `initialOutput` (n x paddedCount, entry (k, i) at k * paddedCount + i) start each particle from
    /// its own carried state; nil means zeros.
    public func evaluate(
        _ particles: ParticleParameters, groups: Range<Int>? = nil, sample: Sample, initialCell: [Double]? = nil,
        initialOutput: [Double]? = nil, into output: inout KernelOutput
    ) {
        let start = timesEvaluations ? DispatchTime.now().uptimeNanoseconds : 0
        defer {
            if timesEvaluations { evaluationSeconds += Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 }
        }
        precondition(particles.shape == shape, "particles are \(particles.shape), the kernel is \(shape)")
        precondition(
            sample.inputSize == shape.input, "sample columns have size \(sample.inputSize), expected \(shape.input)")
        let n = shape.hidden, padded = particles.paddedCount
        let groups = groups ?? 0..<particles.groups
        precondition(groups.lowerBound >= 0 && groups.upperBound <= particles.groups)
        if timesEvaluations {
            let width = ParticleParameters.laneWidth
            let lanes = min(particles.count, groups.upperBound * width) - groups.lowerBound * width
            evaluatedColumns += max(0, lanes) * sample.length
        }
        if output.estimates.count < padded {
            // Grown in place: a caller that evaluates a range keeps the estimates of the others.
            output.estimates.append(contentsOf: repeatElement(0, count: padded - output.estimates.count))
            output.pooledCell = [Double](repeating: 0, count: n * padded)
            output.pooledOutput = [Double](repeating: 0, count: n * padded)
        }
        let state = CarriedState(cell: initialCell, output: initialOutput)
        let groupSize = shape.parameterCount * ParticleParameters.laneWidth
        switch precision {
        case .double:
            particles.values.withUnsafeBufferPointer { all in
                sample.inputs.withUnsafeBufferPointer { x in
                    run(
                        all.baseAddress!, groups: groups, theta: { all.baseAddress! + $0 * groupSize },
                        inputs: x.baseAddress!, length: sample.length, projections: &projections, scratch: scratch,
                        state: state, padded: padded, into: &output)
                }
            }
        case .single:
            // One group is rounded to Float just before it runs, into a buffer that then stays in cache
            // for its columns: rounding the whole cloud first would write, and read back from memory,
            // half as many bytes again as the double kernel reads (5.3 MB at n = p = 32, N = 80). The
            // input weights are not: the projection rounds them, and the biases, as it loads them.
            if singleGroup.count < groupSize { singleGroup = [Float](repeating: 0, count: groupSize) }
            if singleInputs.count < sample.inputs.count {
                singleInputs = [Float](repeating: 0, count: sample.inputs.count)
            }
            for i in sample.inputs.indices { singleInputs[i] = Float(sample.inputs[i]) }
            particles.values.withUnsafeBufferPointer { all in
                singleGroup.withUnsafeMutableBufferPointer { group in
                    singleInputs.withUnsafeBufferPointer { x in
                        let rounded = group.baseAddress!, width = ParticleParameters.laneWidth
                        let inputWeights = shape.inputWeightsOffset * width,
                            recurrent = shape.recurrentWeightsOffset * width
                        run(
                            all.baseAddress!, groups: groups,
                            theta: { g in
                                // The regression weights, then the recurrent weights to the end.
                                let doubles = all.baseAddress! + g * groupSize
                                Self.round(doubles, count: inputWeights, into: rounded)
                                Self.round(doubles + recurrent, count: groupSize - recurrent, into: rounded + recurrent)
                                return UnsafePointer(rounded)
                            }, inputs: x.baseAddress!, length: sample.length, projections: &singleProjections,
                            scratch: singleScratch, state: state, padded: padded, into: &output)
                    }
                }
            }
        }
    }

    /// Rounds `count` Doubles (a multiple of 8) to Float, eight at a time.
    private static func round(_ doubles: UnsafePointer<Double>, count: Int, into floats: UnsafeMutablePointer<Float>) {
        let source = UnsafeRawPointer(doubles), destination = UnsafeMutableRawPointer(floats)
        for i in Swift.stride(from: 0, to: count, by: 8) {
            let lanes = Float.lanes(source.loadUnaligned(fromByteOffset: 8 * i, as: SIMD8<Double>.self))
            destination.storeBytes(of: lanes, toByteOffset: 4 * i, as: SIMD8<Float>.self)
        }
    }

    /// Each particle's carried (c_bar, y_bar), or nil for zeros.
    private struct CarriedState {
        var cell: [Double]?
        var output: [Double]?
    }

    /// Every lane group through the sequence, in the lanes' precision. `all` is the groups' parameters
    /// in double, from which the projection reads; `theta(g)` is group g's in the lanes' precision,
    /// which the recurrence reads until the next call (all but the input weights and biases).
    private func run<L: KernelLanes>(
        _ all: UnsafePointer<Double>, groups: Range<Int>, theta: (Int) -> UnsafePointer<L.Scalar>,
        inputs x: UnsafePointer<L.Scalar>, length m: Int,
        projections: inout [L.Scalar], scratch: UnsafeMutablePointer<L>, state: CarriedState, padded: Int,
        into output: inout KernelOutput
    ) {
        let width = shape.gateRows * ParticleParameters.laneWidth
        if projections.count < m * width { projections = [L.Scalar](repeating: 0, count: m * width) }
        projections.withUnsafeMutableBufferPointer { u in
            output.estimates.withUnsafeMutableBufferPointer { estimates in
                output.pooledCell.withUnsafeMutableBufferPointer { pooledCell in
                    output.pooledOutput.withUnsafeMutableBufferPointer { pooledOutput in
                        let groupSize = shape.parameterCount * ParticleParameters.laneWidth
                        for group in groups {
                            project(
                                theta: all + group * groupSize, inputs: x, length: m, into: u.baseAddress!, as: L.self)
                            runLaneGroup(
                                lane: group * ParticleParameters.laneWidth, theta: theta(group), inputs: x,
                                projections: UnsafePointer(u.baseAddress!), length: m, padded: padded,
                                state: state, scratch: scratch, estimates: estimates.baseAddress!,
                                pooledCell: pooledCell.baseAddress!, pooledOutput: pooledOutput.baseAddress!)
                        }
                    }
                }
            }
        }
    }

    /// The group's gate preactivations from the input, W x^(l) + b, for every column l before the
    /// recurrence starts: lanes (l, r) at (l * 4n + r) * 8. The input weights are stored input by
    /// input (all gate rows of input q, then of q + 1), so the loops follow them: four inputs' rows at
    /// a time, each row's four weight vectors loaded once and applied to four columns, the partial
    /// sums kept in `u` between blocks of inputs. Going the other way, row by row through all inputs,
    /// jumped 4n * 64 bytes between loads, which the prefetchers do not follow: the projection then
    /// cost a third of the n = p = 32 kernel. Every entry still adds its inputs in order q = 0, 1, ...
    /// onto its bias, so the sums are the same to the bit. For the short sequences of the filters
    /// (1 to 8 columns) this beats a BLAS product, whose packing costs as much as its arithmetic here.
    private func project<L: KernelLanes>(
        theta: UnsafePointer<Double>, inputs x: UnsafePointer<L.Scalar>, length m: Int,
        into u: UnsafeMutablePointer<L.Scalar>, as: L.Type
    ) {
        let p = shape.input
        // Four columns of partial sums (4 x 4n x 64 bytes at n = 32) stay in L1 across a block of inputs.
        for first in Swift.stride(from: 0, to: m, by: 4) {
            let columns = first..<min(m, first + 4)
            for q in Swift.stride(from: 0, to: p, by: 4) {
                // Constant input counts, so that the block's weights stay in registers.
                switch p - q {
                case 1: projectInputs(1, from: q, columns: columns, theta: theta, inputs: x, into: u, as: L.self)
                case 2: projectInputs(2, from: q, columns: columns, theta: theta, inputs: x, into: u, as: L.self)
                case 3: projectInputs(3, from: q, columns: columns, theta: theta, inputs: x, into: u, as: L.self)
                default: projectInputs(4, from: q, columns: columns, theta: theta, inputs: x, into: u, as: L.self)
                }
            }
        }
    }

    /// Adds inputs q ..< q + count (count 1 to 4) to the preactivations of `columns`, every gate row;
    /// the first block starts from the biases.
    @inline(__always)
    private func projectInputs<L: KernelLanes>(
        _ count: Int, from q: Int, columns: Range<Int>, theta: UnsafePointer<Double>, inputs x: UnsafePointer<L.Scalar>,
        into u: UnsafeMutablePointer<L.Scalar>, as: L.Type
    ) {
        let p = shape.input, rows = shape.gateRows, width = ParticleParameters.laneWidth
        let bias = theta + shape.biasOffset * width, weights = theta + shape.inputWeightsOffset * width
        // One input's weights for every gate row, and one column's preactivations, are this far apart.
        let allRows = rows * width
        @inline(__always) func load(_ pointer: UnsafePointer<Double>) -> L { L(doubles: UnsafeRawPointer(pointer)) }
        for r in 0..<rows {
            let w = weights + (q * rows + r) * width
            let w0 = load(w), w1 = count > 1 ? load(w + allRows) : L()
            let w2 = count > 2 ? load(w + 2 * allRows) : L(), w3 = count > 3 ? load(w + 3 * allRows) : L()
            let b = q == 0 ? load(bias + r * width) : L()
            var out = u + (columns.lowerBound * rows + r) * width, xl = x + columns.lowerBound * p + q
            for _ in columns {
                var s = q == 0 ? b : L(loading: out)
                s = L.multiplyAdd(w0, L(repeating: xl[0]), s)
                if count > 1 { s = L.multiplyAdd(w1, L(repeating: xl[1]), s) }
                if count > 2 { s = L.multiplyAdd(w2, L(repeating: xl[2]), s) }
                if count > 3 { s = L.multiplyAdd(w3, L(repeating: xl[3]), s) }
                s.store(out)
                out += allRows
                xl += p
            }
        }
    }

    /// Eight lanes of a carried-state array (Double) as lanes of L.
    @inline(__always)
    private func loadState<L: KernelLanes>(_ values: [Double]?, _ index: Int) -> L {
        guard let values else { return L() }
        return values.withUnsafeBufferPointer { L(doubles: UnsafeRawPointer($0.baseAddress! + index)) }
    }

    /// One group of 8 particles through the whole sequence. `theta` is the group's block, entry
    /// (j, lane) at j * 8 + lane; `lane` is the group's first particle.
    private func runLaneGroup<L: KernelLanes>(
        lane: Int, theta: UnsafePointer<L.Scalar>, inputs: UnsafePointer<L.Scalar>,
        projections: UnsafePointer<L.Scalar>, length m: Int, padded: Int, state: CarriedState,
        scratch: UnsafeMutablePointer<L>, estimates: UnsafeMutablePointer<Double>,
        pooledCell: UnsafeMutablePointer<Double>, pooledOutput: UnsafeMutablePointer<Double>
    ) {
        let n = shape.hidden, p = shape.input, rows = shape.gateRows, width = ParticleParameters.laneWidth
        let pre = scratch, c = scratch + rows, y = c + n, cPool = y + n, yPool = cPool + n
        let recurrent = theta + shape.recurrentWeightsOffset * width
        @inline(__always) func load(_ pointer: UnsafePointer<L.Scalar>) -> L { L(loading: pointer) }
        for k in 0..<n {
            c[k] = loadState(state.cell, k * padded + lane)
            y[k] = loadState(state.output, k * padded + lane)
            cPool[k] = pooling == .max ? L(repeating: -.infinity) : L()
            yPool[k] = cPool[k]
        }
        for l in 0..<m {
            let u = projections + l * rows * width
            for r in 0..<rows { pre[r] = load(u + r * width) }
            // Four gate rows at a time: four independent accumulation chains instead of one
            // serial chain of dependent adds, and each y_j loaded once for four rows.
            for r in Swift.stride(from: 0, to: rows, by: 4) {
                var s0 = pre[r], s1 = pre[r + 1], s2 = pre[r + 2], s3 = pre[r + 3]
                let w0 = recurrent + r * n * width, w1 = w0 + n * width, w2 = w1 + n * width, w3 = w2 + n * width
                for j in 0..<n {
                    let yj = y[j], offset = j * width
                    s0 = L.multiplyAdd(load(w0 + offset), yj, s0)
                    s1 = L.multiplyAdd(load(w1 + offset), yj, s1)
                    s2 = L.multiplyAdd(load(w2 + offset), yj, s2)
                    s3 = L.multiplyAdd(load(w3 + offset), yj, s3)
                }
                pre[r] = s0
                pre[r + 1] = s1
                pre[r + 2] = s2
                pre[r + 3] = s3
            }
            for k in 0..<n {
                let z = L.tanh(pre[k]), i = L.sigmoid(pre[n + k]), f = L.sigmoid(pre[2 * n + k])
                let o = L.sigmoid(pre[3 * n + k])
                let cell = i * z + f * c[k]
                let out = o * L.tanh(cell)
                c[k] = cell
                y[k] = out
                switch pooling {
                case .mean:
                    cPool[k] += cell
                    yPool[k] += out
                case .max:
                    cPool[k] = cPool[k].replacing(with: cell, where: cell .> cPool[k])
                    yPool[k] = yPool[k].replacing(with: out, where: out .> yPool[k])
                case .last:
                    cPool[k] = cell
                    yPool[k] = out
                }
            }
        }
        var estimate = L()
        let w = theta + shape.regressionOffset * width
        let scale: L.Scalar = pooling == .mean ? 1 / L.Scalar(m) : 1
        for k in 0..<n {
            let cBar = cPool[k] * scale, yBar = yPool[k] * scale
            cBar.store(doubles: UnsafeMutableRawPointer(pooledCell + k * padded + lane))
            yBar.store(doubles: UnsafeMutableRawPointer(pooledOutput + k * padded + lane))
            estimate = L.multiplyAdd(load(w + k * width), yBar, estimate)
        }
        let v = theta + shape.directOffset * width, last = inputs + (m - 1) * p
        for q in 0..<shape.directCount {
            estimate = L.multiplyAdd(load(v + q * width), L(repeating: last[q]), estimate)
        }
        estimate.store(doubles: UnsafeMutableRawPointer(estimates + lane))
    }
}

/// Eight particles' lanes in the kernel's precision: SIMD8<Double>, or SIMD8<Float> for
/// `Precision.single`. What the kernel needs beyond SIMD arithmetic: fused multiply-add, tanh and
/// the sigmoid, and loads and stores.
protocol KernelLanes: SIMD where Scalar: BinaryFloatingPoint {
    init(loading pointer: UnsafePointer<Scalar>)
    /// Eight Doubles at `pointer`, rounded to the lanes' precision.
    init(doubles pointer: UnsafeRawPointer)
    /// Writes the lanes as eight Doubles.
    func store(doubles pointer: UnsafeMutableRawPointer)
    static func multiplyAdd(_ a: Self, _ b: Self, _ c: Self) -> Self
    static func tanh(_ x: Self) -> Self
    static func sigmoid(_ x: Self) -> Self
    /// Writes the lanes at `pointer`, in their own precision.
    func store(_ pointer: UnsafeMutablePointer<Scalar>)
}

extension SIMD8: KernelLanes where Scalar: KernelScalar {
    @inline(__always)
    init(loading pointer: UnsafePointer<Scalar>) { self = UnsafeRawPointer(pointer).loadUnaligned(as: Self.self) }

    @inline(__always)
    init(doubles pointer: UnsafeRawPointer) { self = Scalar.lanes(pointer.loadUnaligned(as: SIMD8<Double>.self)) }

    @inline(__always)
    func store(doubles pointer: UnsafeMutableRawPointer) {
        pointer.storeBytes(of: Scalar.doubles(self), as: SIMD8<Double>.self)
    }

    @inline(__always)
    static func multiplyAdd(_ a: Self, _ b: Self, _ c: Self) -> Self { Scalar.multiplyAdd(a, b, c) }
    @inline(__always)
    static func tanh(_ x: Self) -> Self { Scalar.tanh(x) }
    @inline(__always)
    static func sigmoid(_ x: Self) -> Self { Scalar.sigmoid(x) }

    @inline(__always)
    func store(_ pointer: UnsafeMutablePointer<Scalar>) {
        UnsafeMutableRawPointer(pointer).storeBytes(of: self, as: Self.self)
    }
}

/// Double and Float: the vector functions of each precision (VectorMath.swift).
protocol KernelScalar: BinaryFloatingPoint, SIMDScalar {
    static func lanes(_ doubles: SIMD8<Double>) -> SIMD8<Self>
    static func doubles(_ lanes: SIMD8<Self>) -> SIMD8<Double>
    static func multiplyAdd(_ a: SIMD8<Self>, _ b: SIMD8<Self>, _ c: SIMD8<Self>) -> SIMD8<Self>
    static func tanh(_ x: SIMD8<Self>) -> SIMD8<Self>
    static func sigmoid(_ x: SIMD8<Self>) -> SIMD8<Self>
}

extension Double: KernelScalar {
    @inline(__always) static func lanes(_ doubles: SIMD8<Double>) -> SIMD8<Double> { doubles }
    @inline(__always) static func doubles(_ lanes: SIMD8<Double>) -> SIMD8<Double> { lanes }
    @inline(__always)
    static func multiplyAdd(_ a: Lanes, _ b: Lanes, _ c: Lanes) -> Lanes { LSTM.multiplyAdd(a, b, c) }
    @inline(__always) static func tanh(_ x: Lanes) -> Lanes { LSTM.tanh(x) }
    @inline(__always) static func sigmoid(_ x: Lanes) -> Lanes { LSTM.sigmoid(x) }
}

extension Float: KernelScalar {
    @inline(__always)
    static func lanes(_ doubles: SIMD8<Double>) -> SIMD8<Float> {
        SIMD8<Float>(
            Float(doubles[0]), Float(doubles[1]), Float(doubles[2]), Float(doubles[3]), Float(doubles[4]),
            Float(doubles[5]), Float(doubles[6]), Float(doubles[7]))
    }
    @inline(__always)
    static func doubles(_ lanes: SIMD8<Float>) -> SIMD8<Double> {
        SIMD8<Double>(
            Double(lanes[0]), Double(lanes[1]), Double(lanes[2]), Double(lanes[3]), Double(lanes[4]),
            Double(lanes[5]), Double(lanes[6]), Double(lanes[7]))
    }
    @inline(__always)
    static func multiplyAdd(_ a: SIMD8<Float>, _ b: SIMD8<Float>, _ c: SIMD8<Float>) -> SIMD8<Float> {
        LSTM.multiplyAdd(a, b, c)
    }
    @inline(__always) static func tanh(_ x: SIMD8<Float>) -> SIMD8<Float> { LSTM.tanh(x) }
    @inline(__always) static func sigmoid(_ x: SIMD8<Float>) -> SIMD8<Float> { LSTM.sigmoid(x) }
}
