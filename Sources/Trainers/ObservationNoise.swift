/// Var[eps], the label noise variance: the PF family's likelihood N(d; h(theta), Var[eps]) and the
/// EKF family's R. Either the paper's fixed value, or `auto`: estimated online by every node from
/// its own prequential errors (`NoiseEstimator`).
public enum ObservationNoise: Sendable, Equatable, CustomStringConvertible {
    case fixed(Double)
    case auto

    /// "auto" or a number.
    public init?(_ text: String) {
        if text == "auto" {
            self = .auto
        } else if let value = Double(text) {
            self = .fixed(value)
        } else {
            return nil
        }
    }

    public var description: String {
        switch self {
        case .fixed(let value): "\(value)"
        case .auto: "auto"
        }
    }

    /// The fixed value, nil for `auto`.
    public var fixedValue: Double? {
        if case .fixed(let value) = self { return value }
        return nil
    }
}

extension ObservationNoise: Codable {
    /// A number, or the string "auto": config.toml and summary.json read as the command line does.
    public init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let value = try? container.decode(Double.self) {
            self = .fixed(value)
        } else if try container.decode(String.self) == "auto" {
            self = .auto
        } else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "a variance or \"auto\"")
        }
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .fixed(let value): try container.encode(value)
        case .auto: try container.encode("auto")
        }
    }
}

/// The `auto` rule: Var[eps]_t = max(floor, m_t), where m_t averages the squared prediction errors
/// (d_s - d_hat_s)^2 for s <= t, each d_hat_s predicted before d_s was seen. The first `window`
/// steps are averaged equally (the warm-up: the first errors of an untrained model are large, so
/// the likelihood starts flat rather than over-sharp); after that the average is exponential,
/// m_t = m_{t-1} + (e_t^2 - m_{t-1}) / window, so it follows the model as it learns.
///
/// Why the prediction error: it is the spread the likelihood has to explain at the model's current
/// accuracy. A variance far below it (the paper's 0.01 on data no model fits to 0.01) makes every
/// likelihood sharp; the DPF multiplies K of them along a walk and the cloud collapses.
public struct NoiseEstimator: Sendable, Equatable {
    /// The warm-up's length and the exponential average's memory, in steps.
    public static let window = 100
    /// The least variance used, so that a perfect prediction does not divide by zero.
    public static let floor = 1e-10

    public let fixed: Double?
    public private(set) var mean = 0.0
    public private(set) var count = 0

    public init(_ noise: ObservationNoise) { fixed = noise.fixedValue }

    public var isEstimated: Bool { fixed == nil }

    /// The variance to use now: the fixed value, or the estimate (1 before any error is seen).
    public var variance: Double {
        if let fixed { return fixed }
        return count == 0 ? 1 : max(Self.floor, mean)
    }

    /// Adds one squared prediction error (a fixed variance ignores it).
    public mutating func observe(squaredError: Double) {
        guard fixed == nil else { return }
        count += 1
        mean += (squaredError - mean) / Double(min(count, Self.window))
    }

    /// The estimator's state, for checkpoints: [m, count].
    public var checkpoint: [Double] { [mean, Double(count)] }

    /// Adds the state to a trainer's checkpoint record when there is one (a fixed variance has none).
    public func save(into record: inout CheckpointRecord) {
        if isEstimated { record.append("noise", checkpoint) }
    }

    /// Puts back what `save(into:)` wrote.
    public mutating func restore(from record: CheckpointRecord) throws {
        if isEstimated { try restore(record.doubles("noise", count: 2)) }
    }

    public mutating func restore(_ values: [Double]) throws {
        guard values.count == 2, let restored = Int(exactly: values[1]), restored >= 0, values[0].isFinite else {
            throw TrainerError.malformedCheckpoint("the observation noise estimate \(values)")
        }
        (mean, count) = (values[0], restored)
    }
}
