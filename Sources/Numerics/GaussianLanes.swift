#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Gaussians addressed by their index in a stream, drawn for eight streams at once (one SIMD lane
/// each): the particle filters' jitter, n_theta normals per particle and step, where a lane is a
/// particle of the kernel's eight-particle group and element j of all eight is one vector store.
///
/// Gaussian j of the stream (seed, node, step, purpose, index) is the ziggurat of
/// `RandomStream.nextGaussian()` started from the 64 bits in words 2(j mod 2), 2(j mod 2) + 1 of
/// Philox block floor(j / 2): about 98% of them are accepted there, so eight lanes almost always
/// advance together. A rejected one goes on in a continuation stream of its own, the same stream's
/// blocks from 2^31 + 64 j on, so no lane waits for another and every number depends on (stream, j)
/// alone. `addressedGaussian(_:)` is the scalar definition the lanes reproduce bit for bit.
/// The one difference from `nextGaussian()`: u in [-1, 1) takes 52 random bits, not 53, so that
/// eight lanes convert to double with an OR and a subtraction (AVX2 has no 64-bit integer
/// conversion).
public struct GaussianLanes: Sendable {
    /// The continuation of Gaussian j starts at block continuationBase + 64 j (wrapping): separate
    /// from the first-attempt blocks while j < 2^25, and 64 blocks (256 words) are more than a chain of
    /// rejections ever uses.
    static let continuationBase: UInt32 = 1 << 31
    public static let maximumCount = 1 << 25

    private let generator: Philox4x32
    private let indices: SIMD8<UInt32>
    private let step: UInt32, tail: UInt32
    private let seed: UInt64, node: Int, purpose: RandomPurpose

    /// Lane k draws from the stream (seed, node, step, purpose, indices[k]).
    public init(seed: UInt64, node: Int, step: Int, purpose: RandomPurpose, indices: SIMD8<UInt32>) {
        generator = Philox4x32(seed: seed)
        self.indices = indices
        (self.step, tail) = RandomStream.counterWords(node: node, step: step, purpose: purpose)
        (self.seed, self.node, self.purpose) = (seed, node, purpose)
    }

    /// destination[8 j + k] += scale * (Gaussian j of lane k), for j in 0..<count and k in
    /// 0..<lanes; the other lanes (a partial group's padding) get zero added.
    public func add(scale: Double, to destination: UnsafeMutablePointer<Double>, count: Int, lanes: Int = 8) {
        precondition(count >= 0 && count <= Self.maximumCount && lanes >= 0 && lanes <= 8)
        guard count > 0, lanes > 0 else { return }
        // Philox's lanes as pairs (`Philox4x32.pairedBlocks8`): pair i holds lane i in its low half and
        // lane i + 4 in its high half, so each half is four lanes in order, one vector of doubles.
        var index = SIMD4<UInt64>(), step = SIMD4<UInt64>(), tail = SIMD4<UInt64>()
        for i in 0..<4 {
            index[i] = UInt64(indices[i + 4]) << 32 | UInt64(indices[i])
            step[i] = UInt64(self.step) << 32 | UInt64(self.step)
            tail[i] = UInt64(self.tail) << 32 | UInt64(self.tail)
        }
        // Lanes past `lanes` add zero and count as accepted.
        var laneScales = SIMD8<Double>(repeating: 0), laneUnused = SIMDMask<SIMD8<Int64>>(repeating: true)
        for k in 0..<lanes {
            laneScales[k] = scale
            laneUnused[k] = false
        }
        // Constants for the nested function below (a captured var would be checked on every access).
        let scales = laneScales, unused = laneUnused
        let low = SIMD4<UInt64>(repeating: 0xFFFF_FFFF), high = ~low
        // Block q's four words give Gaussians 2q (words 0, 1) and 2q + 1 (words 2, 3).
        func addBlock(
            _ q: Int, _ w0: SIMD4<UInt64>, _ w1: SIMD4<UInt64>, _ w2: SIMD4<UInt64>, _ w3: SIMD4<UInt64>,
            _ layers: UnsafePointer<Ziggurat.Layer>
        ) {
            addOne(
                2 * q, bits: w0 &<< 32 | w1 & low, w0 & high | w1 &>> 32, scales: scales, unused: unused,
                layers: layers, to: destination)
            if 2 * q + 1 < count {
                addOne(
                    2 * q + 1, bits: w2 &<< 32 | w3 & low, w2 & high | w3 &>> 32, scales: scales, unused: unused,
                    layers: layers, to: destination)
            }
        }
        let blocks = (count + 1) / 2
        Ziggurat.shared.layerTable.withUnsafeBufferPointer { table in
            let layers = table.baseAddress!
            var q = 0
            // Blocks q and q + 1 together, two independent Philox chains in flight.
            while q + 1 < blocks {
                let pair = SIMD4<UInt64>(repeating: UInt64(q) << 32 | UInt64(q))
                let next = SIMD4<UInt64>(repeating: UInt64(q + 1) << 32 | UInt64(q + 1))
                let (w0, w1, w2, w3) = generator.pairedBlocks16(
                    SIMD8(lowHalf: pair, highHalf: next), SIMD8(lowHalf: index, highHalf: index),
                    SIMD8(lowHalf: step, highHalf: step), SIMD8(lowHalf: tail, highHalf: tail))
                addBlock(q, w0.lowHalf, w1.lowHalf, w2.lowHalf, w3.lowHalf, layers)
                addBlock(q + 1, w0.highHalf, w1.highHalf, w2.highHalf, w3.highHalf, layers)
                q += 2
            }
            if q < blocks {
                let (w0, w1, w2, w3) = generator.pairedBlocks8(
                    SIMD4(repeating: UInt64(q) << 32 | UInt64(q)), index, step, tail)
                addBlock(q, w0, w1, w2, w3, layers)
            }
        }
    }

