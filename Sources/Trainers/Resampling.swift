import Numerics

/// How a particle filter draws the next generation from weighted particles.
public enum ResamplingScheme: String, CaseIterable, Codable, Sendable {
    /// One uniform, N evenly spaced points: lowest variance of the four in practice (the default).
    case systematic
    /// One uniform in each of N strata.
    case stratified
    /// floor(N w_i) copies of each particle, the remainder drawn systematically from the residual weights.
    case residual
    /// N independent draws.
    case multinomial

    /// Ancestor indices (sorted ascending) for `count` offspring from normalised `weights`.
    /// Every scheme is unbiased: E[offspring of i] = count * w_i.
    public func ancestors(weights: [Double], count: Int, random: inout RandomStream) -> [Int] {
        var result = [Int]()
        ancestors(weights: weights, count: count, random: &random, into: &result)
        return result
    }

    /// The same ancestors into `result` (its room kept): systematic resampling, the default, then
    /// allocates nothing, which a filter's step in steady state relies on.
    public func ancestors(weights: [Double], count: Int, random: inout RandomStream, into result: inout [Int]) {
        switch self {
        case .systematic:
            // `invert` on the points (k + u) / count, the cumulative sum formed as it goes: the same
            // additions in the same order, so the same ancestors.
            result.removeAll(keepingCapacity: true)
            let u = random.nextUniform()
            var i = 0, cumulative = weights.first ?? 0
            for k in 0..<count {
                let point = (Double(k) + u) / Double(count)
                while i < weights.count - 1 && cumulative <= point {
                    i += 1
                    cumulative += weights[i]
                }
                result.append(i)
            }
        case .stratified:
            result = Self.invert(
                weights: weights, points: (0..<count).map { (Double($0) + random.nextUniform()) / Double(count) })
        case .multinomial:
            result = Self.invert(weights: weights, points: (0..<count).map { _ in random.nextUniform() }.sorted())
        case .residual:
            result = []
            result.reserveCapacity(count)
            var residual = [Double](repeating: 0, count: weights.count)
            for (i, w) in weights.enumerated() {
                let copies = Int((Double(count) * w).rounded(.down))
                result.append(contentsOf: repeatElement(i, count: copies))
                residual[i] = Double(count) * w - Double(copies)
            }
            let remaining = count - result.count
            if remaining > 0 {
                let total = residual.reduce(0, +)
                let u = random.nextUniform()
                let drawn = Self.invert(
                    weights: residual.map { $0 / total },
                    points: (0..<remaining).map { (Double($0) + u) / Double(remaining) })
                result.append(contentsOf: drawn)
                result.sort()
            }
        }
    }

    /// Inverse-CDF lookup of sorted points in [0, 1). The cumulative sum is clamped to 1 at the end
    /// so that rounding can never leave a point beyond the last particle.
    static func invert(weights: [Double], points: [Double]) -> [Int] {
        var cumulative = [Double](repeating: 0, count: weights.count)
        var sum = 0.0
        for (i, w) in weights.enumerated() {
            sum += w
            cumulative[i] = sum
        }
        if !cumulative.isEmpty { cumulative[cumulative.count - 1] = 1 }
        var result = [Int]()
        result.reserveCapacity(points.count)
        var i = 0
        for point in points {
            while i < cumulative.count - 1 && cumulative[i] <= point { i += 1 }
            result.append(i)
        }
        return result
    }
}
