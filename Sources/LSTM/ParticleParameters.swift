/// The parameter vectors of many particles, in groups of 8 (one SIMD lane per particle): particle
/// i's parameter j is at `((i / 8) * n_theta + j) * 8 + i % 8`. One parameter of 8 particles is one
/// 64-byte vector, and each group's parameters are contiguous, so a group's recurrent weights stay
/// in cache across the steps of a sequence. Padding particles (up to a multiple of 8) are zeros.
///
/// `values` may be longer than the particles need: a store whose particle count changes from step to
/// step (the DPF's) resizes within the room it has and grows it only past its largest count so far.
public struct ParticleParameters: Sendable, Equatable {
    public let shape: LSTMShape
    public private(set) var count: Int
    public var values: [Double]

    public static let laneWidth = 8

    public init(shape: LSTMShape, count: Int) {
        precondition(count >= 0)
        self.shape = shape
        self.count = count
        self.values = []
        self.values = [Double](repeating: 0, count: groups * shape.parameterCount * Self.laneWidth)
    }

    /// Equal particles, whatever room either has.
    public static func == (a: ParticleParameters, b: ParticleParameters) -> Bool {
        a.shape == b.shape && a.count == b.count && (0..<a.count).allSatisfy { a.particle($0) == b.particle($0) }
    }

    /// Groups of `laneWidth` particles.
    public var groups: Int { max(1, (count + Self.laneWidth - 1) / Self.laneWidth) }

    /// Sets the number of particles, keeping the first min(old, new) in place; new ones hold what
    /// the room held before (callers overwrite them).
    public mutating func resize(to newCount: Int) {
        precondition(newCount >= 0)
        count = newCount
        let needed = groups * shape.parameterCount * Self.laneWidth
        if values.count < needed { values.append(contentsOf: repeatElement(0, count: needed - values.count)) }
    }

    /// Copies particle `j` of `source` into slot `i`.
    @inlinable
    public mutating func copyParticle(_ j: Int, of source: ParticleParameters, to i: Int) {
        let from = source.index(parameter: 0, particle: j), to = index(parameter: 0, particle: i)
        let width = Self.laneWidth
        let nTheta = shape.parameterCount
        values.withUnsafeMutableBufferPointer { destination in
            source.values.withUnsafeBufferPointer { origin in
                let d = destination.baseAddress! + to, o = origin.baseAddress! + from
                for k in 0..<nTheta { d[k * width] = o[k * width] }
            }
        }
    }

    public init(shape: LSTMShape, particles: [[Double]]) {
        self.init(shape: shape, count: particles.count)
        for (i, theta) in particles.enumerated() { setParticle(i, theta) }
    }

    /// Particles including the padding: the length of per-particle kernel outputs.
    public var paddedCount: Int { groups * Self.laneWidth }

    @inlinable
    public func index(parameter j: Int, particle i: Int) -> Int {
        ((i / Self.laneWidth) * shape.parameterCount + j) * Self.laneWidth + i % Self.laneWidth
    }

    @inlinable
    public subscript(parameter j: Int, particle i: Int) -> Double {
        get { values[index(parameter: j, particle: i)] }
        set { values[index(parameter: j, particle: i)] = newValue }
    }

    /// The parameter vector theta of particle i.
    public func particle(_ i: Int) -> [Double] {
        let base = index(parameter: 0, particle: i)
        return (0..<shape.parameterCount).map { values[base + $0 * Self.laneWidth] }
    }

    public mutating func setParticle(_ i: Int, _ theta: [Double]) {
        precondition(theta.count == shape.parameterCount)
        let base = index(parameter: 0, particle: i)
        for j in theta.indices { values[base + j * Self.laneWidth] = theta[j] }
    }
}