    /// Gaussian j of the eight lanes, from the first attempts' bits of lanes 0..<4 and 4..<8.
    @inline(__always)
    private func addOne(
        _ j: Int, bits first: SIMD4<UInt64>, _ second: SIMD4<UInt64>, scales: SIMD8<Double>,
        unused: SIMDMask<SIMD8<Int64>>, layers: UnsafePointer<Ziggurat.Layer>,
        to destination: UnsafeMutablePointer<Double>
    ) {
        let bits = SIMD8(lowHalf: first, highHalf: second)
        let u = SIMD8(lowHalf: Ziggurat.signedUniform(first), highHalf: Ziggurat.signedUniform(second))
        var edge = SIMD8<Double>(), ratio = SIMD8<Double>()
        for k in 0..<8 {
            let layer = layers[Int(truncatingIfNeeded: bits[k] & 0x7F)]
            edge[k] = layer.edge
            ratio[k] = layer.ratio
        }
        var z = u * edge
        let magnitude = unsafeBitCast(
            unsafeBitCast(u, to: SIMD8<UInt64>.self) & 0x7FFF_FFFF_FFFF_FFFF, to: SIMD8<Double>.self)
        // Accepted, or a lane that is not drawn.
        let accepted = (magnitude .< ratio) .| unused
        if !all(accepted) {
            for k in 0..<8 where !accepted[k] {
                var stream = continuation(of: j, lane: k)
                z[k] = stream.finishGaussian(bits[k])
            }
        }
        let target = UnsafeMutableRawPointer(destination + 8 * j)
        let sum = target.loadUnaligned(as: SIMD8<Double>.self) + scales * z
        target.storeBytes(of: sum, as: SIMD8<Double>.self)
    }

    private func continuation(of j: Int, lane k: Int) -> RandomStream {
        var stream = RandomStream(seed: seed, node: node, step: Int(step), purpose: purpose, index: Int(indices[k]))
        stream.seek(toBlock: Self.continuationBase &+ 64 &* UInt32(truncatingIfNeeded: j))
        return stream
    }
}

extension RandomStream {
    /// Gaussian j of this stream, as `GaussianLanes` draws it (the scalar definition; the stream
    /// itself is not advanced).
    public func addressedGaussian(_ j: Int) -> Double {
        precondition(j >= 0 && j < GaussianLanes.maximumCount)
        var first = self
        first.seek(toBlock: UInt32(j / 2))
        var words = (first.nextUInt32(), first.nextUInt32())
        if j % 2 == 1 { words = (first.nextUInt32(), first.nextUInt32()) }
        var rest = self
        rest.seek(toBlock: GaussianLanes.continuationBase &+ 64 &* UInt32(j))
        return rest.finishGaussian(UInt64(words.0) << 32 | UInt64(words.1))
    }

    /// The ziggurat from a first attempt's 64 bits on, further draws from this stream.
    mutating func finishGaussian(_ first: UInt64) -> Double {
        let table = Ziggurat.shared
        var bits = first
        while true {
            let layer = Int(bits & 0x7F)
            let u = Ziggurat.signedUniform(bits)
            let edge = table.x[layer]
            if abs(u) < table.ratio[layer] { return u * edge }
            if layer == 0 { return tail(negative: u < 0) }
            let z = u * edge
            let f0 = exp(-0.5 * (edge * edge - z * z))
            let f1 = exp(-0.5 * (table.x[layer + 1] * table.x[layer + 1] - z * z))
            if f1 + nextUniform() * (f0 - f1) < 1 { return z }
            bits = UInt64(nextUInt32()) << 32 | UInt64(nextUInt32())
        }
    }
}

extension Ziggurat {
    /// A layer's edge x_i and ratio x_(i+1) / x_i side by side: one cache line holds four layers'.
    struct Layer: Sendable {
        let edge: Double
        let ratio: Double
    }

    /// u = 2 m - 3 in [-1, 1) for m in [1, 2) built from the top 52 bits (the layer takes the low 7).
    @inline(__always)
    static func signedUniform(_ bits: SIMD4<UInt64>) -> SIMD4<Double> {
        let m = unsafeBitCast(bits &>> 12 | 0x3FF0_0000_0000_0000, to: SIMD4<Double>.self)
        return 2 * m - 3
    }

    @inline(__always)
    static func signedUniform(_ bits: UInt64) -> Double {
        2 * Double(bitPattern: bits >> 12 | 0x3FF0_0000_0000_0000) - 3
    }
}
