import Foundation

/// log N(d; h, r), the likelihood every particle filter weighs by (paper eq. 16), for one observation
/// or for several that share r (the centralized PF's K nodes: their squared residuals summed).
///
/// The constant log(2 pi r) is kept. In the DPF particles that took different walks collect different
/// total exponents, and with `--observation-noise auto` every node has its own r, so the constant does
/// not cancel between particles; and the SMC trace's log-likelihood increment is a log-density.
/// NaN (a diverged particle) becomes -inf: no weight.
public struct GaussianLikelihood {
    public let variance: Double
    /// observations * log(2 pi r): computed once, for the many particles weighed with one r.
    public let normalizer: Double

    public init(variance: Double, observations: Int = 1) {
        self.variance = variance
        normalizer = Double(observations) * log(2 * Double.pi * variance)
    }

    /// The log-density of observations whose squared residuals sum to `squaredResidual`.
    @inline(__always)
    public func logDensity(squaredResidual: Double) -> Double {
        let value = -0.5 * (normalizer + squaredResidual / variance)
        return value.isNaN ? -.infinity : value
    }

    /// log N(d; h, r) for one observation d and prediction h.
    @inline(__always)
    public func logDensity(_ d: Double, _ h: Double) -> Double {
        let residual = d - h
        return logDensity(squaredResidual: residual * residual)
    }
}
