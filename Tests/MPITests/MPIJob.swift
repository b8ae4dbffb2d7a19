import Foundation

/// Runs a program under `scripts/mpirun-local -np K` and collects what it did, as MPI.jl's tests
/// do with `mpiexec`: the exit status is the verdict, the output the evidence.
struct MPIJob {
    struct Outcome {
        let status: Int32
        let output: String
        let errors: String
        let seconds: Double
    }

    static let repositoryRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// Where `swift build` put the executables: beside the test bundle, unless overridden.
    static var productsDirectory: URL {
        if let override = ProcessInfo.processInfo.environment["DLSTM_PRODUCTS_DIR"] {
            return URL(fileURLWithPath: override)
        }
        return URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
    }

    /// Runs `program arguments...` on `ranks` ranks; `mpirun --timeout` turns a hang into a failure.
    static func run(_ program: String, _ arguments: [String], ranks: Int, timeout: Int = 60) throws -> Outcome {
        let executable = productsDirectory.appendingPathComponent(program).path
        guard FileManager.default.isExecutableFile(atPath: executable) else {
            throw CocoaError(.fileNoSuchFile, userInfo: [NSFilePathErrorKey: executable])
        }
        let process = Process()
        process.executableURL = repositoryRoot.appendingPathComponent("scripts/mpirun-local")
        process.arguments = ["--timeout", String(timeout), "-np", String(ranks), executable] + arguments
        // Files, not pipes: a chatty job cannot fill a pipe and stall.
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("mpijob-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let outURL = directory.appendingPathComponent("out"), errURL = directory.appendingPathComponent("err")
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
            seconds: Date().timeIntervalSince(start))
    }
}
