import Distributed
import Foundation
import RunTestSupport
import Testing
import Trainers

@testable import Runs

/// Checkpoint and restart through the library, in one process: a run stopped at a step boundary
/// and resumed must give the same curves and traffic, bit for bit, as the same run left alone.
@Suite("checkpoint and resume, in-process")
struct ResumeTests {
    func control(checkpoints: String, stopAt step: Int? = nil, every: Int = 0, resume: Bool = false) -> RunControl {
        var control = RunControl()
        (control.checkpointDirectory, control.checkpointEvery, control.resume) = (checkpoints, every, resume)
        control.faults.stopAtStep = step
        return control
    }

    @Test(
        "stopped at a step boundary and resumed, every algorithm with checkpoints continues bit for bit",
        arguments: [
            (Algorithm.sgd, 3), (.ekf, 5), (.pf, 3), (.dsgd, 3), (.dekf, 3), (.dekf, 4), (.dpf, 3), (.dpf, 4),
            (.avg, 3),
            (.gm, 3), (.fgm, 4), (.elm, 3), (.delm, 4),
        ])
    func stopAndResume(algorithm: Algorithm, nodes: Int) throws {
        // Long enough that the stop, agreed at the next collective check (at most 1000 steps or about
        // 0.25 s later), comes before the end.
        let configuration = teacherRun(algorithm, samples: 1500, seed: 9) {
            ($0.walk, $0.particles, $0.threshold, $0.syncEvery) = (.metropolis, 20, 0.003, 2)
        }
        try expectResumes(configuration, nodes: nodes)
    }

    @Test(
        "with --observation-noise auto the estimate is checkpointed: resumed bit for bit",
        arguments: [Algorithm.ekf, .pf, .dekf, .dpf])
    func resumeWithEstimatedNoise(algorithm: Algorithm) throws {
        let configuration = teacherRun(algorithm, samples: 1500, seed: 9) {
            ($0.particles, $0.observationNoise) = (20, .auto)
        }
        try expectResumes(configuration, nodes: 3)
    }

    @Test(
        "with the direct link, v is checkpointed with the rest: resumed bit for bit", arguments: [Algorithm.dekf, .dpf])
    func resumeWithDirectLink(algorithm: Algorithm) throws {
        let configuration = teacherRun(algorithm, samples: 1500, seed: 9) {
            ($0.particles, $0.directLink) = (20, true)
        }
        try expectResumes(configuration, nodes: 3)
    }

    func expectResumes(_ configuration: TrainingConfiguration, nodes: Int) throws {
        let algorithm = configuration.algorithm
        let whole = try runInProcess(configuration, nodes: nodes)
        let checkpoints = try scratchDirectory()
        let stopped = #expect(throws: RunError.self) {
            _ = try runInProcess(configuration, nodes: nodes, control: control(checkpoints: checkpoints, stopAt: 10))
        }
        #expect(stopped?.status == .checkpointed && stopped?.isCollective == true)
        let step = try #require(CheckpointStore(directory: checkpoints).committedSteps().first)
        #expect(step >= 10 && step < 1500)
        let resumed = try runInProcess(
            configuration, nodes: nodes, control: control(checkpoints: checkpoints, resume: true))
        #expect(resumed.predictions == whole.predictions)
        #expect(resumed.records.map(\.labels) == whole.records.map(\.labels))
        #expect(resumed.records.map(\.traffic.bytesSent) == whole.records.map(\.traffic.bytesSent))
        #expect(resumed.records.map(\.diagnostics) == whole.records.map(\.diagnostics))
        #expect(resumed.trace == whole.trace)
        #expect(resumed.records.map(\.filterTrace) == whole.records.map(\.filterTrace))
        #expect(whole.records[0].filterTrace.isEmpty == ![.pf, .dpf].contains(algorithm))
        if algorithm.hasCoordinator { #expect(whole.records[0].diagnostics["full_syncs"]! > 0) }
    }

