import Foundation

/// What a checkpoint directory holds, for `dlstm checkpoint inspect DIR`: the complete checkpoints
/// (`latest`, then `previous`), and for each its step, algorithm, node count, configuration and
/// whether every process's file verifies (its SHA-256), as `--resume` would check them.
public struct CheckpointInspection {
    public struct Checkpoint {
        public var name: String
        public var step: Int
        /// Each process's file: its name, size in bytes, and nil when it verifies, else why not.
        public var files: [(name: String, bytes: Int, problem: String?)]
        /// From the first file that verifies.
        public var algorithm: String?
        public var nodes: Int?
        public var configuration: TrainingConfiguration?
        /// One file per node, and every one verifies.
        public var verified: Bool
    }

    public let directory: String
    public let checkpoints: [Checkpoint]

    /// Reads and verifies every file of the kept checkpoints (no MPI). A directory without
    /// `latest` is one line, status 3.
    public init(directory: String) throws {
        self.directory = directory
        let store = CheckpointStore(directory: directory)
        let steps = store.committedSteps()
        guard !steps.isEmpty else {
            throw RunError("\(directory): no checkpoint here (no file 'latest')", status: .data)
        }
        checkpoints = steps.enumerated().map { index, step in
            let folder = "\(directory)/step-\(step)"
            let nodes =
                ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? [])
                .compactMap { name in name.hasPrefix("node-") ? Int(name.dropFirst(5).dropLast(5)) : nil }.sorted()
            var checkpoint = Checkpoint(
                name: index == 0 ? "latest" : "previous", step: step, files: [], verified: !nodes.isEmpty)
            for node in nodes {
                let path = store.file(step: step, node: node)
                let bytes = ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int) ?? 0
                do {
                    let (header, _) = try store.read(step: step, node: node)
                    if checkpoint.configuration == nil {
                        (checkpoint.algorithm, checkpoint.nodes) = (header.algorithm, header.nodes)
                        checkpoint.configuration = header.configuration
                    }
                    checkpoint.files.append(("node-\(node).ckpt", bytes, nil))
                } catch {
                    checkpoint.files.append(("node-\(node).ckpt", bytes, RunError(error).message))
                    checkpoint.verified = false
                }
            }
            if checkpoint.nodes.map({ $0 != nodes.count }) ?? false { checkpoint.verified = false }
            return checkpoint
        }
    }

    /// The checkpoint `--resume` would use: the newest whose files all verify.
    public var usable: Checkpoint? { checkpoints.first(where: \.verified) }

    /// The report, as `dlstm checkpoint inspect` prints it.
    public func report() throws -> String {
        var lines = [String]()
        for checkpoint in checkpoints {
            let what = [checkpoint.algorithm, checkpoint.nodes.map { "\($0) nodes" }].compactMap { $0 }
            lines.append(
                "\(checkpoint.name): step \(checkpoint.step) (\(directory)/step-\(checkpoint.step))"
                    + (what.isEmpty ? "" : ", " + what.joined(separator: ", "))
                    + (checkpoint.verified ? ", verified" : ", NOT usable"))
            if checkpoint.files.isEmpty { lines.append("  no files") }
            for file in checkpoint.files {
                lines.append(
                    "  \(file.name)  \(file.bytes) bytes  "
                        + (file.problem.map { "FAILS: \($0)" } ?? "SHA-256 verified"))
            }
        }
        if let configuration = usable?.configuration {
            lines.append("configuration (resume with these options):")
            lines += try configuration.toml().split(separator: "\n").map { "  " + $0 }
        }
        lines.append(
            usable.map { "--resume would continue after step \($0.step) (\($0.name))" }
                ?? "--resume would refuse: no checkpoint verifies")
        return lines.joined(separator: "\n")
    }
}
