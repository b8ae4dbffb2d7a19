import LSTM
import Numerics
import Testing

/// Shapes (n, p, m) that cover n = 1, p = 1, m = 1 and larger mixed cases.
let derivativeCases: [(hidden: Int, input: Int, length: Int)] = [(1, 1, 1), (2, 2, 3), (3, 1, 5), (4, 3, 2), (2, 5, 7)]

@Suite("LSTM derivatives against central finite differences")
struct DerivativeTests {
    @Test(
        "d d_hat / d theta by backpropagation", arguments: Pooling.allCases,
        derivativeCases.indices.flatMap { [($0, false), ($0, true)] })
    func gradientMatchesFiniteDifferences(pooling: Pooling, shapeCase: (index: Int, directLink: Bool)) {
        let (caseIndex, directLink) = shapeCase
        let (n, p, m) = derivativeCases[caseIndex]
        let model = LSTMModel(shape: LSTMShape(hidden: n, input: p, directLink: directLink), pooling: pooling)
        let theta = randomVector(model.shape.parameterCount, seed: UInt64(100 + caseIndex))
        let sample = randomSample(length: m, input: p, seed: UInt64(200 + caseIndex))
        let (estimate, gradient) = model.gradient(theta: theta, sample: sample)
        #expect(abs(estimate - model.estimate(theta: theta, sample: sample)) < 1e-15)
        let numeric = finiteDifferenceJacobian(at: theta) { [model.estimate(theta: $0, sample: sample)] }[0]
        let error = relativeError(gradient, numeric)
        #expect(error < 1e-6, "n=\(n) p=\(p) m=\(m) \(pooling) direct=\(directLink): relative error \(error)")
    }

    @Test("F = d phi / d a of the state-space form", arguments: Pooling.allCases, [false, true])
    func transitionJacobianMatchesFiniteDifferences(pooling: Pooling, carryState: Bool) {
        for (index, (n, p, m)) in derivativeCases.enumerated() {
            // The direct link on every other case: v is static, like the rest of theta.
            let system = LSTMStateSpace(
                model: LSTMModel(shape: LSTMShape(hidden: n, input: p, directLink: index % 2 == 1), pooling: pooling),
                carryState: carryState)
            let state = randomVector(system.shape.stateCount, seed: UInt64(300 + index))
            let sample = randomSample(length: m, input: p, seed: UInt64(400 + index))
            let analytic = system.fullJacobian(state, sample: sample)
            let numeric = finiteDifferenceJacobian(at: state) {
                system.transition($0, sample: sample, jacobian: false).state
            }
            let error = relativeError(analytic.elements, numeric.flatMap { $0 })
            #expect(error < 1e-6, "n=\(n) p=\(p) m=\(m) \(pooling) carry=\(carryState): relative error \(error)")
            if !carryState {
                // Without carried state, phi does not depend on the previous (c_bar, y_bar).
                let stateColumns = (0..<(2 * n)).flatMap { row in (0..<(2 * n)).map { analytic[row, $0] } }
                #expect(stateColumns.allSatisfy { $0 == 0 })
            }
        }
    }

    @Test("H = dh/da of the observation w^T y_bar (+ v^T x^(m))", arguments: [false, true])
    func observationJacobianMatchesFiniteDifferences(directLink: Bool) {
        for (index, (n, p, m)) in derivativeCases.enumerated() {
            let system = LSTMStateSpace(model: LSTMModel(shape: LSTMShape(hidden: n, input: p, directLink: directLink)))
            let state = randomVector(system.shape.stateCount, seed: UInt64(500 + index))
            let sample = randomSample(length: m, input: p, seed: UInt64(600 + index))
            let numeric = finiteDifferenceJacobian(at: state) { [system.observation($0, sample: sample)] }[0]
            #expect(relativeError(system.observationJacobian(state, sample: sample), numeric) < 1e-6)
            // h at a state phi produced is the model's d_hat for that sample.
            let next = system.transition(state, sample: sample, jacobian: false).state
            let estimate = system.model.estimate(theta: system.parameters(of: next), sample: sample)
            #expect(abs(system.observation(next, sample: sample) - estimate) < 1e-14)
        }
    }

    @Test("the layout has n_theta = 4n(n+p) + 5n, every index used once")
    func parameterLayoutIsABijection() {
        let shape = LSTMShape(hidden: 3, input: 2)
        #expect(shape.parameterCount == 4 * 3 * 5 + 15)
        var seen = Set<Int>()
        for k in 0..<shape.hidden { seen.insert(shape.regressionOffset + k) }
        for r in 0..<shape.gateRows {
            for q in 0..<shape.input { seen.insert(shape.inputWeightIndex(row: r, input: q)) }
            for j in 0..<shape.hidden { seen.insert(shape.recurrentWeightIndex(row: r, hidden: j)) }
            seen.insert(shape.biasIndex(row: r))
        }
        #expect(seen == Set(0..<shape.parameterCount))
        #expect(LSTMShape(hidden: 2, input: 2).parameterCount == 42)
    }

    @Test("the direct link appends v (p numbers) and moves nothing else")
    func directLinkComesLast() {
        let plain = LSTMShape(hidden: 3, input: 2), linked = LSTMShape(hidden: 3, input: 2, directLink: true)
        #expect(linked.parameterCount == plain.parameterCount + 2)
        #expect(linked.directOffset == plain.parameterCount)
        #expect(linked.biasIndex(row: 11) == plain.biasIndex(row: 11))
        #expect(linked.recurrentWeightIndex(row: 5, hidden: 2) == plain.recurrentWeightIndex(row: 5, hidden: 2))
        // d_hat gains exactly v^T x^(m), with the LSTM's part the same numbers.
        let model = LSTMModel(shape: linked)
        let theta = randomVector(linked.parameterCount, seed: 7)
        let sample = randomSample(length: 4, input: 2, seed: 8)
        let without = LSTMModel(shape: plain).estimate(theta: Array(theta[..<plain.parameterCount]), sample: sample)
        let link = theta[linked.directOffset] * sample.inputs[6] + theta[linked.directOffset + 1] * sample.inputs[7]
        #expect(model.estimate(theta: theta, sample: sample) == without + link)
    }
}
