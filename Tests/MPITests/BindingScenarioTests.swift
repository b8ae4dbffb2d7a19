import Foundation
import ProcessTestSupport
import Testing

/// Every scenario of the MPIScenarios executable, under a real mpirun at several rank counts.
/// The names are spelled out here, not read from the executable, so a scenario that disappears
/// fails the suite instead of silently running nothing.
let scenarioNames = [
    "ring", "plain-struct", "alltoallv-ring", "alltoallv-star", "gatherv",
    "allreduce", "broadcast", "split-dup", "neighbor-allgather", "errors",
]

/// The executable of the scenarios, built beside the test bundle.
let scenarios = Job.productsDirectory.appendingPathComponent("MPIScenarios").path

@Suite("MPI binding under mpirun", .serialized)
struct BindingScenarioTests {
    @Test("the scenario list matches the executable's")
    func scenarioListIsComplete() throws {
        let outcome = try Job.run(scenarios, ["list"], ranks: 1)
        let listed = outcome.output.split(separator: "\n").map { String($0.split(separator: "\t")[0]) }
        #expect(listed.sorted() == scenarioNames.sorted())
    }

    @Test("scenario holds", arguments: scenarioNames, [1, 2, 3, 4, 5])
    func scenarioHolds(name: String, ranks: Int) throws {
        let outcome = try Job.run(scenarios, [name], ranks: ranks)
        #expect(outcome.status == 0, "\(name) on \(ranks) ranks exited \(outcome.status):\n\(outcome.errors)")
        #expect(outcome.output.contains("scenario \(name): ok on \(ranks) of \(ranks) ranks"), "\(outcome.output)")
    }

    /// The same scenario with one rank's data perturbed must fail: its checks are not vacuous.
    @Test("scenario fails when one rank's data is wrong", arguments: scenarioNames, [1, 3, 4])
    func corruptedScenarioFails(name: String, ranks: Int) throws {
        let outcome = try Job.run(scenarios, [name, "--corrupt"], ranks: ranks)
        #expect(outcome.status != 0, "\(name) --corrupt on \(ranks) ranks passed:\n\(outcome.output)")
        #expect(outcome.errors.contains("scenario \(name):"), "no error text: \(outcome.errors)")
    }

    /// One rank throws while the others wait on it: MPI.run must abort the whole job promptly,
    /// with a non-zero status and the error's text, instead of leaving the others hanging.
    @Test("a throwing rank ends the whole job", arguments: [1, 2, 3, 5])
    func throwingRankAbortsJob(ranks: Int) throws {
        let outcome = try Job.run(scenarios, ["fail"], ranks: ranks, timeout: 30)
        #expect(outcome.status != 0)
        #expect(
            outcome.errors.contains("rank \(ranks - 1) of \(ranks): injected failure on rank \(ranks - 1)"),
            "\(outcome.errors)")
        #expect(outcome.seconds < 15, "took \(outcome.seconds) s to end")
        #expect(!outcome.errors.contains("timeout"), "ended by mpirun's timeout, not by the abort")
    }
}
