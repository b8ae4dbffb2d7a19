import LSTM
import Numerics
import Testing

@Suite("batched particle kernel against the reference model")
struct ParticleKernelTests {
    @Test(
        "every particle's estimate and pooled state", arguments: Pooling.allCases,
        [
            (2, 2, 1, 80, false), (3, 1, 6, 13, false), (5, 4, 9, 17, false), (1, 3, 2, 1, false),
            (4, 6, 3, 9, false), (2, 2, 3, 80, true), (5, 4, 9, 17, true), (3, 1, 1, 5, true),
        ])
    func kernelMatchesReference(pooling: Pooling, sizes: (Int, Int, Int, Int, Bool)) {
        let (n, p, m, count, directLink) = sizes
        let model = LSTMModel(shape: LSTMShape(hidden: n, input: p, directLink: directLink), pooling: pooling)
        let thetas = (0..<count).map { randomVector(model.shape.parameterCount, seed: UInt64(1000 + $0), scale: 0.8) }
        let particles = ParticleParameters(shape: model.shape, particles: thetas)
        let sample = randomSample(length: m, input: p, seed: 77)
        // Carried state, different for every particle.
        let cells = (0..<count).map { randomVector(n, seed: UInt64(2000 + $0)) }
        let outputs = (0..<count).map { randomVector(n, seed: UInt64(3000 + $0)) }
        var initialCell = [Double](repeating: 0, count: n * particles.paddedCount)
        var initialOutput = initialCell
        for i in 0..<count {
            for k in 0..<n {
                initialCell[k * particles.paddedCount + i] = cells[i][k]
                initialOutput[k * particles.paddedCount + i] = outputs[i][k]
            }
        }
        let kernel = ParticleKernel(shape: model.shape, pooling: pooling)
        var output = KernelOutput()
        for carried in [false, true] {
            kernel.evaluate(
                particles, sample: sample, initialCell: carried ? initialCell : nil,
                initialOutput: carried ? initialOutput : nil, into: &output)
            var worst = 0.0
            for i in 0..<count {
                let trace = model.forward(
                    theta: thetas[i], sample: sample, initialCell: carried ? cells[i] : nil,
                    initialOutput: carried ? outputs[i] : nil)
                worst = max(worst, abs(output.estimates[i] - trace.estimate))
                for k in 0..<n {
                    worst = max(worst, abs(output.pooledCell[k * particles.paddedCount + i] - trace.pooledCell[k]))
                    worst = max(worst, abs(output.pooledOutput[k * particles.paddedCount + i] - trace.pooledOutput[k]))
                }
            }
            #expect(
                worst < 1e-12,
                "n=\(n) p=\(p) m=\(m) N=\(count) \(pooling) direct=\(directLink) carried=\(carried): largest \(worst)")
        }
    }

    /// The single-precision path: d_hat within 1e-5 of double's, relative to the size of the sum it
    /// is (sum_k |w_k y_bar_k|: a d_hat that cancels to near zero is not held to its own magnitude).
    @Test(
        "single precision: every particle's d_hat within 1e-5 relative of double's",
        arguments: Pooling.allCases, [(2, 2, 8, 80), (8, 8, 5, 80), (32, 32, 8, 19), (5, 3, 1, 9)])
    func singlePrecision(pooling: Pooling, sizes: (Int, Int, Int, Int)) {
        let (n, p, m, count) = sizes
        let shape = LSTMShape(hidden: n, input: p)
        let thetas = (0..<count).map { randomVector(shape.parameterCount, seed: UInt64(500 + $0), scale: 0.5) }
        let particles = ParticleParameters(shape: shape, particles: thetas)
        let sample = randomSample(length: m, input: p, seed: 78)
        var double = KernelOutput(), single = KernelOutput()
        ParticleKernel(shape: shape, pooling: pooling).evaluate(particles, sample: sample, into: &double)
        ParticleKernel(shape: shape, pooling: pooling, precision: .single).evaluate(
            particles, sample: sample, into: &single)
        var worst = 0.0
        for i in 0..<count {
            let w = Array(thetas[i][shape.regressionOffset..<(shape.regressionOffset + n)])
            let size = (0..<n).reduce(0.0) { $0 + abs(w[$1] * double.pooledOutput[$1 * particles.paddedCount + i]) }
            worst = max(worst, abs(single.estimates[i] - double.estimates[i]) / size)
        }
        #expect(worst < 1e-5, "n=\(n) p=\(p) m=\(m) \(pooling): largest relative difference \(worst)")
        #expect(worst > 0, "the single path computed in double")
    }

    @Test("vectorised exp, tanh and sigmoid in single precision against libm")
    func singleVectorMath() {
        var worstExp = 0.0, worstTanh = 0.0
        var stream = RandomStream(seed: 4, purpose: .testing)
        for _ in 0..<20_000 {
            let x = SIMD8<Float>((0..<8).map { _ in Float(40 * (stream.nextUniform() - 0.5)) })
            let e = exp(x), t = tanh(x)
            for lane in 0..<8 {
                let reference = Foundation_exp(Double(x[lane]))
                worstExp = max(worstExp, abs(Double(e[lane]) - reference) / reference)
                worstTanh = max(worstTanh, abs(Double(t[lane]) - Foundation_tanh(Double(x[lane]))))
            }
        }
        #expect(worstExp < 5e-7, "exp relative error \(worstExp)")
        #expect(worstTanh < 5e-7, "tanh absolute error \(worstTanh)")
        let extremes = exp(SIMD8<Float>(-1000, -87, -1, 0, 1, 80, 88, 1000))
        #expect(extremes[0] >= 0 && extremes[0] < 1e-37 && extremes[3] == 1 && extremes[7].isFinite)
    }

    @Test("vectorised exp, tanh and sigmoid against libm")
    func vectorMath() {
        var worstExp = 0.0, worstTanh = 0.0, worstSigmoid = 0.0
        var stream = RandomStream(seed: 3, purpose: .testing)
        for _ in 0..<20_000 {
            let x = Lanes((0..<8).map { _ in 60 * (stream.nextUniform() - 0.5) })
            let e = exp(x), t = tanh(x), s = sigmoid(x)
            for lane in 0..<8 {
                worstExp = max(worstExp, abs(e[lane] - Foundation_exp(x[lane])) / Foundation_exp(x[lane]))
                worstTanh = max(worstTanh, abs(t[lane] - Foundation_tanh(x[lane])))
                worstSigmoid = max(worstSigmoid, abs(s[lane] - LSTM.sigmoid(x[lane])))
            }
        }
        #expect(worstExp < 1e-14, "exp relative error \(worstExp)")
        #expect(worstTanh < 1e-15, "tanh absolute error \(worstTanh)")
        #expect(worstSigmoid < 1e-15, "sigmoid absolute error \(worstSigmoid)")
        let extremes = exp(Lanes(-1000, -708, -1, 0, 1, 700, 709, 1000))
        #expect(extremes[0] >= 0 && extremes[0] < 1e-300 && extremes[3] == 1 && extremes[7].isFinite)
        let saturated = tanh(Lanes(-1000, -30, 30, 1000, 0, 0, 0, 0))
        #expect(saturated[0] == -1 && saturated[3] == 1 && saturated[4] == 0)
    }
}

#if canImport(Glibc)
    import Glibc
#endif
func Foundation_exp(_ x: Double) -> Double { Glibc.exp(x) }
func Foundation_tanh(_ x: Double) -> Double { Glibc.tanh(x) }
