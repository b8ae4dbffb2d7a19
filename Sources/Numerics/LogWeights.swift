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
/// divide by the sum. Returns nil when no weight is finite (every particle impossible), so the
/// caller decides how to recover instead of dividing by zero into NaN.
public func normalizedWeights(fromLog logWeights: [Double]) -> [Double]? {
    let total = logSumExp(logWeights)
    guard total.isFinite else { return nil }
    return logWeights.map { $0.isNaN ? 0 : exp($0 - total) }
}

/// Effective sample size 1 / sum(w^2) of normalised weights: N for equal weights, 1 for one survivor.
public func effectiveSampleSize(_ weights: [Double]) -> Double {
    1 / weights.reduce(0) { $0 + $1 * $1 }
}
