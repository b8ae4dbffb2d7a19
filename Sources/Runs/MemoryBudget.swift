import Distributed
import Foundation
import LSTM

/// What a run will hold in memory per process, estimated from its configuration before anything
/// is allocated, against what this machine or the Slurm allocation offers: a run that cannot fit
/// stops with one line and status 2 on every rank instead of a crash trace or a silent crawl.
/// The estimate counts the large buffers only (particle stores, covariances, the teacher), so it
/// errs low: a refused run would certainly not have fitted.
public struct MemoryBudget: Sendable {
    /// Bytes per process the run needs, roughly.
    public var neededBytes: Double
    /// Bytes per process on offer, and where that figure comes from.
    public var availableBytes: Double?
    public var source: String
    /// The sizes the estimate rests on, for the message.
    public var sizes: String

    public init(
        configuration c: TrainingConfiguration, inputSize: Int, nodes: Int, localNodes: Int,
        environment: [String: String] = ProcessInfo.processInfo.environment, meminfo: String? = nil
    ) {
        let shape = c.modelShape(inputSize: inputSize)
        let nTheta = Double(shape.parameterCount), nA = Double(shape.stateCount)
        let perNode: Double
        switch c.algorithm {
        // The N particles and a move's arrivals, the room resampling selects into, the walk's messages;
        // a walk that may stay keeps the stayers' slots from earlier moves, up to 3 N in all.
        case .pf, .dpf:
            perNode = (c.algorithm == .dpf && c.walk != .simple ? 6 : 4) * Double(c.particles) * nTheta * 8
            sizes = "N = \(c.particles) particles of n_theta = \(shape.parameterCount)"
        // The common cloud of K N particles and the room it is resampled into.
        case .cpf:
            perNode = 2 * Double(c.particles) * Double(nodes) * nTheta * 8
            sizes = "K N = \(c.particles * nodes) particles of n_theta = \(shape.parameterCount)"
        // P, n_a x n_a (DEKF combines in place: 1.27 P measured at n = 32).
        case .ekf, .dekf:
            perNode = nA * nA * 8
            sizes = "P of n_a^2 = \(shape.stateCount)^2 doubles"
        default:
            perNode = 16 * nTheta * 8
            sizes = "n_theta = \(shape.parameterCount)"
        }
        var needed = perNode * Double(localNodes)
        if c.data == "teacher" {
            needed += Double(LSTMShape(hidden: c.teacherHidden ?? c.hidden, input: c.teacherInput).parameterCount) * 8
        }
        neededBytes = needed
        // Processes of this job on this host share its memory.
        let local = Double(environment["OMPI_COMM_WORLD_LOCAL_SIZE"].flatMap(Int.init) ?? 1)
        var offers = [(Double, String)]()
        if let text = meminfo ?? (try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8)),
            let line = text.split(separator: "\n").first(where: { $0.hasPrefix("MemAvailable:") }),
            let kilobytes = Double(line.split(separator: " ").dropFirst().first ?? "")
        {
            offers.append((kilobytes * 1024 / local, "MemAvailable / \(Int(local)) process(es) on this host"))
        }
        if let megabytes = environment["SLURM_MEM_PER_NODE"].flatMap(Double.init) {
            offers.append((megabytes * 1_048_576 / local, "SLURM_MEM_PER_NODE / \(Int(local)) process(es)"))
        }
        if let megabytes = environment["SLURM_MEM_PER_CPU"].flatMap(Double.init) {
            let cpus = Double(environment["SLURM_CPUS_PER_TASK"].flatMap(Int.init) ?? 1)
            offers.append((megabytes * 1_048_576 * cpus, "SLURM_MEM_PER_CPU x \(Int(cpus)) CPU(s) per task"))
        }
        let least = offers.min { $0.0 < $1.0 }
        (availableBytes, source) = (least?.0, least?.1 ?? "unknown")
    }

    /// Throws the one-line refusal when the estimate exceeds the offer.
    public func check(_ configuration: TrainingConfiguration) throws {
        guard let availableBytes, neededBytes > availableBytes else { return }
        throw RunError(
            "memory: \(configuration.algorithm.rawValue) at --hidden \(configuration.hidden) (\(sizes)) needs about "
                + "\(gigabytes(neededBytes)) per process; "
                + "\(gigabytes(availableBytes)) is offered (\(source))",
            status: .usage)
    }

    private func gigabytes(_ bytes: Double) -> String { String(format: "%.3g GB", bytes / 1e9) }
}
