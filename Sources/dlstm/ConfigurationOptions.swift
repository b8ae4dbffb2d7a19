import ArgumentParser
import Distributed
import Runs

private let defaults = TrainingConfiguration()

/// The options of `TrainingConfiguration`: what shapes a run's results. Defaults come from it.
struct ConfigurationOptions: ParsableArguments {
    // MARK: algorithm and network

    @Option(
        help: """
            sgd, ekf, pf, elm (local), dsgd, dekf, dpf, delm (distributed), cpf (centralized), or avg, gm, fgm \
            (local learners synchronised through a coordinator).
            """)
    var algorithm = defaults.algorithm

    @Option(
        help: ArgumentHelp(
            """
            The graph: ring, line, star, complete, torus, torus:RxC, erdos-renyi:P[:SEED], or an adjacency-matrix \
            file (K lines of K zeros and ones, symmetric, zero diagonal).
            """, valueName: "ring|FILE"))
    var topology = defaults.topology

    @Option(help: "DPF: random-walk moves per step, s (paper: 3).") var walkSteps = defaults.walkSteps
    @Option(
        help: """
            DPF: simple (the paper's: a uniform neighbour, periodic on bipartite graphs such as even rings), lazy \
            (stay with probability 1/2) or metropolis.
            """)
    var walk = defaults.walk
    @Option(
        help: """
            DEKF: double, or single to send states and covariances as 32-bit floats (half the bytes; the \
            combination stays in double).
            """)
    var exchangePrecision = defaults.exchangePrecision
    @Option(
        help: """
            CPF: how the nodes sum the cloud's log-likelihoods: allgather (every rank to every rank), or tree \
            (up a spanning tree of the graph and back down: neighbours only). Both give the same bits.
            """)
    var reduce = defaults.reduce

    @Option(help: "avg: steps between averagings, b; gm, fgm: steps between checks; delm: between tree reductions.")
    var syncEvery = defaults.syncEvery
    @Option(
        help: ArgumentHelp(
            "gm: Delta, fgm: Theta: the divergence bound, in squared parameter units (inf: never).",
            valueName: "Delta"))
    var threshold = defaults.threshold
    @Option(help: "gm: resolve a violation by balancing or by a full sync.") var resolution = defaults.resolution
    @Option(help: "fgm: a round ends once psi >= VALUE k phi(0).") var fgmEpsilon = defaults.fgmEpsilon
    @Option(help: "avg, gm, fgm: the coordinating node (it learns too).") var coordinator = defaults.coordinator

    // MARK: model and trainers

    @Option(help: "n, the LSTM's hidden size.") var hidden = defaults.hidden
    @Option(help: "How the outputs of a sequence are pooled.") var pooling = defaults.pooling
    @Option(help: "N, particles per node (PF, DPF); the centralized PF uses one cloud of K N.")
    var particles = defaults.particles
    @Option(
        help: """
            PF, DPF, CPF: double, or single to evaluate the particles in 32-bit floats (1.3x to 2x the kernel's \
            speed; d_hat within 1e-5 relative); weights, estimates and resampling stay in double.
            """)
    var precision = defaults.precision

    @Option(help: "Cov[gamma] = VALUE * I: the parameters' random-walk variance per step (PF jitter, EKF Q).")
    var jitter = defaults.jitter

    @Option(
        help: ArgumentHelp(
            """
            Var[eps]: the label noise variance (PF likelihood, EKF R), or auto: every node estimates it from its \
            own squared prediction errors (their mean over the first 100 steps, then an exponential mean with \
            weight 1/100 on the newest); the centralized PF's nodes agree on their mean.
            """, valueName: "VARIANCE|auto"))
    var observationNoise = defaults.observationNoise

    @Option(help: "mu, the SGD (and Adam) step.") var learningRate = defaults.learningRate
    @Option(help: "SGD, DSGD, AVG, GM, FGM: sgd (the paper's) or adam.") var optimizer = defaults.optimizer
    @Option(help: "Adam: the first moment's decay.") var beta1 = defaults.beta1
    @Option(help: "Adam: the second moment's decay.") var beta2 = defaults.beta2
    @Option(help: "Adam: added to the root of the second moment.") var epsilon = defaults.epsilon
    @Option(help: "SGD, DSGD, AVG, GM, FGM: samples per gradient step, gradients averaged.") var batch = defaults.batch
    @Option(help: "EKF: P0 = VALUE * I.") var initialVariance = defaults.initialVariance
    @Option(help: "SGD, EKF: standard deviation of the initial parameters.") var initialScale = defaults.initialScale
    @Option(help: "PF: standard deviation of the initial particle cloud.") var initialSpread = defaults.initialSpread
    @Option(help: "The PF's resampling scheme.") var resampling = defaults.resampling
    @Option(help: ArgumentHelp("PF, CPF: Liu-West shrinkage h in (0, 1) instead of the fixed jitter.", valueName: "h"))
    var liuWest: Double?

