import Testing

@testable import Runs

@Suite("progress schedule")
struct ProgressScheduleTests {
    @Test("the progress schedule checks about four times per interval, from the slowest process's clock")
    func progressSchedule() {
        var schedule = ProgressSchedule(intervalSeconds: 2)
        #expect(schedule.isCheck(step: 1))
        let first = schedule.checked(step: 1, elapsedSeconds: 0.001)  // 1 ms a step: too early to report
        #expect(!first)
        #expect(schedule.nextCheck == 1 + 500)  // (2 s / 4) / 1 ms
        #expect(!schedule.isCheck(step: 2))
        let second = schedule.checked(step: 501, elapsedSeconds: 2.5)  // past the interval: report
        let third = schedule.checked(step: 600, elapsedSeconds: 3.0)  // 0.5 s since the last report
        let fourth = schedule.checked(step: 1000, elapsedSeconds: 4.6)
        #expect(second && !third && fourth)
        var slow = ProgressSchedule(intervalSeconds: 1)
        _ = slow.checked(step: 1, elapsedSeconds: 10)  // 10 s a step: check every step
        #expect(slow.nextCheck == 2)
        #expect(!ProgressSchedule(intervalSeconds: 0).isCheck(step: 1))
    }
}
