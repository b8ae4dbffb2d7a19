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
    /// The order in which a GM coordinator adds sites to a balancing set.
    case balancing = 8
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

    public init(seed: UInt64, node: Int = 0, step: Int = 0, purpose: RandomPurpose, index: Int = 0) {
        precondition(index >= 0 && index <= Int(UInt32.max), "index \(index) outside 32 bits")
        generator = Philox4x32(seed: seed)
        self.index = UInt32(index)
        (self.step, tail) = Self.counterWords(node: node, step: step, purpose: purpose)
    }

    /// The counter's last two words, (step, purpose << 24 | node), for every stream of (node, step,
    /// purpose) whatever its index: one stream here, eight in SIMD lanes elsewhere.
    static func counterWords(node: Int, step: Int, purpose: RandomPurpose) -> (step: UInt32, tail: UInt32) {
        precondition(node >= 0 && node < 1 << 24, "node id \(node) outside 0..<2^24")
        precondition(step >= 0 && step <= Int(UInt32.max), "step \(step) outside 32 bits")
        return (UInt32(step), purpose.rawValue << 24 | UInt32(node))
    }

    /// The 53-bit uniform on [0, 1) of two words, as `nextUniform()` makes it.
    @inline(__always)
    static func uniform(_ high: UInt32, _ low: UInt32) -> Double {
        Double(UInt64(high >> 5) << 26 | UInt64(low >> 6)) * 0x1p-53
    }

    /// Moves to the start of block b: the next word drawn is its first.
    public mutating func seek(toBlock b: UInt32) { (block, used) = (b, 4) }

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
        let high = nextUInt32()
        return Self.uniform(high, nextUInt32())
    }

    /// The first `nextUniform()` of each of eight streams (seed, node, step, purpose, indices[k]) at
    /// once, the same bits: block 0 of the eight streams is one SIMD Philox call. The walk draws one
    /// uniform per particle and move, and a scalar block each cost more than the rest of its move.
    public static func firstUniforms(
        seed: UInt64, node: Int, step: Int, purpose: RandomPurpose, indices: SIMD8<UInt32>
    ) -> SIMD8<Double> {
        let (step, tail) = counterWords(node: node, step: step, purpose: purpose)
        let (w0, w1, _, _) = Philox4x32(seed: seed).blocks8(counters: SIMD8(repeating: 0), indices, step, tail)
        var uniforms = SIMD8<Double>()
        for k in 0..<8 { uniforms[k] = uniform(w0[k], w1[k]) }
        return uniforms
    }

    /// Uniform on (0, 1): never exactly 0, for logarithms.
    public mutating func nextOpenUniform() -> Double {
        let high = UInt64(nextUInt32() >> 5), low = UInt64(nextUInt32() >> 6)
        return (Double(high << 26 | low) + 0.5) * 0x1p-53
    }

    /// Standard normal, by the ziggurat method (Marsaglia & Tsang; Doornik's ZIGNOR variant with
    /// 128 layers): about 98% of draws cost one 64-bit draw, a table lookup and a multiply, where
    /// Box-Muller needs a log, a sine and a cosine. Particle jitter draws n_theta of these per
    /// particle and step, so this is the particle filters' largest cost after the kernel.
    public mutating func nextGaussian() -> Double {
        Ziggurat.shared.layerTable.withUnsafeBufferPointer { layers in
            while true {
                let bits = UInt64(nextUInt32()) << 32 | UInt64(nextUInt32())
                let u = 2 * (Double(bits >> 11) * 0x1p-53) - 1
                switch Ziggurat.attempt(u, layer: Int(bits & 0x7F), layers.baseAddress!) {
                case .accepted(let z): return z
                case .tail(let negative): return tail(negative: negative)
                case .wedge(let wedge): if wedge.accepts(nextUniform()) { return wedge.z }
                }
            }
        }
    }

    /// Adds `scale` times `count` standard normals to `destination[0]`, `destination[stride]`, ...:
    /// the same numbers, in the same order, as `count` calls of `nextGaussian()`, and the stream goes
    /// on after them as it would after those calls. The Philox blocks come eight at a time (one SIMD
    /// lane each) and the ziggurat's table is read once: particle jitter draws n_theta normals per
    /// particle and step (8352 at n = p = 32), the largest cost of a particle filter after its kernel.
    public mutating func addGaussians(
        scale: Double, to destination: UnsafeMutablePointer<Double>, count: Int, stride: Int = 1
    ) {
        guard count > 0 else { return }
        // The next word's position in the stream: block b holds words 4b..<4b+4.
        let start = Int(block) * 4 - (4 - used)
        let end = withUnsafeTemporaryAllocation(of: UInt32.self, capacity: 32) { buffer in
            Ziggurat.shared.layerTable.withUnsafeBufferPointer { layers in
                var words = EightBlocks(
                    generator: generator, rest: (index, step, tail), buffer: buffer.baseAddress!, position: start)
                for i in 0..<count {
                    destination[i * stride] += scale * words.gaussian(layers.baseAddress!)
                }
                return words.position
            }
        }
        // Leave the stream where `count` calls of nextGaussian() would have.
        if end % 4 == 0 {
            (block, used) = (UInt32(truncatingIfNeeded: end / 4), 4)
        } else {
            buffer = generator.block((UInt32(truncatingIfNeeded: end / 4), index, step, tail))
            (block, used) = (UInt32(truncatingIfNeeded: end / 4 + 1), end % 4)
        }
    }

    /// The normal tail beyond R (Marsaglia's method).
    mutating func tail(negative: Bool) -> Double {
        Ziggurat.tail(negative: negative) { nextOpenUniform() }
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

/// A stream's words from `position` on, eight Philox blocks generated at a time into `buffer`
/// (32 words), and the ziggurat drawn from them exactly as `RandomStream.nextGaussian()` draws.
struct EightBlocks {
    let generator: Philox4x32
    let rest: (UInt32, UInt32, UInt32)
    let buffer: UnsafeMutablePointer<UInt32>
    var position: Int
    /// The position of buffer[0]; far below any position until the first fill.
    var first = -64

    init(generator: Philox4x32, rest: (UInt32, UInt32, UInt32), buffer: UnsafeMutablePointer<UInt32>, position: Int) {
        (self.generator, self.rest, self.buffer, self.position) = (generator, rest, buffer, position)
    }

    @inline(__always)
    mutating func next() -> UInt32 {
        if position - first >= 32 {
            first = position & ~3
            let (c0, c1, c2, c3) = generator.blocks8(first: UInt32(truncatingIfNeeded: first >> 2), rest: rest)
            for k in 0..<8 {
                buffer[4 * k] = c0[k]
                buffer[4 * k + 1] = c1[k]
                buffer[4 * k + 2] = c2[k]
                buffer[4 * k + 3] = c3[k]
            }
        }
        defer { position += 1 }
        return buffer[position - first]
    }

    @inline(__always)
    mutating func uniform(open: Bool) -> Double {
        let high = UInt64(next() >> 5), low = UInt64(next() >> 6)
        return (Double(high << 26 | low) + (open ? 0.5 : 0)) * 0x1p-53
    }

    @inline(__always)
    mutating func gaussian(_ layers: UnsafePointer<Ziggurat.Layer>) -> Double {
        while true {
            let bits = UInt64(next()) << 32 | UInt64(next())
            let u = 2 * (Double(bits >> 11) * 0x1p-53) - 1
            switch Ziggurat.attempt(u, layer: Int(bits & 0x7F), layers) {
            case .accepted(let z): return z
            case .tail(let negative): return Ziggurat.tail(negative: negative) { uniform(open: true) }
            case .wedge(let wedge): if wedge.accepts(uniform(open: false)) { return wedge.z }
            }
        }
    }
}

/// The ziggurat's layers, computed once, and the steps of its method that every way of drawing
/// shares: `nextGaussian()`, the bulk `addGaussians`, and `GaussianLanes` with its continuations.
struct Ziggurat: Sendable {
    static let layers = 128
    static let r = 3.442619855899
    static let v = 9.91256303526217e-3
    static let shared = Ziggurat()
    /// Layer i's edge x_i and ratio x_(i+1) / x_i side by side (one cache line holds four layers');
    /// entry 128 is x_128 = 0, the inner edge of the top layer's wedge.
    let layerTable: [Layer]

    struct Layer: Sendable {
        let edge: Double
        let ratio: Double
    }

    init() {
        var x = [Double](repeating: 0, count: Self.layers + 1)
        var f = exp(-0.5 * Self.r * Self.r)
        x[0] = Self.v / f  // the bottom layer, tail included
        x[1] = Self.r
        for i in 2..<Self.layers {
            x[i] = (-2 * log(Self.v / x[i - 1] + f)).squareRoot()
            f = exp(-0.5 * x[i] * x[i])
        }
        layerTable = (0...Self.layers).map { Layer(edge: x[$0], ratio: $0 < Self.layers ? x[$0 + 1] / x[$0] : 0) }
    }

    /// What one attempt at u in [-1, 1) on a layer gives: a normal, the tail (layer 0 outside the
    /// rectangle), or a wedge, whose point is accepted or not by one more uniform.
    enum Attempt {
        case accepted(Double)
        case tail(negative: Bool)
        case wedge(Wedge)
    }

    /// The point z in a layer's wedge and the density's values f0, f1 at the layer's outer and inner
    /// edge relative to z's.
    struct Wedge {
        let z: Double, f0: Double, f1: Double

        @inline(__always)
        func accepts(_ uniform: Double) -> Bool { f1 + uniform * (f0 - f1) < 1 }
    }

    @inline(__always)
    static func attempt(_ u: Double, layer: Int, _ layers: UnsafePointer<Layer>) -> Attempt {
        let edge = layers[layer].edge
        if abs(u) < layers[layer].ratio { return .accepted(u * edge) }
        if layer == 0 { return .tail(negative: u < 0) }
        let z = u * edge, inner = layers[layer + 1].edge
        return .wedge(Wedge(z: z, f0: exp(-0.5 * (edge * edge - z * z)), f1: exp(-0.5 * (inner * inner - z * z))))
    }

    /// The normal tail beyond R (Marsaglia's method), from uniforms on (0, 1).
    @inline(__always)
    static func tail(negative: Bool, openUniform: () -> Double) -> Double {
        var x = 0.0, y = 0.0
        repeat {
            x = log(openUniform()) / r
            y = log(openUniform())
        } while -2 * y < x * x
        return negative ? x - r : r - x
    }
}

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif
