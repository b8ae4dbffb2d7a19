/// How a run is carried out, apart from what shapes its results (`TrainingConfiguration`): where
/// results and checkpoints go, progress, the timeout, and the faults tests inject.
public struct RunControl: Sendable {
    /// Write summary.json, node-K.csv and config.toml here (`--out`).
    public var resultsDirectory: String?
    /// Seconds between progress reports (0: none).
    public var progressSeconds = 5.0
    /// End the whole job (exit 124) after this many seconds.
    public var timeoutSeconds: Double?
    /// Checkpoints go here (`--checkpoint-dir`); enabled also by `checkpointEvery` or `resume`,
    /// then under OUT/checkpoint.
    public var checkpointDirectory: String?
    /// A checkpoint every this many steps (0: only on a stop request).
    public var checkpointEvery = 0
    /// Continue from the newest checkpoint.
    public var resume = false
    /// Replace the finished run a results directory holds (without it such a directory is refused).
    public var overwrite = false
    /// Polled at the run's collective checks: the signal (SIGUSR1, SIGTERM, SIGINT) that asked the
    /// run to stop, 0 while none did. Every process then stops at the same step, with a checkpoint
    /// if checkpoints are enabled (the CLI sets it from its signal handler).
    public var stopSignal: @Sendable () -> Int32 = { 0 }
    public var faults = FaultInjection()

    public init() {}

    /// Where checkpoints go, if they are enabled.
    public var checkpointStore: String? {
        checkpointDirectory ?? ((checkpointEvery > 0 || resume) ? resultsDirectory.map { $0 + "/checkpoint" } : nil)
    }

    public func validate() throws {
        guard checkpointEvery >= 0 else { throw RunError("--checkpoint-every \(checkpointEvery): must be >= 0") }
        if (checkpointEvery > 0 || resume) && checkpointDirectory == nil && resultsDirectory == nil {
            throw RunError(
                "--checkpoint-every and --resume need --checkpoint-dir DIR (or --out DIR, for DIR/checkpoint)")
        }
        if let timeoutSeconds, !(timeoutSeconds > 0 && timeoutSeconds.isFinite) {
            throw RunError("--timeout \(timeoutSeconds): must be a positive number of seconds")
        }
        guard progressSeconds >= 0, progressSeconds.isFinite else {
            throw RunError("--progress-every \(progressSeconds): must be >= 0 seconds")
        }
    }
}
