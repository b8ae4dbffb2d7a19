/// exp, tanh and the logistic sigmoid on 8 lanes at once. libm's scalar functions would cost more
/// than the rest of the particle kernel together; these agree with them to a few ulps.
public typealias Lanes = SIMD8<Double>

@inlinable @inline(__always)
public func exp(_ x: Lanes) -> Lanes {
    // exp(x) = 2^k exp(r), k = round(x / ln 2), |r| <= ln(2)/2; exp(r) by its Taylor series to
    // degree 13 (truncation below 2e-16 relative on that interval).
    // Rounding and the integer k come from adding 1.5 * 2^52: the FPU rounds to an integer, which
    // then sits in the low bits of the sum's bit pattern. Per-lane conversions (SIMD8<Int64>(_:
    // rounding:)) compile to scalar loops and would cost more than everything else here.
    let clamped = pointwiseMinimum(pointwiseMaximum(x, Lanes(repeating: -708)), Lanes(repeating: 709))
    let magic = Lanes(repeating: 0x1.8p52)
    let shifted = clamped * 1.4426950408889634 + magic
    let k = shifted - magic
    let high = multiplyAdd(k, Lanes(repeating: -6.93145751953125e-1), clamped)
    let r = multiplyAdd(k, Lanes(repeating: -1.42860682030941723212e-6), high)
    // Estrin's scheme in fused multiply-adds: pairs of coefficients joined by r^2, r^4 and r^8, so the
    // longest chain is five operations deep where Horner's rule is thirteen. An LSTM column waits on
    // exp twice (the gates, then tanh of the cell): at n = 2 the kernel is bound by that latency.
    let r2 = r * r, r4 = r2 * r2, r8 = r4 * r4
    let q0 = multiplyAdd(r, Lanes(repeating: 1), Lanes(repeating: 1))
    let q1 = multiplyAdd(r, Lanes(repeating: 1.0 / 6), Lanes(repeating: 0.5))
    let q2 = multiplyAdd(r, Lanes(repeating: 1.0 / 120), Lanes(repeating: 1.0 / 24))
    let q3 = multiplyAdd(r, Lanes(repeating: 1.0 / 5040), Lanes(repeating: 1.0 / 720))
    let q4 = multiplyAdd(r, Lanes(repeating: 1.0 / 362880), Lanes(repeating: 1.0 / 40320))
    let q5 = multiplyAdd(r, Lanes(repeating: 1.0 / 39916800), Lanes(repeating: 1.0 / 3628800))
    let q6 = multiplyAdd(r, Lanes(repeating: 1.0 / 6227020800), Lanes(repeating: 1.0 / 479001600))
    let s0 = multiplyAdd(q1, r2, q0), s1 = multiplyAdd(q3, r2, q2), s2 = multiplyAdd(q5, r2, q4)
    let p = multiplyAdd(multiplyAdd(q6, r4, s2), r8, multiplyAdd(s1, r4, s0))
    // The sum's bits are 0x4338_0000_0000_0000 + k; the exponent field of 2^k is k + 1023.
    let bits = unsafeBitCast(shifted, to: SIMD8<Int64>.self) &- (0x4338_0000_0000_0000 - 1023)
    return p * unsafeBitCast(bits &<< 52, to: Lanes.self)
}

/// a * b + c, fused where the target has a fused multiply-add instruction (see Package.swift).
@inlinable @inline(__always)
public func multiplyAdd(_ a: Lanes, _ b: Lanes, _ c: Lanes) -> Lanes {
    #if FUSED_MULTIPLY_ADD
        return c.addingProduct(a, b)
    #else
        return a * b + c
    #endif
}

/// Lane-wise min and max by comparison masks, which lower to single vector instructions.
@inlinable @inline(__always)
public func pointwiseMinimum(_ a: Lanes, _ b: Lanes) -> Lanes { a.replacing(with: b, where: b .< a) }

@inlinable @inline(__always)
public func pointwiseMaximum(_ a: Lanes, _ b: Lanes) -> Lanes { a.replacing(with: b, where: b .> a) }

@inlinable @inline(__always)
public func tanh(_ x: Lanes) -> Lanes {
    // 1 - 2/(e^{2x} + 1): exact limits +-1 at overflow, absolute error ~1e-16 near 0.
    1 - 2 / (exp(x + x) + 1)
}

@inlinable @inline(__always)
public func sigmoid(_ x: Lanes) -> Lanes {
    1 / (1 + exp(-x))
}

// Single precision, for the particle kernel's `Precision.single` path: the same constructions with
// Float's constants; exp's Taylor series to degree 7 (truncation below 6e-9 relative on
// |r| <= ln(2)/2, under Float's 6e-8 spacing).

@inlinable @inline(__always)
public func exp(_ x: SIMD8<Float>) -> SIMD8<Float> {
    let clamped = x.replacing(with: -87, where: x .< -87).replacing(with: 88, where: x .> 88)
    let magic = SIMD8<Float>(repeating: 0x1.8p23)
    let shifted = clamped * 1.442_695_04 + magic
    let k = shifted - magic
    let high = multiplyAdd(k, SIMD8<Float>(repeating: -6.931_457_519_531_25e-1), clamped)
    let r = multiplyAdd(k, SIMD8<Float>(repeating: -1.428_606_765_330_187e-6), high)
    // Estrin's scheme, as in double.
    let r2 = r * r, r4 = r2 * r2
    let q0 = multiplyAdd(r, SIMD8<Float>(repeating: 1), SIMD8<Float>(repeating: 1))
    let q1 = multiplyAdd(r, SIMD8<Float>(repeating: 1.0 / 6), SIMD8<Float>(repeating: 0.5))
    let q2 = multiplyAdd(r, SIMD8<Float>(repeating: 1.0 / 120), SIMD8<Float>(repeating: 1.0 / 24))
    let q3 = multiplyAdd(r, SIMD8<Float>(repeating: 1.0 / 5040), SIMD8<Float>(repeating: 1.0 / 720))
    let p = multiplyAdd(multiplyAdd(q3, r2, q2), r4, multiplyAdd(q1, r2, q0))
    // The sum's bits are 0x4B40_0000 + k; the exponent field of 2^k is k + 127.
    let bits = unsafeBitCast(shifted, to: SIMD8<Int32>.self) &- (0x4B40_0000 - 127)
    return p * unsafeBitCast(bits &<< 23, to: SIMD8<Float>.self)
}

@inlinable @inline(__always)
public func multiplyAdd(_ a: SIMD8<Float>, _ b: SIMD8<Float>, _ c: SIMD8<Float>) -> SIMD8<Float> {
    #if FUSED_MULTIPLY_ADD
        return c.addingProduct(a, b)
    #else
        return a * b + c
    #endif
}

@inlinable @inline(__always)
public func tanh(_ x: SIMD8<Float>) -> SIMD8<Float> { 1 - 2 / (exp(x + x) + 1) }

@inlinable @inline(__always)
public func sigmoid(_ x: SIMD8<Float>) -> SIMD8<Float> { 1 / (1 + exp(-x)) }
