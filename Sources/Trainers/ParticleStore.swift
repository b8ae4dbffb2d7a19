import Foundation
import LSTM
import Numerics

/// One node's weighted particles, owned across steps in the kernel's layout: the parameter vectors
/// theta (`ParticleParameters`, eight particles to a SIMD group), their global ids, which key every
/// random number a particle draws, and their log-weights. The PF, the DPF and the centralized PF keep
/// their clouds here: jitter, evaluate, weigh, estimate, select; the DPF adds the walk's messages
/// (`pack`, `replaceGroups`). The end of a step (normalising, the fallback, resampling) is `SMCStepEnd`.
///
/// Every buffer is kept between steps and only grows, so a step in steady state allocates nothing.
public struct ParticleStore {
    public let shape: LSTMShape
    public private(set) var parameters: ParticleParameters
    /// Global ids: particle i's random numbers are keyed by ids[i], not by where it is.
    public private(set) var ids: [Int]
    /// Unnormalised; the first `count` entries are the particles'.
    public private(set) var logWeights: [Double]
    /// What the kernel computed on the last `evaluate`: `output.estimates[i]` is h(theta_i).
    public private(set) var output = KernelOutput()

    /// N particles drawn from N(centre, initialSpread^2 I) (centre 0 unless given), ids
    /// firstID..<firstID+N, each from its stream (seed, node, initialization, id).
    public init(
        shape: LSTMShape, count: Int, firstID: Int, initialSpread: Double, centre: [Double]?, seed: UInt64,
        node: Int
    ) {
        self.shape = shape
        parameters = ParticleParameters(shape: shape, count: count)
        ids = Array(firstID..<(firstID + count))
        logWeights = [Double](repeating: 0, count: count)
        let nTheta = shape.parameterCount, width = ParticleParameters.laneWidth
        parameters.values.withUnsafeMutableBufferPointer { [ids] values in
            for (i, id) in ids.enumerated() {
                let base = values.baseAddress! + Self.start(of: i, nTheta: nTheta)
                if let centre { for j in 0..<nTheta { base[j * width] = centre[j] } }
                var random = RandomStream(seed: seed, node: node, step: 0, purpose: .initialization, index: id)
                random.addGaussians(scale: initialSpread, to: base, count: nTheta, stride: width)
            }
        }
    }

    /// An empty store with the room of `like`, for the particles a step moves or selects.
    public init(emptyLike like: ParticleStore) {
        shape = like.shape
        parameters = ParticleParameters(shape: like.shape, count: like.count)
        parameters.resize(to: 0)
        ids = []
        ids.reserveCapacity(like.count)
        logWeights = [Double](repeating: 0, count: like.count)
    }

    public var count: Int { ids.count }

    /// theta_i as an array (for reports and checkpoints; the hot paths read the layout directly).
    public func particle(_ i: Int) -> [Double] { parameters.particle(i) }

    /// Puts back particles saved by a checkpoint.
    public mutating func restore(ids newIDs: [Int], particles flat: [Double], logWeights newLogWeights: [Double]) {
        precondition(flat.count == newIDs.count * shape.parameterCount && newLogWeights.count == newIDs.count)
        let nTheta = shape.parameterCount
        flat.withUnsafeBufferPointer { theta in
            assemble(count: newIDs.count) {
                ParticleSource(
                    id: newIDs[$0], logWeight: newLogWeights[$0], theta: theta.baseAddress! + $0 * nTheta, stride: 1)
            }
        }
    }

    // MARK: The transition prior

    /// theta_i += N(0, variance I), element j from Gaussian j of the stream (seed, node, step, jitter,
    /// id_i): the noise a particle gets does not depend on where it is or in which order particles are
    /// visited. A group's eight particles draw side by side, element j of all eight one vector.
    public mutating func jitter(variance: Double, seed: UInt64, node: Int, step: Int) {
        let sd = variance.squareRoot(), nTheta = shape.parameterCount, width = ParticleParameters.laneWidth
        let n = count
        parameters.values.withUnsafeMutableBufferPointer { [ids] values in
            for group in 0..<(n + width - 1) / width {
                let lanes = min(width, n - group * width)
                var indices = SIMD8<UInt32>(repeating: 0)
                for k in 0..<lanes { indices[k] = UInt32(ids[group * width + k]) }
                GaussianLanes(seed: seed, node: node, step: step, purpose: .jitter, indices: indices).add(
                    scale: sd, to: values.baseAddress! + group * nTheta * width, count: nTheta, lanes: lanes)
            }
        }
    }

