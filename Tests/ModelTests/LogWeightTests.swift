import Foundation
import Numerics
import Testing

/// Particle weights live in the log domain: exp of a log-weight overflows above 709.78 and
/// underflows to 0 below -745, and either would turn normalisation into inf/inf or 0/0 = NaN.
@Suite("log-weights: normalised without overflow or underflow")
struct LogWeightTests {
    @Test("log-sum-exp of terms whose exp overflows or underflows is exact")
    func logSumExpExtremes() {
        #expect(logSumExp([1000, 1000]) == 1000 + log(2.0))  // exp(1000) = inf
        #expect(logSumExp([-1e6, -1e6 - log(3.0)]) == -1e6 + log(4.0 / 3))  // exp(-1e6) = 0
        #expect(logSumExp([-1e308, -1e308]).isFinite)
        #expect(logSumExp([-.infinity, 5, .nan]) == 5, "NaN and -inf terms carry no weight")
        #expect(logSumExp([Double]()) == -.infinity)
        #expect(logSumExp([-.infinity, -.infinity]) == -.infinity)
    }

    @Test("weights from log-weights of +1000 and -1e9: finite, summing to 1, in the right ratio")
    func normalisedExtremes() throws {
        let high = try #require(normalizedWeights(fromLog: [1000, 1000 - log(3.0), -.infinity, .nan]))
        // The tolerances are the spacing of doubles at 1000 and at 1e9: log 3 is only that exact there.
        #expect(abs(high[0] - 0.75) < 1e-12 && abs(high[1] - 0.25) < 1e-12 && high[2] == 0 && high[3] == 0)
        #expect(abs(high.reduce(0, +) - 1) < 1e-15)
        let low = try #require(normalizedWeights(fromLog: [-1e9, -1e9 + log(3.0)]))
        #expect(abs(low[0] - 0.25) < 1e-6 && abs(low[1] - 0.75) < 1e-6)
        #expect(abs(effectiveSampleSize(low) - 1 / (0.25 * 0.25 + 0.75 * 0.75)) < 1e-5)
    }

    @Test("no finite weight at all is reported (nil) for the caller to recover, never divided into NaN")
    func noFiniteWeight() {
        #expect(normalizedWeights(fromLog: [-.infinity, -.infinity]) == nil)
        #expect(normalizedWeights(fromLog: [.nan, .nan]) == nil)
        #expect(normalizedWeights(fromLog: [.infinity, 0]) == nil)
        #expect(normalizedWeights(fromLog: []) == nil)
    }
}
