import LSTM
import Numerics
import Testing
import Trainers

@Suite("the particle store")
struct ParticleStoreTests {
    static let shape = LSTMShape(hidden: 2, input: 3)

    static func store(count: Int, firstID: Int = 0) -> ParticleStore {
        ParticleStore(
            shape: shape, count: count, firstID: firstID, initialSpread: 0.5, centre: nil, seed: 3, node: 1)
    }

    /// `store` weighed as the filters weigh it: every particle evaluated on a two-column sequence, then
    /// log N(label; h_i, variance) added to every slot. The log-weights differ from particle to particle.
    static func weighed(count: Int, firstID: Int = 0, label: Double, variance: Double) -> ParticleStore {
        var store = Self.store(count: count, firstID: firstID)
        let sample = Sample(inputs: [0.3, -0.2, 0.5, 0.1, 0.4, -0.6], length: 2, label: label)
        store.evaluate(sample, with: ParticleKernel(shape: shape))
        store.weigh(label: label, variance: variance, exponent: 1, slots: Array(0..<count))
        #expect(Set(store.logWeights.prefix(count)).count == count)
        return store
    }

    /// The walk's messages: what a node packs for two neighbours, in one pass, and a neighbour
    /// assembles, id, log-weight and theta intact: runs of particles in one group, a group split
    /// between the messages, messages that held more or less than they now need, a full group of
    /// eight records (assembled by transposing blocks) and a group mixing the store and messages.
    @Test("packed particles are assembled whole: id, log-weight and theta, a group at a time")
    func packAndAssemble() {
        let source = Self.weighed(count: 20, firstID: 40, label: 0.3, variance: 0.1)
        let selected = [[1, 2, 9, 10, 17], [0, 3, 4, 5, 6, 7, 8, 11, 19]]
        var messages = [[Double](repeating: .nan, count: 9 * source.packedSize + 3), [1, 2]]
        var destinations: [Int] = []
        source.pack(selected, into: &messages, destinations: &destinations)
        for b in 0..<2 { #expect(messages[b].count == selected[b].count * source.packedSize) }
        // The second message's first eight records (a full group from messages), particle 12 from the
        // store, the first message's five: 14 in all.
        let order: [(message: Int, at: Int)] =
            (0..<8).map { (1, $0) } + [(-1, 12)] + selected[0].indices.map { (0, $0) }
        var target = ParticleStore(emptyLike: source)
        let record = source.packedSize
        messages[0].withUnsafeBufferPointer { first in
            messages[1].withUnsafeBufferPointer { second in
                source.parameters.values.withUnsafeBufferPointer { values in
                    target.assemble(count: order.count) { k in
                        let (message, at) = order[k]
                        if message >= 0 {
                            let base = (message == 0 ? first : second).baseAddress! + at * record
                            return ParticleSource(id: Int(base[0]), logWeight: base[1], theta: base + 2, stride: 1)
                        }
                        return ParticleSource(
                            id: source.ids[at], logWeight: source.logWeights[at],
                            theta: values.baseAddress! + source.parameters.index(parameter: 0, particle: at),
                            stride: ParticleParameters.laneWidth)
                    }
                }
            }
        }
        #expect(target.count == order.count)
        for (slot, (message, at)) in order.enumerated() {
            let i = message >= 0 ? selected[message][at] : at
            #expect(target.ids[slot] == source.ids[i])
            #expect(target.logWeights[slot] == source.logWeights[i])
            #expect(target.particle(slot) == source.particle(i))
        }
    }

    @Test("resampling copies the ancestors, gives slot ids from firstID and zero log-weights")
    func selection() {
        let source = Self.weighed(count: 9, label: 1, variance: 0.5)
        let ancestors = [8, 8, 3, 0, 5, 5, 5]
        // Into a store whose room held weighted particles: none of their log-weights may survive.
        var next = source
        next.select(ancestors, from: source, firstID: 70)
        #expect(next.ids == Array(70..<77))
        #expect(next.logWeights.prefix(7).allSatisfy { $0 == 0 })
        for (k, a) in ancestors.enumerated() { #expect(next.particle(k) == source.particle(a)) }
    }

    /// Keyed jitter is what makes a DPF run the same on any transport: a particle's noise follows
    /// its id, not its slot.
    @Test("jitter follows the particle's id, not its slot")
    func jitterFollowsIDs() {
        let original = Self.store(count: 10)
        var reversed = ParticleStore(emptyLike: original)
        original.parameters.values.withUnsafeBufferPointer { values in
            reversed.assemble(count: 10) { original.source(9 - $0, in: values.baseAddress!) }
        }
        #expect(reversed.ids == Array((0..<10).reversed()))
        var forward = original
        forward.jitter(variance: 0.01, seed: 5, node: 2, step: 7)
        reversed.jitter(variance: 0.01, seed: 5, node: 2, step: 7)
        for i in 0..<10 {
            #expect(reversed.particle(9 - i) == forward.particle(i))
            #expect(forward.particle(i) != original.particle(i))
        }
    }

    /// Two groups, one partial; a particle of weight 0 whose theta diverged must not make it NaN.
    @Test("the weighted mean is sum_i w_i theta_i, a zero-weight NaN particle left out")
    func weightedMean() {
        let finite = Self.store(count: 13)
        let nan = [Double](repeating: .nan, count: Self.shape.parameterCount)
        var store = ParticleStore(emptyLike: finite)
        finite.parameters.values.withUnsafeBufferPointer { values in
            nan.withUnsafeBufferPointer { nan in
                store.assemble(count: 14) {
                    $0 < 13
                        ? finite.source($0, in: values.baseAddress!)
                        : ParticleSource(id: 99, logWeight: 0, theta: nan.baseAddress!, stride: 1)
                }
            }
        }
        #expect(store.particle(13).allSatisfy { $0.isNaN })
        let w = [0.1, 0.2, 0, 0.3, 0.05, 0.05, 0.01, 0.04, 0.05, 0, 0.1, 0.07, 0.03, 0]
        var mean = [Double](repeating: .nan, count: Self.shape.parameterCount)
        store.weightedMean(w, into: &mean)
        for j in mean.indices {
            let expected = (0..<13).reduce(0.0) { $0 + w[$1] * store.particle($1)[j] }
            #expect(abs(mean[j] - expected) < 1e-15)
        }
    }
}
