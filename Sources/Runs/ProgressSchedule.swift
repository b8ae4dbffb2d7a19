/// When to look at the clock: every process must take part in the same report collectives, so the
/// schedule is in steps, set from what every process measured (the slowest one), never from one
/// process's own clock alone. Checks come about four times per report interval.
struct ProgressSchedule {
    let intervalSeconds: Double
    /// Seconds between checks: a quarter of the report interval, or less when a stop request
    /// (a signal) must be answered promptly.
    let checkSeconds: Double
    private(set) var nextCheck = 1
    private var lastReport = 0.0

    init(intervalSeconds: Double, checkSeconds: Double? = nil) {
        self.intervalSeconds = intervalSeconds
        self.checkSeconds = checkSeconds ?? intervalSeconds / 4
    }

    func isCheck(step: Int) -> Bool { checkSeconds > 0 && step == nextCheck }

    /// After a check at `step`, with the slowest process's elapsed time: whether to report now.
    mutating func checked(step: Int, elapsedSeconds: Double) -> Bool {
        let secondsPerStep = elapsedSeconds / Double(step)
        let stride = secondsPerStep > 0 ? Int((checkSeconds / secondsPerStep).rounded(.down)) : 1000
        nextCheck = step + min(max(stride, 1), 1000)
        guard intervalSeconds > 0, elapsedSeconds - lastReport >= intervalSeconds else { return false }
        lastReport = elapsedSeconds
        return true
    }
}
