import Distributed
import Runs

/// The paper's experiments (Ergen & Kozat 2018, section 4) on the bundled real data.
public enum PaperExperiment: String, CaseIterable, Codable, Sendable {
    case fx, sentiment

    public var title: String {
        switch self {
        case .fx: "FX: next-day GBP/USD from the two days before (ring, N = 80, s = 3)"
        case .sentiment: "Sentiment: VADER tweets, 2-d word vectors (ring, N = 50, s = 3)"
        }
    }
}

/// One run of an experiment: an algorithm, or DPF with another walk (its `base`), and two
/// modifiers, written as suffixes of its name: "-auto" estimates Var[eps] (`--observation-noise
/// auto`) instead of the paper's 0.01, "-direct" adds the direct link (`--direct-link`). So
/// "dpf-metropolis-auto-direct" is the Metropolis walk's DPF with both.
public struct ExperimentRun: Hashable, Sendable {
    public enum Base: String, CaseIterable, Sendable {
        case sgd, dsgd, ekf, dekf, pf, dpf
        case dpfMetropolis = "dpf-metropolis"
        case dpfLazy = "dpf-lazy"
        case cpf
        /// ELM-trained LSTMs (OPT-PR-ELM) on the same data: closed-form readouts next to the paper's trainers.
        case elm, delm

        /// The filters, whose observation noise "-auto" estimates.
        var hasObservationNoise: Bool { ![.sgd, .dsgd, .elm, .delm].contains(self) }
    }

    public var base: Base
    public var estimatesNoise = false
    public var directLink = false

    public init(_ base: Base, estimatesNoise: Bool = false, directLink: Bool = false) {
        (self.base, self.estimatesNoise, self.directLink) = (base, estimatesNoise, directLink)
    }

    /// A name such as "dpf-auto-direct"; nil for an unknown one (or "-auto" on a run without noise).
    public init?(name: String) {
        var rest = Substring(name)
        let direct = rest.hasSuffix("-direct")
        if direct { rest = rest.dropLast("-direct".count) }
        let auto = rest.hasSuffix("-auto")
        if auto { rest = rest.dropLast("-auto".count) }
        guard let base = Base(rawValue: String(rest)), !auto || base.hasObservationNoise else { return nil }
        self.init(base, estimatesNoise: auto, directLink: direct)
    }

    public var name: String { base.rawValue + (estimatesNoise ? "-auto" : "") + (directLink ? "-direct" : "") }

    /// What `--algorithms` accepts, for its help and errors.
    public static let grammar =
        Base.allCases.map(\.rawValue).joined(separator: ", ")
        + ", each with -direct; the filters (not sgd, dsgd, elm, delm) also with -auto before it"

    /// The paper's runs, each PF-family run also calibrated, then the ELMs; then every one of them
    /// with the direct link.
    public static let paperRuns: [ExperimentRun] = {
        let plain: [ExperimentRun] =
            [.sgd, .dsgd, .ekf, .dekf, .pf, .dpf, .dpfMetropolis, .cpf].map { ExperimentRun($0) }
            + [.pf, .dpf, .dpfMetropolis, .cpf].map { ExperimentRun($0, estimatesNoise: true) }
            + [.elm, .delm].map { ExperimentRun($0) }
        return plain + plain.map { ExperimentRun($0.base, estimatesNoise: $0.estimatesNoise, directLink: true) }
    }()

    /// ELM's hidden size: a random LSTM needs far more units than a trained one (elm.md: 32 to 512).
    public static let elmHidden = 64

    /// `configuration` with this run's algorithm, walk and modifiers.
    public func applied(to configuration: TrainingConfiguration) -> TrainingConfiguration {
        var configuration = configuration
        if estimatesNoise { configuration.observationNoise = .auto }
        configuration.directLink = directLink
        switch base {
        case .dpfMetropolis: (configuration.algorithm, configuration.walk) = (.dpf, .metropolis)
        case .dpfLazy: (configuration.algorithm, configuration.walk) = (.dpf, .lazy)
        default: (configuration.algorithm, configuration.walk) = (Algorithm(rawValue: base.rawValue)!, .simple)
        }
        if base == .elm || base == .delm {
            (configuration.hidden, configuration.syncEvery) = (Self.elmHidden, 10)
        }
        return configuration
    }
}

extension TrainingConfiguration {
    /// The paper's settings for `experiment`, with the data under `dataDirectory` (which holds
    /// fx/ and sentiment/).
    public static func paper(_ experiment: PaperExperiment, dataDirectory: String = "data") -> TrainingConfiguration {
        var configuration = TrainingConfiguration()
        (configuration.hidden, configuration.walkSteps, configuration.observationNoise) = (2, 3, .fixed(0.01))
        switch experiment {
        case .fx:
            configuration.data = "\(dataDirectory)/fx/garch_daily_usd_1980_1987.csv"
            configuration.column = "bp"
            configuration.lags = 2
            // Over the whole series: the pound fell from 2.4 to 1.1 dollars, so scaled from an early
            // prefix the later values leave any range the LSTM's output reaches.
            (configuration.normalize, configuration.normalizePrefix) = (.minmax, 1867)
            (configuration.particles, configuration.jitter, configuration.learningRate) = (80, 0.0004, 0.1)
        case .sentiment:
            configuration.data = "\(dataDirectory)/sentiment/tweets_GroundTruth.txt"
            configuration.wordVectors = "\(dataDirectory)/sentiment/vader_lexicon.txt"
            configuration.labelScale = 0.25
            (configuration.particles, configuration.jitter, configuration.learningRate) = (50, 0.000625, 0.055)
        }
        return configuration
    }
}
