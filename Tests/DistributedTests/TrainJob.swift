import Foundation

/// Runs `dlstm train` (the release binary) under scripts/mpirun-local or in-process, and reads
/// what it wrote.
struct TrainJob {
    static let repositoryRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The release binary: the particle filters are far too slow unoptimised. scripts/test builds it.
    static var binary: String {
        ProcessInfo.processInfo.environment["DLSTM_BINARY"]
            ?? repositoryRoot.appendingPathComponent(".build/release/dlstm").path
    }

    struct Outcome {
        let status: Int32
        let output: String
        let errors: String
        let directory: URL

        var summary: [String: Any] {
            get throws {
                let data = try Data(contentsOf: directory.appendingPathComponent("summary.json"))
                return try JSONSerialization.jsonObject(with: data) as! [String: Any]
            }
        }
        var finalMSE: Double { get throws { try summary["final_mse"] as! Double } }

        func curve(node: Int) throws -> String {
            try String(contentsOf: directory.appendingPathComponent("node-\(node).csv"), encoding: .utf8)
        }

        /// Column `prediction` of node-K.csv.
        func predictions(node: Int) throws -> [Double] {
            try curve(node: node).split(separator: "\n").dropFirst().map { Double($0.split(separator: ",")[1])! }
        }
    }

    /// `dlstm train ARGUMENTS --out DIR`; `ranks` nil: in-process with `nodes` nodes.
    static func run(_ arguments: [String], ranks: Int?, nodes: Int? = nil, timeout: Int = 300) throws -> Outcome {
        let directory = try scratchDirectory()
        return try dlstm(
            ["train"] + arguments + ["--out", directory.appendingPathComponent("out").path], ranks: ranks, nodes: nodes,
            timeout: timeout, directory: directory)
    }

    static func scratchDirectory() throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("dlstm-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return directory
    }

    /// Any dlstm command line; stdout and stderr go to files in `directory`, and the outcome's
    /// directory is `directory`/out. `ranks` and `nodes` both nil: the command as given.
    static func dlstm(_ arguments: [String], ranks: Int?, nodes: Int? = nil, timeout: Int = 300, directory: URL) throws
        -> Outcome
    {
        guard FileManager.default.isExecutableFile(atPath: binary) else {
            throw CocoaError(
                .fileNoSuchFile, userInfo: [NSFilePathErrorKey: binary + " (build it: swift build -c release)"])
        }
        let process = Process()
        var full = arguments
        if let ranks {
            process.executableURL = repositoryRoot.appendingPathComponent("scripts/mpirun-local")
            full = ["--timeout", String(timeout), "-np", String(ranks), binary] + full
        } else {
            process.executableURL = URL(fileURLWithPath: binary)
            if let nodes { full += ["--in-process", String(nodes)] }
        }
        process.arguments = full
        // Relative paths (data/, jobs/) are the repository's, wherever the tests run from.
        process.currentDirectoryURL = repositoryRoot
        let outURL = directory.appendingPathComponent("stdout"), errURL = directory.appendingPathComponent("stderr")
        _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
        process.standardOutput = try FileHandle(forWritingTo: outURL)
        process.standardError = try FileHandle(forWritingTo: errURL)
        process.standardInput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        return Outcome(
            status: process.terminationStatus,
            output: (try? String(contentsOf: outURL, encoding: .utf8)) ?? "",
            errors: (try? String(contentsOf: errURL, encoding: .utf8)) ?? "",
            directory: directory.appendingPathComponent("out"))
    }
}
