/// The floating-point format of a computation or a message: double everywhere by default; single
/// where an option asks for it (the particle evaluation, the DEKF's covariance exchange), with
/// weights, resampling and every accumulation kept in double.
public enum Precision: String, CaseIterable, Codable, Sendable {
    case double, single
}
