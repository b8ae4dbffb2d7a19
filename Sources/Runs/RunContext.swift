import Foundation
import MPI

/// Where a run happens, for its banner and summary: processes, hosts, MPI library, Slurm job.
public struct RunContext: Sendable {
    public var processes: Int
    public var placement: String
    public var environmentLines: [String]

    public init(processes: Int, placement: String, environmentLines: [String]) {
        (self.processes, self.placement, self.environmentLines) = (processes, placement, environmentLines)
    }

    public static var inProcess: RunContext {
        RunContext(
            processes: 1, placement: "simulated in one process on \(localHostName())", environmentLines: slurmLines())
    }

    /// Collective: every rank's host name goes to every rank.
    public init(world: Communicator) throws {
        let name = (try? MPI.processorName()) ?? "?"
        let hosts = try world.allgatherv(Array(name.utf8)).map { String(decoding: $0, as: UTF8.self) }
        var ranksPerHost = [(String, Int)]()
        for host in hosts {
            if let i = ranksPerHost.firstIndex(where: { $0.0 == host }) {
                ranksPerHost[i].1 += 1
            } else {
                ranksPerHost.append((host, 1))
            }
        }
        processes = world.size
        placement =
            "MPI, \(world.size) rank\(world.size == 1 ? "" : "s") on "
            + "\(ranksPerHost.count) host\(ranksPerHost.count == 1 ? "" : "s") ("
            + ranksPerHost.map { "\($0.0) x\($0.1)" }.joined(separator: ", ") + ")"
        let library =
            ((try? MPI.libraryVersion()) ?? "unknown").split(separator: "\n").first.map(String.init) ?? "unknown"
        environmentLines = ["MPI library: " + library] + RunContext.slurmLines()
    }

    /// This process's rank when started by mpirun or srun, read from the launcher's environment
    /// before MPI is initialised (so that errors found while parsing options are printed once).
    public static var launcherRank: Int? {
        let environment = ProcessInfo.processInfo.environment
        for key in ["OMPI_COMM_WORLD_RANK", "PMIX_RANK", "PMI_RANK", "SLURM_PROCID"] {
            if let value = environment[key], let rank = Int(value) { return rank }
        }
        return nil
    }

    private static func slurmLines() -> [String] {
        let environment = ProcessInfo.processInfo.environment
        guard let job = environment["SLURM_JOB_ID"] else { return [] }
        var line = "Slurm job \(job)"
        if let task = environment["SLURM_ARRAY_TASK_ID"], let array = environment["SLURM_ARRAY_JOB_ID"] {
            line += " (array \(array), task \(task))"
        }
        if let name = environment["SLURM_JOB_NAME"] { line += ", name \(name)" }
        if let nodes = environment["SLURM_JOB_NODELIST"] { line += ", nodes \(nodes)" }
        return [line]
    }
}

func localHostName() -> String {
    var buffer = [CChar](repeating: 0, count: 256)
    guard gethostname(&buffer, buffer.count) == 0 else { return "?" }
    return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}
