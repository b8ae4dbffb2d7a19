import LSTM
import Numerics
import Testing

@Suite("batched particle kernel against the reference model")
struct ParticleKernelTests {
    @Test(
        "every particle's estimate and pooled state", arguments: Pooling.allCases,
        [(2, 2, 1, 80), (3, 1, 6, 13), (5, 4, 9, 17), (1, 3, 2, 1), (4, 6, 3, 9)])
    func kernelMatchesReference(pooling: Pooling, sizes: (Int, Int, Int, Int)) {
        let (n, p, m, count) = sizes
        let model = LSTMModel(shape: LSTMShape(hidden: n, input: p), pooling: pooling)
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
                "n=\(n) p=\(p) m=\(m) N=\(count) \(pooling) carried=\(carried): largest difference \(worst)")
        }
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