    /// Liu-West: theta <- a theta + (1 - a) mean + N(0, h^2 V), a = sqrt(1 - h^2), V the diagonal of
    /// the weighted covariance under `weights`: shrinks toward the mean so the cloud does not keep
    /// widening.
    public mutating func shrinkAndJitter(shrinkage h: Double, weights: [Double], seed: UInt64, node: Int, step: Int) {
        let nTheta = shape.parameterCount
        let a = (1 - h * h).squareRoot()
        var mean = [Double](repeating: 0, count: nTheta)
        weightedMean(weights, into: &mean)
        var variance = [Double](repeating: 0, count: nTheta)
        for i in 0..<count {
            for j in 0..<nTheta {
                let d = parameters[parameter: j, particle: i] - mean[j]
                variance[j] += weights[i] * d * d
            }
        }
        for i in 0..<count {
            var random = RandomStream(seed: seed, node: node, step: step, purpose: .jitter, index: ids[i])
            for j in 0..<nTheta {
                let index = parameters.index(parameter: j, particle: i)
                parameters.values[index] =
                    a * parameters.values[index] + (1 - a) * mean[j]
                    + h * variance[j].squareRoot() * random.nextGaussian()
            }
        }
    }

    // MARK: Evaluation and weights

    /// h(theta_i) on `sample` for every particle, into `output.estimates`; carried (c_bar, y_bar)
    /// start each particle from its own state when given (n x paddedCount).
    /// With `groups`, only the particles of those lane groups are evaluated; the others' estimates
    /// are kept.
    public mutating func evaluate(
        _ sample: Sample, groups: Range<Int>? = nil, with kernel: ParticleKernel, initialCell: [Double]? = nil,
        initialOutput: [Double]? = nil
    ) {
        guard count > 0 else { return }
        kernel.evaluate(
            parameters, groups: groups, sample: sample, initialCell: initialCell, initialOutput: initialOutput,
            into: &output)
    }

    /// The mean of h(theta_i) from the last evaluation, in particle order: the prediction of an
    /// equally weighted cloud.
    public var meanPrediction: Double {
        var sum = 0.0
        for i in 0..<count { sum += output.estimates[i] }
        return sum / Double(count)
    }

    /// logWeights_i += exponent * log N(d; h_i, variance) for the particles in `slots`, h_i from the
    /// evaluation that last covered slot i.
    public mutating func weigh(label d: Double, variance: Double, exponent: Double, slots: [Int]) {
        let likelihood = GaussianLikelihood(variance: variance)
        output.estimates.withUnsafeBufferPointer { estimates in
            logWeights.withUnsafeMutableBufferPointer { logWeights in
                for i in slots { logWeights[i] += exponent * likelihood.logDensity(d, estimates[i]) }
            }
        }
    }

    /// Sets the log-weights of `slots` to 0.
    public mutating func clearLogWeights(_ slots: Range<Int>) {
        for i in slots { logWeights[i] = 0 }
    }

    /// sum_i w_i theta_i (eq. 18). A group's eight particles are read together, element j of all eight
    /// one cache line and one vector: a group's eight terms are summed pairwise,
    /// ((0 + 4) + (2 + 6)) + ((1 + 5) + (3 + 7)), and the groups in order, a fixed order on every
    /// transport. A particle of weight 0 adds nothing, not even the NaN of a diverged theta.
    public func weightedMean(_ w: [Double], into mean: inout [Double]) {
        weightedMean(w, count: count, fromGroup: 0, into: &mean)
    }

    /// `weightedMean` of the `n` particles from group `firstGroup` on.
    private func weightedMean(_ w: [Double], count n: Int, fromGroup firstGroup: Int, into mean: inout [Double]) {
        let nTheta = shape.parameterCount, width = ParticleParameters.laneWidth
        for j in 0..<nTheta { mean[j] = 0 }
        parameters.values.withUnsafeBufferPointer { values in
            mean.withUnsafeMutableBufferPointer { mean in
                for group in 0..<(n + width - 1) / width {
                    let first = group * width
                    var weights = SIMD8<Double>(repeating: 0)
                    for k in 0..<min(width, n - first) where w[first + k] > 0 { weights[k] = w[first + k] }
                    let silent = weights .== 0
                    let base = UnsafeRawPointer(values.baseAddress! + (firstGroup + group) * nTheta * width)
                    for j in 0..<nTheta {
                        var terms = weights * base.loadUnaligned(fromByteOffset: j * width * 8, as: SIMD8<Double>.self)
                        terms.replace(with: 0, where: silent)
                        let four = terms.lowHalf + terms.highHalf, two = four.lowHalf + four.highHalf
                        mean[j] += two[0] + two[1]
                    }
                }
            }
        }
    }

