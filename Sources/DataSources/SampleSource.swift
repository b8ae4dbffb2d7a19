import LSTM

/// A stream of labelled sequences, read as they are needed.
public protocol SampleSource {
    /// p, the size of every column of every sample.
    var inputSize: Int { get }
    /// The next sample, or nil at the end.
    mutating func next() throws -> Sample?
}

/// How samples are dealt to K nodes.
public enum Partitioning: Sendable, Equatable {
    /// Sample i goes to node i mod K (the default).
    case roundRobin
    /// The first ceil(T/K) samples to node 0, the next to node 1, ...; needs the total T.
    case blocks(total: Int)

    /// Whether sample `index` (from 0) belongs to `node` of `nodes`.
    public func owns(index: Int, node: Int, nodes: Int) -> Bool {
        switch self {
        case .roundRobin:
            return index % nodes == node
        case .blocks(let total):
            let size = (total + nodes - 1) / nodes
            return index / max(size, 1) == node
        }
    }
}

extension Partitioning {
    /// How many of `total` samples `node` gets.
    public func sampleCount(node: Int, nodes: Int, total: Int) -> Int {
        switch self {
        case .roundRobin:
            return total / nodes + (node < total % nodes ? 1 : 0)
        case .blocks:
            let size = (total + nodes - 1) / nodes
            return max(0, min(size, total - node * size))
        }
    }
}

/// The samples of one node: a source filtered by a partitioning.
public struct PartitionedSource<Base: SampleSource>: SampleSource {
    public var base: Base
    public let partitioning: Partitioning
    public let node: Int
    public let nodes: Int
    private var index = 0

    public init(_ base: Base, partitioning: Partitioning = .roundRobin, node: Int, nodes: Int) {
        precondition(nodes >= 1 && node >= 0 && node < nodes)
        self.base = base
        self.partitioning = partitioning
        self.node = node
        self.nodes = nodes
    }

    public var inputSize: Int { base.inputSize }

    public mutating func next() throws -> Sample? {
        while let sample = try base.next() {
            defer { index += 1 }
            if partitioning.owns(index: index, node: node, nodes: nodes) { return sample }
        }
        return nil
    }
}

extension SampleSource {
    /// Up to `limit` samples into an array (tests, small data sets).
    public mutating func collect(limit: Int = .max) throws -> [Sample] {
        var samples = [Sample]()
        while samples.count < limit, let sample = try next() { samples.append(sample) }
        return samples
    }
}
