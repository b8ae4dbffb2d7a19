/// Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC 2011): a
/// counter-based generator. Output = bijection(counter) under a key, so any draw can be computed
/// from its coordinates alone, with no state carried between draws: the property that makes a
/// run's numbers independent of message order, scheduling and the transport.
public struct Philox4x32: Sendable {
    public typealias Counter = (UInt32, UInt32, UInt32, UInt32)
    public let key: (UInt32, UInt32)

    public init(key: (UInt32, UInt32)) { self.key = key }

    /// The key of a 64-bit seed: its low and high words.
    public init(seed: UInt64) {
        self.init(key: (UInt32(truncatingIfNeeded: seed), UInt32(truncatingIfNeeded: seed >> 32)))
    }

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
        blocks8(counters: SIMD8<UInt32>(0, 1, 2, 3, 4, 5, 6, 7) &+ first, SIMD8(repeating: rest.0), rest.1, rest.2)
    }

    /// Eight blocks whose counters' first two words differ by lane: lane k is the block of counter
    /// (first[k], second[k], third, fourth), e.g. the same block of eight streams.
    @inlinable @inline(__always)
    public func blocks8(counters first: SIMD8<UInt32>, _ second: SIMD8<UInt32>, _ third: UInt32, _ fourth: UInt32)
        -> (SIMD8<UInt32>, SIMD8<UInt32>, SIMD8<UInt32>, SIMD8<UInt32>)
    {
        let (c0, c1, c2, c3) = pairedBlocks8(
            Self.paired(first), Self.paired(second), Self.paired(SIMD8(repeating: third)),
            Self.paired(SIMD8(repeating: fourth)))
        return (Self.unpaired(c0), Self.unpaired(c1), Self.unpaired(c2), Self.unpaired(c3))
    }

    /// The ten rounds on eight lanes held as four 64-bit pairs (lane 2i in the low half of pair i,
    /// lane 2i + 1 in the high half): a 32 x 32 -> 64-bit product of each half is one AVX2 vpmuludq on
    /// a masked or shifted pair, and hi/lo are masks and shifts, with no shuffle and no widening.
    @usableFromInline @inline(__always)
    func pairedBlocks8(_ first: SIMD4<UInt64>, _ second: SIMD4<UInt64>, _ third: SIMD4<UInt64>, _ fourth: SIMD4<UInt64>)
        -> (SIMD4<UInt64>, SIMD4<UInt64>, SIMD4<UInt64>, SIMD4<UInt64>)
    {
        pairedRounds(first, second, third, fourth)
    }

    /// Sixteen lanes as eight pairs: two independent sets of eight side by side, which keeps two
    /// chains of multiplies in flight where one set waits on each round's latency.
    @usableFromInline @inline(__always)
    func pairedBlocks16(
        _ first: SIMD8<UInt64>, _ second: SIMD8<UInt64>, _ third: SIMD8<UInt64>, _ fourth: SIMD8<UInt64>
    ) -> (SIMD8<UInt64>, SIMD8<UInt64>, SIMD8<UInt64>, SIMD8<UInt64>) {
        pairedRounds(first, second, third, fourth)
    }

    @usableFromInline @inline(__always)
    func pairedRounds<Pairs: SIMD>(_ first: Pairs, _ second: Pairs, _ third: Pairs, _ fourth: Pairs)
        -> (Pairs, Pairs, Pairs, Pairs) where Pairs.Scalar == UInt64
    {
        let low = Pairs(repeating: 0xFFFF_FFFF), high = ~low
        let multiplier0 = Pairs(repeating: 0xD251_1F53), multiplier1 = Pairs(repeating: 0xCD9E_8D57)
        var (c0, c1, c2, c3) = (first, second, third, fourth)
        var k0 = key.0, k1 = key.1
        for round in 0..<10 {
            if round > 0 {
                k0 &+= 0x9E37_79B9
                k1 &+= 0xBB67_AE85
            }
            let keys0 = Pairs(repeating: UInt64(k0) << 32 | UInt64(k0))
            let keys1 = Pairs(repeating: UInt64(k1) << 32 | UInt64(k1))
            let even0 = (c0 & low) &* multiplier0, odd0 = (c0 &>> 32) &* multiplier0
            let even1 = (c2 & low) &* multiplier1, odd1 = (c2 &>> 32) &* multiplier1
            let hi0 = (even0 &>> 32) | (odd0 & high), lo0 = (even0 & low) | (odd0 &<< 32)
            let hi1 = (even1 &>> 32) | (odd1 & high), lo1 = (even1 & low) | (odd1 &<< 32)
            (c0, c1, c2, c3) = (hi1 ^ c1 ^ keys0, lo1, hi0 ^ c3 ^ keys1, lo0)
        }
        return (c0, c1, c2, c3)
    }

    @usableFromInline @inline(__always)
    static func paired(_ lanes: SIMD8<UInt32>) -> SIMD4<UInt64> { unsafeBitCast(lanes, to: SIMD4<UInt64>.self) }

    @usableFromInline @inline(__always)
    static func unpaired(_ pairs: SIMD4<UInt64>) -> SIMD8<UInt32> { unsafeBitCast(pairs, to: SIMD8<UInt32>.self) }
}