    /// `weightedMean` of the particles in `slots`, slots[i] weighted by w[i]: the same sums, in the same
    /// order, as `weightedMean` of a store holding those particles at 0..<slots.count (each group's
    /// line is gathered from the slots' lanes instead of loaded).
    public func weightedMean(_ w: [Double], slots: [Int], into mean: inout [Double]) {
        let nTheta = shape.parameterCount, width = ParticleParameters.laneWidth, n = slots.count
        // Consecutive slots from a group's start (the last move's arrivals, when nothing stayed):
        // their lines are loaded, not gathered.
        if let first = slots.first, first % width == 0, slots.indices.allSatisfy({ slots[$0] == first + $0 }) {
            weightedMean(w, count: n, fromGroup: first / width, into: &mean)
            return
        }
        for j in 0..<nTheta { mean[j] = 0 }
        parameters.values.withUnsafeBufferPointer { values in
            mean.withUnsafeMutableBufferPointer { mean in
                for group in 0..<(n + width - 1) / width {
                    let first = group * width, lanes = min(width, n - first)
                    var weights = SIMD8<Double>(repeating: 0)
                    for k in 0..<lanes where w[first + k] > 0 { weights[k] = w[first + k] }
                    let silent = weights .== 0
                    // A lane without a particle reads slot 0's line (and is silent).
                    let base = values.baseAddress!
                    func at(_ k: Int) -> UnsafePointer<Double> {
                        k < lanes ? base + Self.start(of: slots[first + k], nTheta: nTheta) : base
                    }
                    let (p0, p1, p2, p3, p4, p5, p6, p7) = (at(0), at(1), at(2), at(3), at(4), at(5), at(6), at(7))
                    for j in 0..<nTheta {
                        let o = j * width
                        let line = SIMD8(p0[o], p1[o], p2[o], p3[o], p4[o], p5[o], p6[o], p7[o])
                        var terms = weights * line
                        terms.replace(with: 0, where: silent)
                        let four = terms.lowHalf + terms.highHalf, two = four.lowHalf + four.highHalf
                        mean[j] += two[0] + two[1]
                    }
                }
            }
        }
    }

    /// The weighted mean under the last normalised weights.

    // MARK: Selection and movement

    /// Replaces the particles by copies of `source`'s particles at `ancestors` (`source` may not be
    /// this store), with ids firstID..<firstID+count and log-weights 0: offspring take their slot's
    /// id, so ids stay unique and each offspring jitters independently.
    public mutating func select(_ ancestors: [Int], from source: ParticleStore, firstID: Int) {
        source.parameters.values.withUnsafeBufferPointer { values in
            let nTheta = shape.parameterCount
            assemble(count: ancestors.count) { k in
                ParticleSource(
                    id: firstID + k, logWeight: 0,
                    theta: values.baseAddress! + Self.start(of: ancestors[k], nTheta: nTheta),
                    stride: ParticleParameters.laneWidth)
            }
        }
    }

    /// Slot i as a source for `assemble` or `replaceGroups`, with its own id and log-weight; `values` is
    /// this store's `parameters.values`, borrowed by the caller.
    public func source(_ i: Int, in values: UnsafePointer<Double>) -> ParticleSource {
        ParticleSource(
            id: ids[i], logWeight: logWeights[i],
            theta: values + Self.start(of: i, nTheta: shape.parameterCount), stride: ParticleParameters.laneWidth)
    }

    /// Replaces the particles by `n` others, particle k from `source(k)`. The store is filled a group of
    /// eight at a time, element j of the eight written together: that is one cache line of the layout,
    /// where copying particle by particle would visit every line eight times (at n = 32 a group is
    /// 534 KB, and a particle's 8352 elements are 8352 lines).
    public mutating func assemble(count n: Int, _ source: (Int) -> ParticleSource) {
        ids.removeAll(keepingCapacity: true)
        write(at: 0, count: n, source)
    }

    /// Puts `n` particles, particle k from `source(k)`, at slots first..<first+n, in lane groups of
    /// their own (`first` a whole number of groups), and drops the slots after them. Slots between
    /// the old count and `first` get id -1 (no particle).
    public mutating func replaceGroups(from first: Int, count n: Int, _ source: (Int) -> ParticleSource) {
        precondition(first >= 0 && first % ParticleParameters.laneWidth == 0)
        if ids.count > first { ids.removeLast(ids.count - first) }
        while ids.count < first { ids.append(-1) }
        write(at: first, count: n, source)
    }

