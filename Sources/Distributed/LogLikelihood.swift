import Foundation

/// log N(d; h, R), the full Gaussian log-density. The constant matters in the DPF: particles that
/// took different walks collect different total exponents. NaN (a diverged particle) becomes -inf.
@inline(__always)
func logLikelihood(_ d: Double, _ h: Double, variance r: Double) -> Double {
    let residual = d - h
    let value = -0.5 * (log(2 * Double.pi * r) + residual * residual / r)
    return value.isNaN ? -.infinity : value
}
