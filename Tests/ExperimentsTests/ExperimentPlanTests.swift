import Distributed
import Experiments
import Foundation
import RunTestSupport
import Runs
import Testing

/// The experiments' plans run through the library, in one process, as `dlstm experiment --in-process`
/// runs them (CommandTests compares that with mpirun).
@Suite("experiment plans, in-process")
struct ExperimentPlanTests {
    func file(_ directory: String, _ path: String) throws -> String {
        try String(contentsOfFile: directory + "/" + path, encoding: .utf8)
    }

    @Test("experiment sync: three data sets, every run, a table and the frontier figure each")
    func syncExperiment() throws {
        let out = try scratchDirectory() + "/sync"
        var plan = ExperimentPlan(name: .sync)
        plan.samples = 40
        var lines = [String]()
        try plan.run(
            plan.groups(directory: out), directory: out, context: .inProcess, isReporter: true,
            log: { lines.append($0) }
        ) { InProcessNetwork(topology: try Topology.ring(3)) }
        let expected = [
            "local", "dsgd", "avg-b1", "avg-b4", "avg-b16", "gm-1e-04", "gm-0.001", "gm-0.01", "gm-0.1", "fgm-1e-04",
            "fgm-0.001", "fgm-0.01", "fgm-0.1",
        ]
        for data in ["fx", "sentiment", "teacher"] {
            let directory = out + "/" + data
            let rows = try file(directory, "table.csv").split(separator: "\n").dropFirst().map {
                $0.split(separator: ",", omittingEmptySubsequences: false)
            }
            #expect(rows.map { String($0[0]) } == expected, "\(data)")
            let bytes = Dictionary(uniqueKeysWithValues: rows.map { (String($0[0]), Double($0[2])!) })
            #expect(bytes["local"] == 0 && bytes["avg-b1"]! > bytes["avg-b16"]!, "\(data)")
            #expect(try file(directory, "frontier.svg").contains("<polyline"))
            let sync = try #require(try RunSummary(path: directory + "/gm-0.01/summary.json").sync)
            #expect(sync.protocolNetwork == "star" && sync.coordinator == 0)
            #expect(try file(directory, "gm-0.01/sync-trace.csv").hasPrefix("step,divergence,"))
            // The table the person reads is the one written.
            let table = try file(directory, "table.md").trimmingCharacters(in: .newlines)
            #expect(lines.contains("\n" + table))
        }
        #expect(lines.last?.contains("39 runs in") == true)
    }

    @Test("experiment fx: the runs asked for, a table in the canonical order, the baseline's row, the figures")
    func paperExperiment() throws {
        let out = try scratchDirectory()
        var plan = ExperimentPlan(name: .fx)
        plan.samples = 40
        plan.runs = ["cpf", "sgd", "dpf-direct", "dekf"].map { ExperimentRun(name: $0)! }
        try plan.run(plan.groups(directory: out), directory: out, context: .inProcess, isReporter: true) {
            InProcessNetwork(topology: try Topology.ring(3))
        }
        let table = try file(out, "table.md").split(separator: "\n").dropFirst(2).map {
            $0.split(separator: "|")[0].trimmingCharacters(in: .whitespaces)
        }
        #expect(table == ["sgd", "dekf", "dpf-direct", "cpf", "baseline: persistence"])
        #expect(try file(out, "table.csv").split(separator: "\n").count == 6)
        #expect(try file(out, "mse.svg").contains("with the direct link"))
        #expect(try file(out, "ess.svg").contains("<polyline"))
        #expect(try RunSummary(path: out + "/dpf-direct/summary.json").parameters.directLink)
    }
}