    /// Writes `n` particles at slots start..<start+n (start a whole number of groups; ids holds
    /// exactly `start` entries).
    private mutating func write(at start: Int, count n: Int, _ source: (Int) -> ParticleSource) {
        for k in 0..<n { ids.append(source(k).id) }
        parameters.resize(to: start + n)
        growLogWeights()
        for k in 0..<n { logWeights[start + k] = source(k).logWeight }
        let nTheta = shape.parameterCount, width = ParticleParameters.laneWidth
        parameters.values.withUnsafeMutableBufferPointer { values in
            withUnsafeTemporaryAllocation(of: ParticleSource.self, capacity: width) { lanes in
                for group in 0..<(n + width - 1) / width {
                    let first = group * width, count = min(width, n - first)
                    for k in 0..<count { lanes[k] = source(first + k) }
                    let base = values.baseAddress! + (start / width + group) * nTheta * width
                    // Eight elements at a time: a 512-byte block of the group out, eight elements of
                    // each source in.
                    var j = 0
                    if count == width {
                        // A full group: each line is built in a register from its eight sources and
                        // stored once, not written a lane at a time.
                        let s = (
                            lanes[0].stride, lanes[1].stride, lanes[2].stride, lanes[3].stride, lanes[4].stride,
                            lanes[5].stride, lanes[6].stride, lanes[7].stride
                        )
                        let f = (
                            lanes[0].theta, lanes[1].theta, lanes[2].theta, lanes[3].theta, lanes[4].theta,
                            lanes[5].theta, lanes[6].theta, lanes[7].theta
                        )
                        let to = UnsafeMutableRawPointer(base)
                        if (0..<width).allSatisfy({ lanes[$0].stride == 1 }) {
                            // Eight messages' records: eight elements of each are one load, and the 8 x 8
                            // block is transposed in registers into eight lines.
                            while j + 8 <= nTheta {
                                let r0 = Self.load8(f.0 + j), r1 = Self.load8(f.1 + j), r2 = Self.load8(f.2 + j)
                                let r3 = Self.load8(f.3 + j), r4 = Self.load8(f.4 + j), r5 = Self.load8(f.5 + j)
                                let r6 = Self.load8(f.6 + j), r7 = Self.load8(f.7 + j)
                                for t in 0..<8 {
                                    let line = SIMD8(r0[t], r1[t], r2[t], r3[t], r4[t], r5[t], r6[t], r7[t])
                                    to.storeBytes(of: line, toByteOffset: (j + t) * width * 8, as: SIMD8<Double>.self)
                                }
                                j += 8
                            }
                        }
                        if (0..<width).allSatisfy({ lanes[$0].stride == width }) {
                            // Eight particles of stores (a resampling): one offset for all eight.
                            while j < nTheta {
                                let o = j &* width
                                let line = SIMD8(f.0[o], f.1[o], f.2[o], f.3[o], f.4[o], f.5[o], f.6[o], f.7[o])
                                to.storeBytes(of: line, toByteOffset: o &* 8, as: SIMD8<Double>.self)
                                j += 1
                            }
                        }
                        while j < nTheta {
                            let line = SIMD8(
                                f.0[j &* s.0], f.1[j &* s.1], f.2[j &* s.2], f.3[j &* s.3], f.4[j &* s.4],
                                f.5[j &* s.5], f.6[j &* s.6], f.7[j &* s.7])
                            to.storeBytes(of: line, toByteOffset: j &* width &* 8, as: SIMD8<Double>.self)
                            j += 1
                        }
                    }
                    while j < nTheta {
                        let tile = min(8, nTheta - j)
                        for k in 0..<count {
                            let to = base + j * width + k, stride = lanes[k].stride, from = lanes[k].theta + j * stride
                            for t in 0..<tile { to[t * width] = from[t * stride] }
                        }
                        j += tile
                    }
                }
            }
        }
    }

    @inline(__always)
    private static func load8(_ pointer: UnsafePointer<Double>) -> SIMD8<Double> {
        UnsafeRawPointer(pointer).loadUnaligned(as: SIMD8<Double>.self)
    }

