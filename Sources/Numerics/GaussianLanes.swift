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
/// Philox block floor(j / 2): 97.2% of them are accepted there, so eight lanes almost always
/// advance together. A rejected one goes on in a continuation stream of its own, the same stream's
/// blocks from 2^31 + 64 j on, so no lane waits for another and every number depends on (stream, j)
/// alone. `addressedGaussian(_:)` is the scalar definition the lanes reproduce bit for bit. The
/// rejected lanes are set aside and finished after the vector loop, eight at a time (`finish`).
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
            _ layers: UnsafePointer<Ziggurat.Layer>, _ rejected: Rejected
        ) {
            addOne(
                2 * q, bits: w0 &<< 32 | w1 & low, w0 & high | w1 &>> 32, scales: scales, unused: unused,
                layers: layers, to: destination, rejected: rejected)
            if 2 * q + 1 < count {
                addOne(
                    2 * q + 1, bits: w2 &<< 32 | w3 & low, w2 & high | w3 &>> 32, scales: scales, unused: unused,
                    layers: layers, to: destination, rejected: rejected)
            }
            if rejected.count.pointee > Rejected.capacity - 2 {
                finish(rejected, scale: scale, layers: layers, to: destination)
            }
        }
        let blocks = (count + 1) / 2
        // Room for the records of rejected draws (`Rejected`) and their count, on the stack.
        withUnsafeTemporaryAllocation(of: Int64.self, capacity: Rejected.words * Rejected.capacity + 1) { room in
            let rejected = Rejected(room.baseAddress!)
            Ziggurat.shared.layerTable.withUnsafeBufferPointer { table in
                let layers = table.baseAddress!
                addBlocks(blocks, layers, rejected)
                finish(rejected, scale: scale, layers: layers, to: destination)
            }
        }

        func addBlocks(_ blocks: Int, _ layers: UnsafePointer<Ziggurat.Layer>, _ rejected: Rejected) {
            var q = 0
            // Blocks q and q + 1 together, two independent Philox chains in flight.
            while q + 1 < blocks {
                let pair = SIMD4<UInt64>(repeating: UInt64(q) << 32 | UInt64(q))
                let next = SIMD4<UInt64>(repeating: UInt64(q + 1) << 32 | UInt64(q + 1))
                let (w0, w1, w2, w3) = generator.pairedBlocks16(
                    SIMD8(lowHalf: pair, highHalf: next), SIMD8(lowHalf: index, highHalf: index),
                    SIMD8(lowHalf: step, highHalf: step), SIMD8(lowHalf: tail, highHalf: tail))
                addBlock(q, w0.lowHalf, w1.lowHalf, w2.lowHalf, w3.lowHalf, layers, rejected)
                addBlock(q + 1, w0.highHalf, w1.highHalf, w2.highHalf, w3.highHalf, layers, rejected)
                q += 2
            }
            if q < blocks {
                let (w0, w1, w2, w3) = generator.pairedBlocks8(
                    SIMD4(repeating: UInt64(q) << 32 | UInt64(q)), index, step, tail)
                addBlock(q, w0, w1, w2, w3, layers, rejected)
            }
        }
    }

    /// Gaussian j of the eight lanes, from the first attempts' bits of lanes 0..<4 and 4..<8.
    @inline(__always)
    private func addOne(
        _ j: Int, bits first: SIMD4<UInt64>, _ second: SIMD4<UInt64>, scales: SIMD8<Double>,
        unused: SIMDMask<SIMD8<Int64>>, layers: UnsafePointer<Ziggurat.Layer>,
        to destination: UnsafeMutablePointer<Double>, rejected: Rejected
    ) {
        let bits = SIMD8(lowHalf: first, highHalf: second)
        let u = SIMD8(lowHalf: Ziggurat.signedUniform(first), highHalf: Ziggurat.signedUniform(second))
        var edge = SIMD8<Double>(), ratio = SIMD8<Double>()
        for k in 0..<8 {
            let layer = layers[Int(truncatingIfNeeded: bits[k] & 0x7F)]
            edge[k] = layer.edge
            ratio[k] = layer.ratio
        }
        let z = u * edge
        let magnitude = unsafeBitCast(
            unsafeBitCast(u, to: SIMD8<UInt64>.self) & 0x7FFF_FFFF_FFFF_FFFF, to: SIMD8<Double>.self)
        // Accepted, or a lane that is not drawn.
        let accepted = (magnitude .< ratio) .| unused
        let target = UnsafeMutableRawPointer(destination + 8 * j)
        let old = target.loadUnaligned(as: SIMD8<Double>.self)
        var sum = old + scales * z
        // A rejected lane keeps its value until `finish` adds its Gaussian, the same sum as if it were
        // added here. No branch: a fifth of the draws of eight lanes have a rejected lane, at random.
        sum.replace(with: old, where: .!accepted)
        target.storeBytes(of: sum, as: SIMD8<Double>.self)
        let lanes = unsafeBitCast(.!accepted, to: SIMD8<Int64>.self) & SIMD8(1, 2, 4, 8, 16, 32, 64, 128)
        rejected.append(j: j, lanes: lanes.wrappedSum(), bits: bits)
    }

    /// The draws with a rejected first attempt (about 2.8% of lanes, a fifth of the draws of eight),
    /// kept on the stack until `finish` completes them: per draw, j, the rejected lanes as bits, and
    /// the eight lanes' first bits.
    struct Rejected {
        // 12 records and the count fit the 1 KB that withUnsafeTemporaryAllocation keeps on the stack
        // (beyond it, or above 16-byte alignment, it calls malloc: a test counts the allocations).
        static let capacity = 12
        static let words = 10
        let count: UnsafeMutablePointer<Int>
        let records: UnsafeMutablePointer<Int64>

        /// `room`: capacity records and the count.
        init(_ room: UnsafeMutablePointer<Int64>) {
            count = UnsafeMutableRawPointer(room).assumingMemoryBound(to: Int.self)
            count.pointee = 0
            records = room + 1
        }

        /// Writes the record whatever `lanes`, and keeps it only when a lane was rejected.
        @inline(__always)
        func append(j: Int, lanes: Int64, bits: SIMD8<UInt64>) {
            let record = records + Self.words * count.pointee
            record[0] = Int64(j)
            record[1] = lanes
            UnsafeMutableRawPointer(record + 2).storeBytes(of: bits, as: SIMD8<UInt64>.self)
            count.pointee += lanes == 0 ? 0 : 1
        }
    }

    /// Completes the rejected lanes and empties the list: `RandomStream.finishGaussian` on each one's
    /// continuation stream, eight lanes at a time so that each round's Philox blocks (one block per
    /// round: the wedge test's uniform, then the next attempt's bits) are one SIMD call. Done one lane
    /// at a time, a stream each, the 2.8% cost more than the accepted rest.
    @inline(never)
    private func finish(
        _ rejected: Rejected, scale: Double, layers: UnsafePointer<Ziggurat.Layer>,
        to destination: UnsafeMutablePointer<Double>
    ) {
        // The lanes' scalars live in memory, not in SIMD values: writing one lane of a vector and then
        // reading the vector stalls on store forwarding, which cost more than the arithmetic here.
        withUnsafeTemporaryAllocation(byteCount: 640, alignment: 16) { room in
            let base = room.baseAddress!
            let slots = base.bindMemory(to: Int.self, capacity: 8)
            let bits = (base + 64).bindMemory(to: UInt64.self, capacity: 8)
            let z = (base + 128).bindMemory(to: Double.self, capacity: 8)
            let wedges = (base + 192).bindMemory(to: Ziggurat.Wedge.self, capacity: 8)
            let block = (base + 384).bindMemory(to: UInt32.self, capacity: 8)
            let index = (base + 416).bindMemory(to: UInt32.self, capacity: 8)
            let words = (base + 448).bindMemory(to: UInt32.self, capacity: 32)
            var record = 0, remaining = rejected.count.pointee > 0 ? rejected.records[1] : 0
            while record < rejected.count.pointee {
                // Up to eight rejected lanes from the records, in order.
                var lanes = 0
                while lanes < 8 && record < rejected.count.pointee {
                    let r = rejected.records + Rejected.words * record
                    let k = remaining.trailingZeroBitCount
                    slots[lanes] = 8 * Int(r[0]) + k
                    block[lanes] = Self.continuationBase &+ 64 &* UInt32(truncatingIfNeeded: r[0])
                    index[lanes] = indices[k]
                    bits[lanes] = UInt64(bitPattern: r[2 + k])
                    lanes += 1
                    remaining &= remaining - 1
                    if remaining == 0 {
                        record += 1
                        if record < rejected.count.pointee { remaining = rejected.records[Rejected.words * record + 1] }
                    }
                }
                var pending: UInt8 = lanes == 8 ? 0xFF : (1 << lanes) - 1
                while true {
                    for i in 0..<lanes where pending & (1 << i) != 0 {
                        let layer = Int(truncatingIfNeeded: bits[i] & 0x7F)
                        switch Ziggurat.attempt(Ziggurat.signedUniform(bits[i]), layer: layer, layers) {
                        case .accepted(let normal):
                            z[i] = normal
                            pending &= ~(1 << i)
                        case .tail(let negative):
                            var stream = RandomStream(
                                seed: seed, node: node, step: Int(step), purpose: purpose, index: Int(index[i]))
                            stream.seek(toBlock: block[i])
                            z[i] = stream.tail(negative: negative)
                            pending &= ~(1 << i)
                        case .wedge(let wedge): wedges[i] = wedge
                        }
                    }
                    if pending == 0 { break }
                    let counters = UnsafeRawPointer(block).loadUnaligned(as: SIMD8<UInt32>.self)
                    let (w0, w1, w2, w3) = generator.blocks8(
                        counters: counters, UnsafeRawPointer(index).loadUnaligned(as: SIMD8<UInt32>.self), step, tail)
                    UnsafeMutableRawPointer(block).storeBytes(of: counters &+ 1, as: SIMD8<UInt32>.self)
                    let out = UnsafeMutableRawPointer(words)
                    out.storeBytes(of: w0, as: SIMD8<UInt32>.self)
                    out.storeBytes(of: w1, toByteOffset: 32, as: SIMD8<UInt32>.self)
                    out.storeBytes(of: w2, toByteOffset: 64, as: SIMD8<UInt32>.self)
                    out.storeBytes(of: w3, toByteOffset: 96, as: SIMD8<UInt32>.self)
                    for i in 0..<lanes where pending & (1 << i) != 0 {
                        if wedges[i].accepts(RandomStream.uniform(words[i], words[8 + i])) {
                            z[i] = wedges[i].z
                            pending &= ~(1 << i)
                        } else {
                            bits[i] = UInt64(words[16 + i]) << 32 | UInt64(words[24 + i])
                        }
                    }
                }
                for i in 0..<lanes { destination[slots[i]] += scale * z[i] }
            }
        }
        rejected.count.pointee = 0
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
        Ziggurat.shared.layerTable.withUnsafeBufferPointer { layers in
            var bits = first
            while true {
                switch Ziggurat.attempt(Ziggurat.signedUniform(bits), layer: Int(bits & 0x7F), layers.baseAddress!) {
                case .accepted(let z): return z
                case .tail(let negative): return tail(negative: negative)
                case .wedge(let wedge): if wedge.accepts(nextUniform()) { return wedge.z }
                }
                bits = UInt64(nextUInt32()) << 32 | UInt64(nextUInt32())
            }
        }
    }
}

extension Ziggurat {
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
