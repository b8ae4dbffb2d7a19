import Distributed
import Foundation
import RunTestSupport
import Testing

@testable import Runs

/// No finished result is overwritten silently: a run holds its directory for its whole life, and a
/// directory holding a finished run is refused unless the run replaces or continues it.
@Suite("a run's results directory")
struct ResultsDirectoryTests {
    func control(_ out: String) -> RunControl {
        var control = RunControl()
        control.resultsDirectory = out
        return control
    }

    @Test("a directory another run holds is refused before any work, naming the holder; free again after")
    func heldDirectory() throws {
        let out = try scratchDirectory()
        let held = try DirectoryLock(directory: out)
        let error = #expect(throws: RunError.self) {
            _ = try runInProcess(teacherRun(.ekf, samples: 20), nodes: 2, control: control(out))
        }
        #expect(error?.status == .usage && error?.isCollective == true)
        #expect(error?.message.hasPrefix("\(out): in use by another run (pid \(getpid()) on ") == true, "\(error!)")
        #expect(!FileManager.default.fileExists(atPath: out + "/summary.json"))
        held.release()
        _ = try runInProcess(teacherRun(.ekf, samples: 20), nodes: 2, control: control(out))
        #expect(FileManager.default.fileExists(atPath: out + "/summary.json"))
    }

    @Test("a checkpoint directory elsewhere is held too")
    func heldCheckpoints() throws {
        let checkpoints = try scratchDirectory()
        let held = try DirectoryLock(directory: checkpoints)
        defer { held.release() }
        var control = control(try scratchDirectory())
        (control.checkpointDirectory, control.checkpointEvery) = (checkpoints, 5)
        let error = #expect(throws: RunError.self) {
            _ = try runInProcess(teacherRun(.dpf, samples: 20), nodes: 2, control: control)
        }
        #expect(error?.message.hasPrefix("\(checkpoints): in use by another run") == true)
    }

    @Test("a finished run is refused without --overwrite and replaced with it, no file of the old one left")
    func finishedDirectory() throws {
        let out = try scratchDirectory()
        _ = try runInProcess(teacherRun(.dpf, samples: 20), nodes: 3, control: control(out))
        let finished = try Data(contentsOf: URL(fileURLWithPath: out + "/summary.json"))
        #expect(FileManager.default.fileExists(atPath: out + "/smc-node-2.csv"))
        let ekf = teacherRun(.ekf, samples: 20, seed: 2)
        let error = #expect(throws: RunError.self) { _ = try runInProcess(ekf, nodes: 2, control: control(out)) }
        #expect(error?.status == .usage)
        #expect(
            error?.message == "--out \(out): holds a finished run (summary.json); give another --out, --overwrite "
                + "to replace it, or --resume to continue it")
        #expect(try Data(contentsOf: URL(fileURLWithPath: out + "/summary.json")) == finished)
        var replace = control(out)
        replace.overwrite = true
        let replaced = try runInProcess(ekf, nodes: 2, control: replace)
        #expect(try RunSummary(path: out + "/summary.json").algorithm == "ekf")
        let files = try FileManager.default.contentsOfDirectory(atPath: out)
        #expect(!files.contains { $0.hasPrefix("smc-node-") || $0 == "node-2.csv" }, "\(files.sorted())")
        // The same numbers as the run alone.
        #expect(replaced.predictions == (try runInProcess(ekf, nodes: 2)).predictions)
    }
}
