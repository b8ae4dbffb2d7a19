import Foundation
import Testing

@testable import Numerics

@Suite("counter-based random numbers")
struct RandomTests {
    /// Random123's known-answer vectors (kat_vectors): counter, key, expected output.
    @Test("Philox4x32-10 matches the published test vectors")
    func philoxKnownAnswers() {
        let cases: [((UInt32, UInt32, UInt32, UInt32), (UInt32, UInt32), [UInt32])] = [
            ((0, 0, 0, 0), (0, 0), [0x6627_e8d5, 0xe169_c58d, 0xbc57_ac4c, 0x9b00_dbd8]),
            ((.max, .max, .max, .max), (.max, .max), [0x408f_276d, 0x41c8_3b0e, 0xa20b_c7c6, 0x6d54_51fd]),
            (
                (0x243f_6a88, 0x85a3_08d3, 0x1319_8a2e, 0x0370_7344), (0xa409_3822, 0x299f_31d0),
                [0xd16c_fe09, 0x94fd_cceb, 0x5001_e420, 0x2412_6ea1]
            ),
        ]
        for (counter, key, expected) in cases {
            let out = Philox4x32(key: key).block(counter)
            #expect([out.0, out.1, out.2, out.3] == expected)
        }
    }

    @Test("eight Philox blocks at once are the eight blocks one at a time")
    func philoxEightLanes() {
        let generator = Philox4x32(key: (0xa409_3822, 0x299f_31d0))
        for first: UInt32 in [0, 5, .max - 3] {
            let (c0, c1, c2, c3) = generator.blocks8(first: first, rest: (7, 0x1319_8a2e, .max))
            for k in 0..<8 {
                let one = generator.block((first &+ UInt32(k), 7, 0x1319_8a2e, .max))
                #expect([c0[k], c1[k], c2[k], c3[k]] == [one.0, one.1, one.2, one.3])
            }
        }
    }

    /// Bulk draws must be the scalar draws exactly, from any position in a stream (mid-block
    /// included) and over the ziggurat's slow paths: the jitter of a run is the same either way.
    @Test(
        "bulk Gaussians are nextGaussian() drawn one at a time, and the stream goes on the same", arguments: [0, 1, 3])
    func bulkGaussians(skip: Int) {
        var scalar = RandomStream(seed: 9, node: 3, step: 11, purpose: .jitter, index: 5)
        var bulk = scalar
        for _ in 0..<skip {
            _ = scalar.nextUInt32()
            _ = bulk.nextUInt32()
        }
        let count = 5000, stride = 3
        var values = [Double](repeating: 1, count: count * stride)
        values.withUnsafeMutableBufferPointer {
            bulk.addGaussians(scale: 0.5, to: $0.baseAddress!, count: count, stride: stride)
        }
        var mismatches = 0
        for i in 0..<count where values[i * stride] != 1 + 0.5 * scalar.nextGaussian() { mismatches += 1 }
        #expect(mismatches == 0)
        #expect(values[1] == 1 && values[count * stride - 1] == 1)
        #expect((0..<7).map { _ in bulk.nextUInt32() } == (0..<7).map { _ in scalar.nextUInt32() })
    }

    @Test("a stream depends on its coordinates only")
    func streamsAreAddressable() {
        func draws(_ node: Int, _ step: Int, _ purpose: RandomPurpose, _ index: Int) -> [UInt32] {
            var stream = RandomStream(seed: 42, node: node, step: step, purpose: purpose, index: index)
            return (0..<9).map { _ in stream.nextUInt32() }
        }
        let reference = draws(1, 7, .jitter, 3)
        #expect(draws(1, 7, .jitter, 3) == reference)
        for other in [draws(2, 7, .jitter, 3), draws(1, 8, .jitter, 3), draws(1, 7, .walk, 3), draws(1, 7, .jitter, 4)]
        {
            #expect(other != reference)
        }
    }

    @Test("uniforms and Gaussians have the right moments")
    func moments() {
        var stream = RandomStream(seed: 7, purpose: .testing)
        let count = 200_000
        var sum = 0.0, sumSquares = 0.0, uniformSum = 0.0
        for _ in 0..<count {
            let g = stream.nextGaussian()
            sum += g
            sumSquares += g * g
            uniformSum += stream.nextUniform()
        }
        let mean = sum / Double(count), variance = sumSquares / Double(count) - mean * mean
        // Five standard errors: sd(mean) = 1/sqrt(N), sd(variance) = sqrt(2/N), sd(uniform mean) = sqrt(1/12N).
        #expect(abs(mean) < 5 / Double(count).squareRoot())
        #expect(abs(variance - 1) < 5 * (2 / Double(count)).squareRoot())
        #expect(abs(uniformSum / Double(count) - 0.5) < 5 * (1 / (12 * Double(count))).squareRoot())
        var bounded = RandomStream(seed: 9, purpose: .testing)
        var counts = [Int](repeating: 0, count: 5)
        for _ in 0..<50_000 { counts[bounded.nextInt(below: 5)] += 1 }
        #expect(counts.allSatisfy { abs($0 - 10_000) < 5 * 89 }, "\(counts)")  // sd = sqrt(N p (1-p)) ~ 89
    }