    @Option(help: "ELM: the forgetting factor lambda in (0, 1] of recursive least squares.")
    var forgetting = defaults.forgetting
    @Option(help: "ELM: the ridge added to the readout's least squares.") var ridge = defaults.ridge
    @Option(help: "ELM: standard deviation of the fixed random LSTM weights (use --hidden 32 to 512 with ELM).")
    var elmScale = defaults.elmScale
    @Flag(help: "d_hat = w^T y_bar + v^T x^(m): a linear link from the last input column (ELM: a feature).")
    var directLink = false

    @Option(help: "Random seed: the same seed gives the same results on any transport.", transform: seedValue)
    var seed = defaults.seed

    // MARK: data

    @Option(
        help: ArgumentHelp(
            """
            'teacher' (a random LSTM labelling random sequences), or a file: .csv (time series; see --column), .jsonl \
            (one {"x": [[...], ...], "d": label} a line), .txt/.tsv (id TAB score TAB text; see --word-vectors).
            """, valueName: "teacher|FILE"))
    var data = defaults.data

    @Option(help: "Steps (samples per node). Default: 1000 for the teacher, all a node gets from a file.")
    var samples: Int?

    @Option(help: "round-robin (sample i to node i mod K) or blocks (contiguous blocks).")
    var partition = defaults.partition

    @Option(help: "CSV: the column to predict.") var column: String?
    @Option(help: "CSV: L, the previous values used as input.") var lags = defaults.lags
    @Option(help: "CSV: predict the value this many steps after the last lag.") var horizon = defaults.horizon
    @Option(help: "CSV: vector (the L lags as one column, p = L: the paper's) or sequence (L columns of p = 1).")
    var lagLayout = defaults.lagLayout

    @Option(
        help: """
            CSV: scaling, with statistics from the first --normalize-prefix rows only (default: zscore for elm and \
            delm, whose fixed random weights expect inputs of unit scale; none for the others).
            """)
    var normalize: Normalization?

    @Option(help: "CSV: rows used for the normalisation statistics.") var normalizePrefix = defaults.normalizePrefix
    @Option(
        help: """
            Text: a word-vector table: the VADER lexicon (token TAB mean TAB std ...: p = 2) or a GloVe/word2vec \
            text file.
            """)
    var wordVectors: String?

    @Option(help: "Teacher: p, the input size.") var teacherInput = defaults.teacherInput
    @Option(help: "Teacher: its hidden size (default: --hidden).") var teacherHidden: Int?
    @Option(help: "Teacher: label noise variance.") var teacherNoise = defaults.teacherNoise
    @Option(help: "Teacher: standard deviation of its parameters.") var teacherScale = defaults.teacherScale
    @Option(
        help: """
            Multiply every label by this: e.g. 0.25 maps sentiment scores in [-4, 4] into the range an LSTM with \
            small output weights reaches.
            """)
    var labelScale = defaults.labelScale

    @Option(
        help: ArgumentHelp(
            """
            Start from a saved model (a run's directory: its model.safetensors, or a model file): SGD and the EKF \
            at its theta, particle clouds around it with --initial-spread; a CSV series normalised as the model's \
            was is scaled with the model's statistics. Not for elm, delm.
            """, valueName: "DIR"))
    var initModel: String?

    var configuration: TrainingConfiguration { configuration(for: algorithm) }

    /// The configuration with `algorithm` (elm fit's is always elm), the defaults that depend on it resolved.
    func configuration(for algorithm: Algorithm) -> TrainingConfiguration {
        var c = TrainingConfiguration()
        (c.algorithm, c.topology, c.walkSteps, c.walk) = (algorithm, topology, walkSteps, walk)
        (c.precision, c.exchangePrecision, c.reduce) = (precision, exchangePrecision, reduce)
        (c.syncEvery, c.threshold, c.resolution, c.fgmEpsilon, c.coordinator) = (
            syncEvery, threshold, resolution, fgmEpsilon, coordinator
        )
        (c.hidden, c.pooling, c.particles, c.jitter, c.observationNoise) = (
            hidden, pooling, particles, jitter, observationNoise
        )
        (c.learningRate, c.initialVariance, c.initialScale, c.initialSpread) = (
            learningRate, initialVariance, initialScale, initialSpread
        )
        (c.optimizer, c.beta1, c.beta2, c.epsilon, c.batch) = (optimizer, beta1, beta2, epsilon, batch)
        (c.resampling, c.liuWest, c.seed) = (resampling, liuWest, seed)
        (c.forgetting, c.ridge, c.elmScale, c.directLink) = (forgetting, ridge, elmScale, directLink)
        (c.data, c.samples, c.partition, c.column, c.lags, c.horizon) = (
            data, samples, partition, column, lags, horizon
        )
        (c.lagLayout, c.normalizePrefix, c.wordVectors) = (lagLayout, normalizePrefix, wordVectors)
        c.normalize = normalize ?? (algorithm.isELM ? .zscore : .none)
        (c.teacherInput, c.teacherHidden, c.teacherNoise, c.teacherScale) = (
            teacherInput, teacherHidden, teacherNoise, teacherScale
        )
        (c.labelScale, c.initModel) = (labelScale, initModel)
        return c
    }

    func validate() throws { try validated { try configuration.validate() } }
}
