#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// log(sum(exp(x))) without overflow; -inf for an empty input or when every term is -inf.
/// NaN terms count as -inf (a particle whose likelihood could not be evaluated has no weight).
public func logSumExp(_ values: UnsafeBufferPointer<Double>) -> Double {
    var maximum = -Double.infinity
    for value in values where value > maximum { maximum = value }
    guard maximum > -.infinity else { return -.infinity }
    if maximum == .infinity { return .infinity }
    var sum = 0.0
    for value in values where value > -.infinity { sum += exp(value - maximum) }
    return maximum + log(sum)
}

public func logSumExp(_ values: [Double]) -> Double {
    values.withUnsafeBufferPointer { logSumExp($0) }
}

/// Normalised weights from log-weights, as `particles` (Chopin) does: subtract the maximum, exp,
/// divide by the sum. Dividing by the sum (at least 1, from the maximum's own term) keeps the total
/// 1 to rounding whatever the log-weights' magnitude; exp(lw - logSumExp) would be off by the
/// spacing of doubles at |lw| (1e-7 at 1e9). Returns nil when no weight is finite (every particle
/// impossible, or an infinite one), so the caller decides how to recover instead of dividing into NaN.
public func normalizedWeights(fromLog logWeights: [Double]) -> [Double]? {
    var weights = [Double](repeating: 0, count: logWeights.count)
    let finite = logWeights.withUnsafeBufferPointer { log in
        weights.withUnsafeMutableBufferPointer { normalizeWeights(fromLog: log, into: $0) }
    }
    return finite ? weights : nil
}

/// `normalizedWeights(fromLog:)` into a buffer of the same length, without allocating (the particle
/// store's steps); returns false, leaving `weights` undefined, when no weight is finite.
public func normalizeWeights(
    fromLog logWeights: UnsafeBufferPointer<Double>, into weights: UnsafeMutableBufferPointer<Double>
)
    -> Bool
{
    precondition(weights.count == logWeights.count)
    var maximum = -Double.infinity
    for value in logWeights where value > maximum { maximum = value }
    guard maximum.isFinite else { return false }
    var sum = 0.0
    for (i, value) in logWeights.enumerated() {
        weights[i] = value > -.infinity ? exp(value - maximum) : 0
        sum += weights[i]
    }
    for i in weights.indices { weights[i] /= sum }
    return true
}

/// Effective sample size 1 / sum(w^2) of normalised weights: N for equal weights, 1 for one survivor.
public func effectiveSampleSize(_ weights: [Double]) -> Double {
    1 / weights.reduce(0) { $0 + $1 * $1 }
}