    @Test("Gaussians follow the normal CDF, tails included (the ziggurat's layers and its tail sampler)")
    func normalDistribution() {
        var stream = RandomStream(seed: 3, purpose: .testing)
        expectNormalCDF((0..<1_000_000).map { _ in stream.nextGaussian() })
    }
}

/// P(g < x) of `draws` against the standard normal's at 13 points, tails included, within five
/// standard errors.
func expectNormalCDF(_ draws: [Double]) {
    let points: [Double] = [-4, -3.5, -3, -2, -1, -0.3, 0, 0.3, 1, 2, 3, 3.5, 4]
    var below = [Int](repeating: 0, count: points.count)
    for g in draws {
        for (k, x) in points.enumerated() where g < x { below[k] += 1 }
    }
    let count = Double(draws.count)
    for (k, x) in points.enumerated() {
        let p = 0.5 * erfc(-x / 2.0.squareRoot())
        let observed = Double(below[k]) / count
        #expect(
            abs(observed - p) < 5 * (p * (1 - p) / count).squareRoot() + 1e-6,
            "P(g < \(x)) = \(observed), expected \(p)")
    }
}

@Suite("addressed Gaussians in eight lanes")
struct GaussianLanesTests {
    /// The lanes must be the scalar definition exactly, over the ziggurat's slow paths (about one
    /// draw in 80 goes on in its continuation stream), with lanes left out untouched.
    @Test("eight lanes are addressedGaussian(j) of eight streams, slow paths and partial groups included")
    func lanesAreTheScalarDefinition() {
        let indices = SIMD8<UInt32>(3, 17, 4, 900, 5, 6, 7, 8)
        for (count, lanes) in [(4001, 8), (552, 5), (1, 1)] {
            var values = [Double](repeating: 1, count: 8 * count)
            values.withUnsafeMutableBufferPointer {
                GaussianLanes(seed: 9, node: 3, step: 11, purpose: .jitter, indices: indices)
                    .add(scale: 0.5, to: $0.baseAddress!, count: count, lanes: lanes)
            }
            var mismatches = 0, slow = 0
            for k in 0..<8 {
                let stream = RandomStream(seed: 9, node: 3, step: 11, purpose: .jitter, index: Int(indices[k]))
                for j in 0..<count {
                    let g = stream.addressedGaussian(j)
                    let expected = k < lanes ? 1 + 0.5 * g : 1
                    if values[8 * j + k] != expected { mismatches += 1 }
                    // A draw whose first attempt was rejected differs from u * x[layer] of that attempt.
                    if k < lanes, g != Self.firstAttempt(stream, j) { slow += 1 }
                }
            }
            #expect(mismatches == 0)
            if count > 1000 { #expect(slow > 100, "only \(slow) slow draws in \(8 * count)") }
        }
    }

    static func firstAttempt(_ stream: RandomStream, _ j: Int) -> Double {
        var words = stream
        words.seek(toBlock: UInt32(j / 2))
        if j % 2 == 1 { _ = (words.nextUInt32(), words.nextUInt32()) }
        let bits = UInt64(words.nextUInt32()) << 32 | UInt64(words.nextUInt32())
        return Ziggurat.signedUniform(bits) * Ziggurat.shared.layerTable[Int(bits & 0x7F)].edge
    }

    @Test("addressed Gaussians follow the normal CDF, tails included, and differ between streams")
    func normalDistribution() {
        let draws = (0..<10).flatMap { index in
            let stream = RandomStream(seed: 3, node: 1, step: 2, purpose: .jitter, index: index)
            return (0..<100_000).map { stream.addressedGaussian($0) }
        }
        expectNormalCDF(draws)
        let count = Double(draws.count), mean = draws.reduce(0, +) / count
        let meanSquare = draws.reduce(0) { $0 + $1 * $1 } / count
        #expect(abs(mean) < 5 / count.squareRoot())
        #expect(abs(meanSquare - mean * mean - 1) < 5 * (2 / count).squareRoot())
        let a = RandomStream(seed: 3, purpose: .jitter, index: 0), b = RandomStream(seed: 3, purpose: .jitter, index: 1)
        #expect((0..<8).map { a.addressedGaussian($0) } != (0..<8).map { b.addressedGaussian($0) })
    }
}

@Suite("eight streams' first uniforms")
struct FirstUniformsTests {
    /// The DPF's walk draws a group's eight uniforms at once; they must be each stream's own first draw.
    @Test("firstUniforms are each stream's first nextUniform()")
    func firstUniformsAreScalarDraws() {
        for (seed, node, step) in [(UInt64(7), 0, 1), (0xDEAD_BEEF_1234, 5, 999), (1, 1 << 20, Int(UInt32.max))] {
            let indices = SIMD8<UInt32>(0, 1, 80, 81, 4_000_000, .max, 12, 13)
            let lanes = RandomStream.firstUniforms(seed: seed, node: node, step: step, purpose: .walk, indices: indices)
            for k in 0..<8 {
                var stream = RandomStream(seed: seed, node: node, step: step, purpose: .walk, index: Int(indices[k]))
                #expect(lanes[k] == stream.nextUniform())
            }
        }
    }
}
