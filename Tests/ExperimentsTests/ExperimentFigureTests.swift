import Distributed
import Experiments
import Foundation
import RunTestSupport
import Runs
import Testing

/// The experiment's figures from the runs' summaries.
@Suite("Experiment figures")
struct ExperimentFigureTests {
    @Test("runs with and without the direct link: two MSE panels on one scale, the baseline in each")
    func directLinkPanels() throws {
        let directory = try scratchDirectory()
        for run in ["ekf", "ekf-direct", "sgd"] {
            var control = RunControl()
            (control.resultsDirectory, control.progressSeconds) = ("\(directory)/\(run)", 0)
            let configuration = ExperimentRun(name: run)!.applied(to: teacherRun(.ekf, samples: 20))
            _ = try TrainingRun(configuration: configuration, control: control, label: run).run(
                on: InProcessNetwork(topology: try Topology.ring(2)))
        }
        _ = try plotResults(in: directory, title: "t")
        let svg = try String(contentsOfFile: directory + "/mse.svg", encoding: .utf8)
        #expect(svg.components(separatedBy: "<polyline").count - 1 == 3 + 2)
        #expect(svg.contains("with the direct link") && svg.contains("translate(700"))
        // One y scale: both panels have the same tick labels.
        let ticks = svg.components(separatedBy: "text-anchor=\"end\"").count - 1
        #expect(ticks > 0 && ticks % 2 == 0)
        // Without direct-link runs, one panel as before.
        try FileManager.default.removeItem(atPath: directory + "/ekf-direct")
        _ = try plotResults(in: directory, title: "t")
        let single = try String(contentsOfFile: directory + "/mse.svg", encoding: .utf8)
        #expect(single.components(separatedBy: "<polyline").count - 1 == 2 + 1 && !single.contains("translate(700"))
    }
}
