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

    /// The walk's messages: what a node packs for two neighbours, in one pass, and a neighbour
    /// assembles, id, log-weight and theta intact: runs of particles in one group, a group split
    /// between the messages, messages that held more or less than they now need, a full group of
    /// eight records (assembled by transposing blocks) and a group mixing the store and messages.
    @Test("packed particles are assembled whole: id, log-weight and theta, a group at a time")
    func packAndAssemble() {
        var source = Self.store(count: 20, firstID: 40)
        source.weigh(label: 0.3, variance: 0.1, predictions: (0..<20).map { Double($0) / 10 })
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
        var source = Self.store(count: 9)
        source.weigh(label: 1, variance: 0.5, predictions: (0..<9).map { Double($0) })
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
        for i in (0..<10).reversed() { reversed.append(i, of: original) }
        var forward = original
        forward.jitter(variance: 0.01, seed: 5, node: 2, step: 7)
        reversed.jitter(variance: 0.01, seed: 5, node: 2, step: 7)
        for i in 0..<10 {
            #expect(reversed.particle(9 - i) == forward.particle(i))
            #expect(forward.particle(i) != original.particle(i))
        }
    }

    @Test("normalisation: weights sum to one; no finite weight falls back on equal weights and says so")
    func normalisation() {
        var store = Self.store(count: 6)
        store.weigh(label: 0, variance: 1, predictions: [0, 1, 2, 3, 4, .nan])
        let finite = store.normalizeWeights()
        #expect(finite)
        let weights = store.normalizedWeights
        #expect(abs(weights.reduce(0, +) - 1) < 1e-15)
        #expect(weights[5] == 0 && weights[0] > weights[1])
        store.setLogWeights([Double](repeating: -.infinity, count: 6))
        let stillFinite = store.normalizeWeights()
        #expect(!stillFinite)
        #expect(store.normalizedWeights == [Double](repeating: 1.0 / 6, count: 6))
    }

    /// Two groups, one partial; a particle of weight 0 whose theta diverged must not make it NaN.
    @Test("the weighted mean is sum_i w_i theta_i, a zero-weight NaN particle left out")
    func weightedMean() {
        var store = Self.store(count: 13)
        let nan = [Double](repeating: .nan, count: Self.shape.parameterCount)
        nan.withUnsafeBufferPointer { store.append(id: 99, logWeight: 0, theta: $0.baseAddress!) }
        let w = [0.1, 0.2, 0, 0.3, 0.05, 0.05, 0.01, 0.04, 0.05, 0, 0.1, 0.07, 0.03, 0]
        var mean = [Double](repeating: .nan, count: Self.shape.parameterCount)
        store.weightedMean(w, into: &mean)
        for j in mean.indices {
            let expected = (0..<13).reduce(0.0) { $0 + w[$1] * store.particle($1)[j] }
            #expect(abs(mean[j] - expected) < 1e-15)
        }
    }
}
