/// The algorithms of `dlstm train --algorithm`.
public enum Algorithm: String, CaseIterable, Codable, Sendable {
    /// Local SGD, EKF, PF: one per node, no communication (the paper's baselines).
    case sgd, ekf, pf
    /// Diffusion SGD: adapt, then combine neighbours' parameters with Metropolis weights.
    case dsgd
    /// Diffusion EKF (paper sec. 3.1): incremental update over the neighbourhood's observations,
    /// then combination of states and covariances with Metropolis weights.
    case dekf
    /// Markov-chain distributed particle filter (paper Algorithm 1): particles walk between nodes.
    case dpf
    /// Centralized PF: every step weighted by all K likelihoods (the optimum DPF approaches).
    case cpf
    /// Local SGD or Adam learners kept close by a protocol with a coordinator (the FGM thesis):
    /// periodic averaging, Kamp's dynamic averaging (GM), functional geometric monitoring (FGM).
    case avg, gm, fgm
    /// An ELM-trained LSTM per node: fixed random LSTM weights, the readout by recursive least
    /// squares in square-root form (OPT-PR-ELM). No communication.
    case elm
    /// Distributed online ELM: every --sync-every B steps the nodes' new rows are combined as QR
    /// triangles up a breadth-first spanning tree (TSQR, neighbours only) and the global triangle
    /// sent back down; between syncs each node adds its own rows to it.
    case delm

    public var isParticleFilter: Bool { self == .pf || self == .dpf || self == .cpf }
    /// The one family with a coordinator: its messages go over a star, whatever the adjacency.
    public var hasCoordinator: Bool { self == .avg || self == .gm || self == .fgm }
    /// The readout solved by least squares over fixed random LSTM features.
    public var isELM: Bool { self == .elm || self == .delm }
}
