import Foundation

/// Runs a program of this package under `scripts/mpirun-local -np K`, or alone, and collects what
/// it did, as MPI.jl's tests do with `mpiexec`: the exit status is the verdict, the output the
/// evidence. For the tests of a transport, the command line and exit statuses; everything else is
/// tested in-process through the libraries.
public enum Job {
    public struct Outcome {
        public let status: Int32
        public let output: String
        public let errors: String
        public let seconds: Double
        /// `--out` of a `dlstm train` started by `train(...)`.
        public let directory: URL

        public var summary: [String: Any] {
            get throws {
                let data = try Data(contentsOf: directory.appendingPathComponent("summary.json"))
                return try JSONSerialization.jsonObject(with: data) as! [String: Any]
            }
        }
        public var finalMSE: Double { get throws { try summary["final_mse"] as! Double } }

        public func curve(node: Int) throws -> String { try file("node-\(node).csv") }

        /// A result file's text.
        public func file(_ name: String) throws -> String {
            try String(contentsOf: directory.appendingPathComponent(name), encoding: .utf8)
        }

        /// The lines of rank 0's "dlstm: error: ..." on standard error.
        public var errorLines: [Substring] { errors.split(separator: "\n").filter { $0.contains("dlstm: error:") } }
    }

    public static let repositoryRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// Where `swift build` put the executables: beside the test bundle, unless overridden.
    public static var productsDirectory: URL {
        if let override = ProcessInfo.processInfo.environment["DLSTM_PRODUCTS_DIR"] {
            return URL(fileURLWithPath: override)
        }
        return URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
    }

    /// The release dlstm: the particle filters are far too slow unoptimised. scripts/test builds it.
    public static var dlstmBinary: String {
        ProcessInfo.processInfo.environment["DLSTM_BINARY"]
            ?? repositoryRoot.appendingPathComponent(".build/release/dlstm").path
    }

    public static func scratchDirectory() throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("dlstm-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return directory
    }

    /// `executable arguments...` on `ranks` ranks (mpirun's --timeout turns a hang into a failure),
    /// or alone when `ranks` is nil. Standard output and error go to files in `directory` (files, not
    /// pipes: a chatty job cannot fill a pipe and stall); the working directory is the repository's,
    /// so relative paths (data/, jobs/) resolve.
    public static func run(
        _ executable: String, _ arguments: [String], ranks: Int?, timeout: Int = 300,
        directory: URL? = nil, environment: [String: String] = [:]
    ) throws -> Outcome {
        guard FileManager.default.isExecutableFile(atPath: executable) else {
            throw CocoaError(.fileNoSuchFile, userInfo: [NSFilePathErrorKey: executable + " (build it first)"])
        }
        let directory = try directory ?? scratchDirectory()
        let process = Process()
        if let ranks {
            process.executableURL = repositoryRoot.appendingPathComponent("scripts/mpirun-local")
            process.arguments = ["--timeout", String(timeout), "-np", String(ranks), executable] + arguments
        } else {
            process.executableURL = URL(fileURLWithPath: executable)
            process.arguments = arguments
        }
        process.currentDirectoryURL = repositoryRoot
        if !environment.isEmpty {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        }
        let outURL = directory.appendingPathComponent("stdout"), errURL = directory.appendingPathComponent("stderr")
        _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
        process.standardOutput = try FileHandle(forWritingTo: outURL)
        process.standardError = try FileHandle(forWritingTo: errURL)
        process.standardInput = FileHandle.nullDevice
        let start = Date()
        try process.run()
        process.waitUntilExit()
        return Outcome(
            status: process.terminationStatus,
            output: (try? String(contentsOf: outURL, encoding: .utf8)) ?? "",
            errors: (try? String(contentsOf: errURL, encoding: .utf8)) ?? "",
            seconds: Date().timeIntervalSince(start), directory: directory.appendingPathComponent("out"))
    }

    /// Any dlstm command line, under mpirun on `ranks` ranks or alone (nil).
    public static func dlstm(
        _ arguments: [String], ranks: Int?, timeout: Int = 300, directory: URL? = nil,
        environment: [String: String] = [:]
    ) throws -> Outcome {
        try run(dlstmBinary, arguments, ranks: ranks, timeout: timeout, directory: directory, environment: environment)
    }

    /// `dlstm train ARGUMENTS --out DIR/out`, under mpirun on `ranks` ranks, or with `--in-process
    /// nodes` when `ranks` is nil.
    public static func train(_ arguments: [String], ranks: Int?, nodes: Int? = nil, timeout: Int = 300) throws
        -> Outcome
    {
        let directory = try scratchDirectory()
        var full = ["train"] + arguments + ["--out", directory.appendingPathComponent("out").path]
        if ranks == nil, let nodes { full += ["--in-process", String(nodes)] }
        return try dlstm(full, ranks: ranks, timeout: timeout, directory: directory)
    }
}
