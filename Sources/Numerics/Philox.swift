/// Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC 2011): a
/// counter-based generator. Output = bijection(counter) under a key, so any draw can be computed
/// from its coordinates alone, with no state carried between draws: the property that makes a
/// run's numbers independent of message order, scheduling and the transport.
public struct Philox4x32: Sendable {
    public typealias Counter = (UInt32, UInt32, UInt32, UInt32)
    public let key: (UInt32, UInt32)

    public init(key: (UInt32, UInt32)) { self.key = key }

    @inline(__always)
    private static func mulhilo(_ a: UInt32, _ b: UInt32) -> (hi: UInt32, lo: UInt32) {
        let product = UInt64(a) &* UInt64(b)
        return (UInt32(truncatingIfNeeded: product >> 32), UInt32(truncatingIfNeeded: product))
    }

    /// The ten-round Philox bijection of `counter`.
    @inline(__always)
    public func block(_ counter: Counter) -> Counter {
        var (c0, c1, c2, c3) = counter
        var (k0, k1) = key
        for round in 0..<10 {
            if round > 0 {
                k0 &+= 0x9E37_79B9
                k1 &+= 0xBB67_AE85
            }
            let (hi0, lo0) = Self.mulhilo(0xD251_1F53, c0)
            let (hi1, lo1) = Self.mulhilo(0xCD9E_8D57, c2)
            (c0, c1, c2, c3) = (hi1 ^ c1 ^ k0, lo1, hi0 ^ c3 ^ k1, lo0)
        }
        return (c0, c1, c2, c3)
    }
}

extension Philox4x32 {
    /// Eight consecutive blocks, `first` to `first + 7` (wrapping) in the counter's first word and
    /// `rest` in the others, one SIMD lane each: lane k of the result's word r is word r of block
    /// `first + k`, the same bits as `block`. The 32 x 32 -> 64-bit products of eight lanes are two
    /// vector multiplies where the scalar rounds take sixteen.
    @inlinable
    public func blocks8(first: UInt32, rest: (UInt32, UInt32, UInt32)) -> (
        SIMD8<UInt32>, SIMD8<UInt32>, SIMD8<UInt32>, SIMD8<UInt32>
    ) {
        var c0 = SIMD8<UInt32>(0, 1, 2, 3, 4, 5, 6, 7) &+ first
        var c1 = SIMD8<UInt32>(repeating: rest.0), c2 = SIMD8<UInt32>(repeating: rest.1)
        var c3 = SIMD8<UInt32>(repeating: rest.2)
        var k0 = key.0, k1 = key.1
        for round in 0..<10 {
            if round > 0 {
                k0 &+= 0x9E37_79B9
                k1 &+= 0xBB67_AE85
            }
            let p0 = SIMD8<UInt64>(truncatingIfNeeded: c0) &* 0xD251_1F53
            let p1 = SIMD8<UInt64>(truncatingIfNeeded: c2) &* 0xCD9E_8D57
            let hi0 = SIMD8<UInt32>(truncatingIfNeeded: p0 &>> 32), lo0 = SIMD8<UInt32>(truncatingIfNeeded: p0)
            let hi1 = SIMD8<UInt32>(truncatingIfNeeded: p1 &>> 32), lo1 = SIMD8<UInt32>(truncatingIfNeeded: p1)
            (c0, c1, c2, c3) = (hi1 ^ c1 ^ k0, lo1, hi0 ^ c3 ^ k1, lo0)
        }
        return (c0, c1, c2, c3)
    }
}