    /// Makes each `messages[b]` the particles at slots `selected[b]`, in that order, as
    /// [id, log-weight, theta...] each, written over what it held (a kept message is not cleared first:
    /// at n = 32 that is megabytes a move). One pass over the store's groups serves every message: the
    /// eight lines of a group's eight elements are loaded once and transposed in registers into eight
    /// elements of each of its particles, whichever message each goes to. `destinations` is room the
    /// caller keeps (a slot's record, by slot).
    public func pack(_ selected: [[Int]], into messages: inout [[Double]], destinations: inout [Int]) {
        precondition(selected.count == messages.count)
        let record = packedSize, nTheta = shape.parameterCount, width = ParticleParameters.laneWidth
        for b in messages.indices {
            let length = selected[b].count * record
            if messages[b].count > length { messages[b].removeLast(messages[b].count - length) }
            if messages[b].count < length {
                messages[b].append(contentsOf: repeatElement(0, count: length - messages[b].count))
            }
        }
        // A selected slot's message in the high half, its record in the low half; -1 when not sent.
        let slots = parameters.paddedCount
        if destinations.count < slots {
            destinations.append(contentsOf: repeatElement(-1, count: slots - destinations.count))
        }
        for i in 0..<slots { destinations[i] = -1 }
        for (b, list) in selected.enumerated() {
            for (q, slot) in list.enumerated() { destinations[slot] = b << 32 | q }
        }
        withMutableBaseAddresses(of: &messages) { bases in
            for (b, list) in selected.enumerated() {
                for (q, slot) in list.enumerated() {
                    bases[b][q * record] = Double(ids[slot])
                    bases[b][q * record + 1] = logWeights[slot]
                }
            }
            parameters.values.withUnsafeBufferPointer { values in
                destinations.withUnsafeBufferPointer { destinations in
                    withUnsafeTemporaryAllocation(of: UnsafeMutablePointer<Double>?.self, capacity: width) { to in
                        for group in 0..<parameters.groups {
                            var any = false
                            for k in 0..<width {
                                let d = destinations[group * width + k]
                                to[k] = d < 0 ? nil : bases[d >> 32] + (d & 0xFFFF_FFFF) * record + 2
                                any = any || d >= 0
                            }
                            guard any else { continue }
                            let base = UnsafeRawPointer(values.baseAddress! + group * nTheta * width)
                            var j = 0
                            while j + 8 <= nTheta {
                                let block = base + j * width * 8
                                let l0 = block.loadUnaligned(as: SIMD8<Double>.self)
                                let l1 = block.loadUnaligned(fromByteOffset: 64, as: SIMD8<Double>.self)
                                let l2 = block.loadUnaligned(fromByteOffset: 128, as: SIMD8<Double>.self)
                                let l3 = block.loadUnaligned(fromByteOffset: 192, as: SIMD8<Double>.self)
                                let l4 = block.loadUnaligned(fromByteOffset: 256, as: SIMD8<Double>.self)
                                let l5 = block.loadUnaligned(fromByteOffset: 320, as: SIMD8<Double>.self)
                                let l6 = block.loadUnaligned(fromByteOffset: 384, as: SIMD8<Double>.self)
                                let l7 = block.loadUnaligned(fromByteOffset: 448, as: SIMD8<Double>.self)
                                for k in 0..<8 {
                                    guard let record = to[k] else { continue }
                                    let row = SIMD8(l0[k], l1[k], l2[k], l3[k], l4[k], l5[k], l6[k], l7[k])
                                    UnsafeMutableRawPointer(record + j).storeBytes(of: row, as: SIMD8<Double>.self)
                                }
                                j += 8
                            }
                            let elements = base.assumingMemoryBound(to: Double.self)
                            for k in 0..<width {
                                guard let record = to[k] else { continue }
                                for t in j..<nTheta { record[t] = elements[t * width + k] }
                            }
                        }
                    }
                }
            }
        }
    }

    /// Numbers per particle in a message.
    public var packedSize: Int { 2 + shape.parameterCount }

    /// Where particle i's first parameter is in the layout (`ParticleParameters.index`).
    @inline(__always)
    private static func start(of i: Int, nTheta: Int) -> Int {
        let width = ParticleParameters.laneWidth
        return (i / width) * nTheta * width + i % width
    }

    private mutating func growLogWeights() {
        if logWeights.count < count { logWeights.append(contentsOf: repeatElement(0, count: count - logWeights.count)) }
    }
}

/// Where `ParticleStore.assemble` takes a particle from: its id, log-weight and theta, element j at
/// theta[j * stride] (stride 1 in a message, `ParticleParameters.laneWidth` in a store).
public struct ParticleSource {
    public var id: Int
    public var logWeight: Double
    public var theta: UnsafePointer<Double>
    public var stride: Int

    @inlinable
    public init(id: Int, logWeight: Double, theta: UnsafePointer<Double>, stride: Int) {
        (self.id, self.logWeight, self.theta, self.stride) = (id, logWeight, theta, stride)
    }
}
