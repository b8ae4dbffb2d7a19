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

    public var isParticleFilter: Bool { self == .pf || self == .dpf || self == .cpf }
}
