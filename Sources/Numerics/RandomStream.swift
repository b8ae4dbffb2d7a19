/// What a stream of random numbers is for: part of its key, so that streams for different
/// purposes never overlap even with the same node, step and index.
public enum RandomPurpose: UInt32, Sendable {
    case initialization = 1
    case jitter = 2
    case resampling = 3
    case walk = 4
    case teacher = 5
    case data = 6
    case testing = 7
}

/// A stream of random numbers addressed by (seed, node, step, purpose, index), e.g. the jitter of
/// particle 17 at node 2, step 40. Two runs with the same seed draw the same numbers at the same
/// coordinates whatever the order in which the coordinates are visited.
///
/// Layout: key = the 64-bit seed; counter = (draw block, index, step, purpose << 24 | node).
/// Each block yields four 32-bit words; a stream can draw 2^32 blocks.
public struct RandomStream: Sendable {
    private let generator: Philox4x32
    private let index: UInt32, step: UInt32, tail: UInt32
    private var block: UInt32 = 0
    private var buffer: Philox4x32.Counter = (0, 0, 0, 0)
    private var used = 4
    private var spareGaussian: Double?

    public init(seed: UInt64, node: Int = 0, step: Int = 0, purpose: RandomPurpose, index: Int = 0) {
        precondition(node >= 0 && node < 1 << 24, "node id \(node) outside 0..<2^24")
        precondition(step >= 0 && step <= Int(UInt32.max), "step \(step) outside 32 bits")
        precondition(index >= 0 && index <= Int(UInt32.max), "index \(index) outside 32 bits")
        generator = Philox4x32(key: (UInt32(truncatingIfNeeded: seed), UInt32(truncatingIfNeeded: seed >> 32)))
        self.index = UInt32(index)
        self.step = UInt32(step)
        self.tail = purpose.rawValue << 24 | UInt32(node)
    }

    public mutating func nextUInt32() -> UInt32 {
        if used == 4 {
            buffer = generator.block((block, index, step, tail))
            block &+= 1
            used = 0
        }
        defer { used += 1 }
        switch used {
        case 0: return buffer.0
        case 1: return buffer.1
        case 2: return buffer.2
        default: return buffer.3
        }
    }

    /// Uniform on [0, 1) with 53 random bits.
    public mutating func nextUniform() -> Double {
        let high = UInt64(nextUInt32() >> 5), low = UInt64(nextUInt32() >> 6)
        return Double(high << 26 | low) * 0x1p-53
    }

    /// Uniform on (0, 1): never exactly 0, for logarithms.
    public mutating func nextOpenUniform() -> Double {
        let high = UInt64(nextUInt32() >> 5), low = UInt64(nextUInt32() >> 6)
        return (Double(high << 26 | low) + 0.5) * 0x1p-53
    }

    /// Standard normal, by the Box-Muller transform (pairs, the second kept for the next call).
    public mutating func nextGaussian() -> Double {
        if let spare = spareGaussian {
            spareGaussian = nil
            return spare
        }
        let radius = (-2 * log(nextOpenUniform())).squareRoot()
        let angle = 2 * Double.pi * nextUniform()
        spareGaussian = radius * sin(angle)
        return radius * cos(angle)
    }

    /// An integer uniform on 0..<bound, without modulo bias (Lemire's method).
    public mutating func nextInt(below bound: Int) -> Int {
        precondition(bound > 0 && bound <= Int(UInt32.max))
        let bound32 = UInt32(bound)
        var product = UInt64(nextUInt32()) &* UInt64(bound32)
        if UInt32(truncatingIfNeeded: product) < bound32 {
            let threshold = (0 &- bound32) % bound32
            while UInt32(truncatingIfNeeded: product) < threshold {
                product = UInt64(nextUInt32()) &* UInt64(bound32)
            }
        }
        return Int(product >> 32)
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
