import LSTM
import Numerics

/// Parameters drawn N(0, scale^2), from a stream the test names.
func randomVector(_ count: Int, seed: UInt64, scale: Double = 0.5) -> [Double] {
    var stream = RandomStream(seed: seed, purpose: .testing)
    return (0..<count).map { _ in scale * stream.nextGaussian() }
}

func randomSample(length: Int, input: Int, seed: UInt64) -> Sample {
    Sample(inputs: randomVector(length * input, seed: seed, scale: 1), length: length, label: 0.3)
}

/// The largest difference between two vectors, relative to the larger of their largest entries.
func relativeError(_ a: [Double], _ b: [Double]) -> Double {
    precondition(a.count == b.count)
    let scale = max(a.map(abs).max() ?? 0, b.map(abs).max() ?? 0, 1e-300)
    return zip(a, b).map { abs($0 - $1) }.max()! / scale
}

/// Central finite differences of a vector function at x.
func finiteDifferenceJacobian(at x: [Double], step: Double = 1e-6, _ f: ([Double]) -> [Double]) -> [[Double]] {
    var columns = [[Double]]()
    for j in x.indices {
        var plus = x, minus = x
        plus[j] += step
        minus[j] -= step
        let fp = f(plus), fm = f(minus)
        columns.append(zip(fp, fm).map { ($0 - $1) / (2 * step) })
    }
    // Transpose: rows are outputs.
    return (0..<columns[0].count).map { i in columns.map { $0[i] } }
}
