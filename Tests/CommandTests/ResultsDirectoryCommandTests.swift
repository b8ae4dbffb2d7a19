import Foundation
import ProcessTestSupport
import Testing

/// Two runs given one --out (a misconfigured job array): the second stops before any work, on every
/// rank, and the first's results are as a run alone.
@Suite("dlstm: one run per results directory", .serialized)
struct ResultsDirectoryCommandTests {
    /// What a job started on another thread returns.
    final class Pending: @unchecked Sendable {
        private let done = DispatchSemaphore(value: 0)
        private var outcome: Result<Job.Outcome, Error>?

        init(_ start: @escaping @Sendable () throws -> Job.Outcome) {
            Thread {
                self.outcome = Result { try start() }
                self.done.signal()
            }.start()
        }

        func wait() throws -> Job.Outcome {
            done.wait()
            return try outcome!.get()
        }
    }

    /// Waits until the run holding `directory` has written its name in the lock file.
    func holder(of directory: URL) throws -> String {
        let lock = directory.appendingPathComponent(".dlstm.lock")
        for _ in 0..<600 {
            if let text = try? String(contentsOf: lock, encoding: .utf8), text.hasPrefix("pid ") { return text }
            Thread.sleep(forTimeInterval: 0.05)
        }
        throw CocoaError(.fileNoSuchFile, userInfo: [NSFilePathErrorKey: lock.path])
    }

    static let long = ["train", "--algorithm", "dpf", "--samples", "20000", "--quiet"]

    @Test("a second run on a directory in use: refused on every rank, status 2; the first's results as alone")
    func concurrentRuns() throws {
        let scratch = try Job.scratchDirectory()
        let out = scratch.appendingPathComponent("out")
        let first = Pending { try Job.dlstm(Self.long + ["--out", out.path], ranks: 3, directory: scratch) }
        let holder = try holder(of: out)
        let second = try Job.dlstm(
            ["train", "--algorithm", "ekf", "--seed", "2", "--samples", "50", "--out", out.path], ranks: 2)
        #expect(second.status == 2, "\(second.errors)")
        #expect(second.errorLines.count == 1 && second.errorLines[0].contains("\(out.path): in use by another run"))
        #expect(second.errorLines.first?.contains(holder.trimmingCharacters(in: .newlines)) == true)
        let finished = try first.wait()
        #expect(finished.status == 0, "\(finished.errors)")
        let aloneScratch = try Job.scratchDirectory()
        let alone = try Job.dlstm(
            Self.long + ["--out", aloneScratch.appendingPathComponent("out").path], ranks: 3, directory: aloneScratch)
        for k in 0..<3 { #expect(try finished.curve(node: k) == alone.curve(node: k), "node \(k)") }
        #expect(try finished.file("summary.json").contains("\"algorithm\" : \"dpf\""))
    }

    @Test("a killed run's lock does not block the next run on its directory")
    func killedRun() throws {
        let scratch = try Job.scratchDirectory()
        let out = scratch.appendingPathComponent("out")
        let first = Pending {
            try Job.dlstm(Self.long + ["--in-process", "3", "--out", out.path], ranks: nil, directory: scratch)
        }
        let holder = try holder(of: out)
        let pid = try #require(Int32(holder.split(separator: " ")[1]))
        kill(pid, SIGKILL)
        #expect(try first.wait().status != 0)
        // Killed before it finished: what follows is not a run starting after a finished one.
        #expect(!FileManager.default.fileExists(atPath: out.appendingPathComponent("summary.json").path))
        let next = try Job.dlstm(["train", "--algorithm", "ekf", "--samples", "50", "--out", out.path], ranks: 2)
        #expect(next.status == 0, "\(next.errors)")
        #expect(FileManager.default.fileExists(atPath: out.appendingPathComponent("summary.json").path))
    }
}