    @Test(
        "Adam with mini-batches, local and diffusion: stopped and resumed bit for bit",
        arguments: [Algorithm.sgd, .dsgd])
    func adamResume(algorithm: Algorithm) throws {
        let configuration = teacherRun(algorithm, samples: 1500, seed: 9) {
            ($0.optimizer, $0.batch, $0.learningRate) = (.adam, 3, 0.01)
        }
        let whole = try runInProcess(configuration, nodes: 3)
        let checkpoints = try scratchDirectory()
        let stopped = #expect(throws: RunError.self) {
            _ = try runInProcess(configuration, nodes: 3, control: control(checkpoints: checkpoints, stopAt: 10))
        }
        #expect(stopped?.status == .checkpointed)
        let resumed = try runInProcess(
            configuration, nodes: 3, control: control(checkpoints: checkpoints, resume: true))
        #expect(resumed.predictions == whole.predictions)
        let sgd = try runInProcess(teacherRun(algorithm, samples: 1500, seed: 9), nodes: 3)
        #expect(sgd.predictions != whole.predictions)  // the optimiser is in use
    }

    @Test("periodic checkpoints survive a crash: resume from the last one, same results")
    func crashAndResume() throws {
        let configuration = teacherRun(.dpf, samples: 200, seed: 4)
        let whole = try runInProcess(configuration, nodes: 3)
        let checkpoints = try scratchDirectory()
        var crashing = control(checkpoints: checkpoints, every: 50)
        crashing.faults.failure = InjectedFailure("2:130")
        #expect(throws: RunError("injected failure at node 2, step 130 (--inject-failure)", status: .failure)) {
            _ = try runInProcess(configuration, nodes: 3, control: crashing)
        }
        #expect(try String(contentsOfFile: checkpoints + "/latest", encoding: .utf8) == "step-100\n")
        let resumed = try runInProcess(
            configuration, nodes: 3, control: control(checkpoints: checkpoints, resume: true))
        #expect(resumed.predictions == whole.predictions)
    }

    @Test(
        "a byte flipped in the newest checkpoint: resume falls back to the one before, bit for bit; both: status 3",
        arguments: ["header", "numbers", "checksum"])
    func damagedCheckpointFallsBack(part: String) throws {
        let configuration = teacherRun(.dpf, samples: 200, seed: 4)
        let whole = try runInProcess(configuration, nodes: 3)
        let checkpoints = try scratchDirectory()
        var crashing = control(checkpoints: checkpoints, every: 50)
        crashing.faults.failure = InjectedFailure("1:180")
        #expect(throws: RunError.self) { _ = try runInProcess(configuration, nodes: 3, control: crashing) }
        // The last two complete checkpoints are kept, and only they.
        let entries = try FileManager.default.contentsOfDirectory(atPath: checkpoints).filter { $0.hasPrefix("step-") }
        #expect(Set(entries) == ["step-100", "step-150"])
        #expect(try String(contentsOfFile: checkpoints + "/previous", encoding: .utf8) == "step-100\n")

        let newest = checkpoints + "/step-150/node-0.ckpt"
        let original = try Data(contentsOf: URL(fileURLWithPath: newest))
        let headerLength = Int(original.subdata(in: 8..<16).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) })
        let offset = ["header": 16 + headerLength / 2, "numbers": (16 + headerLength + original.count) / 2][part]
        var damaged = original
        damaged[offset ?? original.count - 1] ^= 0x10
        try damaged.write(to: URL(fileURLWithPath: newest))

        let observer = ResumeRecorder()
        var resuming = control(checkpoints: checkpoints, resume: true)
        resuming.progressSeconds = 0
        let resumed = try TrainingRun(configuration: configuration, control: resuming, observer: observer).run(
            on: InProcessNetwork(topology: try Topology.ring(3)))!
        #expect(resumed.predictions == whole.predictions)
        #expect(observer.step == 100 && observer.rejected.count == 1)
        #expect(observer.rejected.first?.contains("step-150/node-0.ckpt: ") == true, "\(observer.rejected)")

        // Both damaged: nothing to resume from.
        let older = checkpoints + "/step-100/node-0.ckpt"
        var olderData = try Data(contentsOf: URL(fileURLWithPath: older))
        olderData[olderData.count / 2] ^= 0x01
        try olderData.write(to: URL(fileURLWithPath: older))
        let refused = #expect(throws: RunError.self) {
            _ = try runInProcess(configuration, nodes: 3, control: control(checkpoints: checkpoints, resume: true))
        }
        #expect(refused?.status == .data && refused?.isCollective == true)
        #expect(refused?.message.contains("verifies on every process") == true)
        #expect(refused?.message.contains("step-150") == true && refused?.message.contains("step-100") == true)
        #expect(refused?.message.contains("SHA-256 does not match") == true, "\(refused?.message ?? "")")
        #expect(refused?.message.contains("\n") == false)
    }

    @Test("checkpoint inspect: the kept checkpoints, each file verified or not, and the one --resume would use")
    func inspection() throws {
        let configuration = teacherRun(.dekf, samples: 60, seed: 4)
        let checkpoints = try scratchDirectory()
        _ = try runInProcess(configuration, nodes: 3, control: control(checkpoints: checkpoints, every: 20))
        var inspection = try CheckpointInspection(directory: checkpoints)
        #expect(inspection.checkpoints.map(\.step) == [40, 20] && inspection.usable?.step == 40)
        #expect(inspection.checkpoints[0].configuration == configuration && inspection.checkpoints[0].nodes == 3)
        #expect(try inspection.report().contains("--resume would continue after step 40 (latest)"))
        let file = URL(fileURLWithPath: checkpoints + "/step-40/node-0.ckpt")
        var data = try Data(contentsOf: file)
        data[data.count / 2] ^= 0x01
        try data.write(to: file)
        inspection = try CheckpointInspection(directory: checkpoints)
        #expect(!inspection.checkpoints[0].verified && inspection.usable?.step == 20)
        #expect(inspection.checkpoints[0].files.first?.problem?.contains("SHA-256 does not match") == true)
        #expect(try inspection.report().contains("--resume would continue after step 20 (previous)"))
        #expect(throws: RunError.self) { _ = try CheckpointInspection(directory: try scratchDirectory()) }
    }

    @Test("refusals: another configuration, no checkpoint, an algorithm without checkpoints, an old or damaged file")
    func refusals() throws {
        let configuration = teacherRun(.dpf, samples: 60, seed: 4)
        let checkpoints = try scratchDirectory()
        _ = try runInProcess(configuration, nodes: 3, control: control(checkpoints: checkpoints, every: 20))
        let file = checkpoints + "/step-40/node-0.ckpt"
        #expect(FileManager.default.fileExists(atPath: file))

        var changed = configuration
        changed.particles = 40
        let refused = #expect(throws: RunError.self) {
            _ = try runInProcess(changed, nodes: 3, control: control(checkpoints: checkpoints, resume: true))
        }
        #expect(refused?.status == .usage && refused?.message.contains("written by a different configuration") == true)
        #expect(refused?.isCollective == true)

        let empty = try scratchDirectory()
        let none = #expect(throws: RunError.self) {
            _ = try runInProcess(configuration, nodes: 3, control: control(checkpoints: empty, resume: true))
        }
        #expect(none?.message == "--resume: no checkpoint in \(empty) (no file 'latest')" && none?.status == .usage)

        let unsupported = #expect(throws: RunError.self) {
            _ = try runInProcess(teacherRun(.cpf, samples: 20), nodes: 3, control: control(checkpoints: empty))
        }
        #expect(
            unsupported?.message.contains("not supported yet: checkpoints of cpf") == true
                && unsupported?.status == .usage)

        // Format version 1 (the header's "version": "1") in both kept checkpoints is refused with one
        // line, status 3.
        let older = checkpoints + "/step-20/node-0.ckpt"
        let original = try Data(contentsOf: URL(fileURLWithPath: file))
        try withHeader(of: older, replacing: "\"version\":3", with: "\"version\":\"1\"") {
            try withHeader(of: file, replacing: "\"version\":3", with: "\"version\":\"1\"") {
                let old = #expect(throws: RunError.self) {
                    _ = try runInProcess(
                        configuration, nodes: 3, control: control(checkpoints: checkpoints, resume: true))
                }
                #expect(
                    old?.status == .data
                        && old?.message.contains("checkpoint format version 1; this dlstm reads version 3") == true)
            }
        }
        // Truncated files.
        let olderOriginal = try Data(contentsOf: URL(fileURLWithPath: older))
        try original.dropLast(8).write(to: URL(fileURLWithPath: file))
        try olderOriginal.dropLast(40).write(to: URL(fileURLWithPath: older))
        let truncated = #expect(throws: RunError.self) {
            _ = try runInProcess(configuration, nodes: 3, control: control(checkpoints: checkpoints, resume: true))
        }
        #expect(truncated?.status == .data && truncated?.message.contains("truncated or damaged checkpoint") == true)
    }

    /// Runs `body` with the checkpoint at `path` rewritten so that its header has `replacement`
    /// instead of `text` (same length or not: the header length is rewritten too).
    func withHeader(of path: String, replacing text: String, with replacement: String, _ body: () throws -> Void) throws
    {
        let original = try Data(contentsOf: URL(fileURLWithPath: path))
        let length = Int(original.subdata(in: 8..<16).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) })
        let header = String(decoding: original.subdata(in: 16..<(16 + length)), as: UTF8.self)
        #expect(header.contains(text))
        let changed = Data(header.replacingOccurrences(of: text, with: replacement).utf8)
        var data = original.prefix(8)
        withUnsafeBytes(of: UInt64(changed.count).littleEndian) { data.append(contentsOf: $0) }
        data.append(changed)
        data.append(original.suffix(from: 16 + length))
        try data.write(to: URL(fileURLWithPath: path))
        try body()
        try original.write(to: URL(fileURLWithPath: path))
    }

    @Test("a checkpoint file reads back the records it was written with, names and numbers")
    func roundTrip() throws {
        let store = CheckpointStore(directory: try scratchDirectory())
        var first = CheckpointRecord()
        first.append("step", 7)
        first.append("particles", [1.5, -.infinity, 2e-300, .greatestFiniteMagnitude])
        var second = CheckpointRecord()
        second.append("trainer", first)
        second.append("empty", [Double]())
        let header = CheckpointStore.Header(
            algorithm: "dpf", nodes: 2, node: 1, step: 7, configuration: TrainingConfiguration())
        try store.write(header: header, records: [first, second])
        let (readHeader, records) = try store.read(step: 7, node: 1)
        #expect(records == [first, second])
        #expect(readHeader.configuration == TrainingConfiguration() && readHeader.node == 1)
        #expect(try records[1].record("trainer").int("step") == 7)
        #expect(throws: TrainerError.self) { try records[0].doubles("particles", count: 3) }
        #expect(throws: TrainerError.self) { try records[0].int("missing") }
    }
}

/// Records what a resumed run says about its checkpoint.
final class ResumeRecorder: RunObserver {
    var step = 0
    var rejected = [String]()
    func resumed(afterStep step: Int, from directory: String, rejected: [String]) {
        (self.step, self.rejected) = (step, rejected)
    }
}
