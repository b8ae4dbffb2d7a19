/// A progress report, every `progressSeconds` or so, at the reporter only.
public struct RunProgress: Sendable {
    public var step: Int
    public var steps: Int
    /// Wall time since the first step, on the slowest process.
    public var elapsedSeconds: Double
    /// Time-averaged squared error so far, averaged over nodes.
    public var mse: Double
    /// Steps per second so far, and the time left at that rate.
    public var stepsPerSecond: Double { Double(step) / max(elapsedSeconds, 1e-9) }
    public var etaSeconds: Double { Double(steps - step) / stepsPerSecond }
}
