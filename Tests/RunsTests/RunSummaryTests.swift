import Distributed
import Foundation
import RunTestSupport
import Runs
import Testing

@Suite("summary.json as a typed RunSummary")
struct RunSummaryTests {
    /// A run's summary.json, written by the run and read back.
    func written(_ configuration: TrainingConfiguration, nodes: Int) throws -> (Data, RunSummary, RunReport) {
        let directory = try scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var control = RunControl()
        control.resultsDirectory = directory
        let report = try runInProcess(configuration, nodes: nodes, control: control)
        let path = directory + "/summary.json"
        return (try Data(contentsOf: URL(fileURLWithPath: path)), try RunSummary(path: path), report)
    }

    /// A particle filter (its SMC summary, a fixed and an estimated noise), a protocol with a
    /// coordinator (its sync summary, an infinite threshold written as "inf") and a trainer without either.
    @Test(
        "read back and written again, a real run's summary.json is the same bytes",
        arguments: [
            teacherRun(.dpf, samples: 30) { $0.observationNoise = .auto },
            teacherRun(.gm, samples: 30) { $0.threshold = .infinity },
            teacherRun(.dekf, samples: 20),
        ])
    func roundTrip(configuration: TrainingConfiguration) throws {
        let (file, summary, report) = try written(configuration, nodes: 3)
        #expect(try summary.json() == file)
        // Not vacuous: the fields a reader uses came through, as the run computed them.
        #expect(summary.parameters == configuration)
        #expect(summary.finalMSE == report.finalMSE && summary.nodes == 3 && summary.samplesPerNode == report.steps)
        #expect((summary.smc != nil) == (configuration.algorithm == .dpf))
        #expect((summary.sync != nil) == (configuration.algorithm == .gm))
        let object = try #require(try JSONSerialization.jsonObject(with: file) as? [String: Any])
        #expect(
            Set(object.keys).isSuperset(of: ["final_mse", "mse_curve", "bytes_per_node", "baseline", "parameters"]))
    }

    @Test("a file that is not a run's summary: one line naming the file and the missing key")
    func notASummary() throws {
        let directory = try scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/summary.json"
        try Data(#"{"algorithm": "dpf"}"#.utf8).write(to: URL(fileURLWithPath: path))
        #expect(throws: RunError.self) { try RunSummary(path: path) }
        do {
            _ = try RunSummary(path: path)
        } catch {
            #expect("\(error)".contains(path) && "\(error)".contains("no '"), "\(error)")
        }
    }
}
