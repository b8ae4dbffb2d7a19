import ArgumentParser
import Benchmarks
import Foundation
import Numerics

struct BenchModel: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "model",
        abstract: "Particle-kernel throughput and EKF step cost on one core (no MPI needed).",
        discussion: """
            Particle kernel: particle-columns per second, one particle evaluated on one sequence
            column, for the batched kernel and for the scalar reference model (a plain loop per
            particle) side by side. EKF: seconds per step (predict, update) at several n with p = n.
            Build in release mode first:

              swift build -c release && .build/release/dlstm bench model
            """
    )

    @Option(help: "Particles.") var particles = 80
    @Option(help: "Columns per sequence.") var length = 10
    @Option(help: "Seconds to spend on each measurement (at least).") var seconds = 1.0
    @Option(help: "Model sizes n x p for the kernel, comma-separated.") var shapes = "2x2,8x8,32x32"
    @Flag(help: "Skip the scalar reference (for profiling the kernel alone).") var kernelOnly = false

    func validate() throws {
        guard parsedShapes != nil else {
            throw ValidationError("--shapes takes sizes like 2x2,32x32 (n x p, each >= 1)")
        }
        guard particles >= 1, length >= 1, seconds > 0 else {
            throw ValidationError("--particles and --length must be at least 1, --seconds positive")
        }
    }

    var parsedShapes: [(Int, Int)]? {
        var result = [(Int, Int)]()
        for item in shapes.split(separator: ",") {
            let parts = item.split(separator: "x").compactMap { Int($0) }
            guard parts.count == 2, parts[0] >= 1, parts[1] >= 1 else { return nil }
            result.append((parts[0], parts[1]))
        }
        return result.isEmpty ? nil : result
    }

    func run() throws {
        useOneBLASThreadPerProcess()
        runModelBenchmark(
            particles: particles, length: length, seconds: seconds, shapes: parsedShapes!, kernelOnly: kernelOnly)
    }
}
