import Distributed
import Testing

@testable import Runs

/// The memory check before a run: the estimate, the offer and the refusal.
@Suite("the memory budget")
struct MemoryBudgetTests {
    let meminfo = "MemTotal:       25000000 kB\nMemAvailable:   16000000 kB\n"

    func budget(_ change: (inout TrainingConfiguration) -> Void, environment: [String: String] = [:]) -> MemoryBudget {
        var configuration = TrainingConfiguration()
        change(&configuration)
        return MemoryBudget(
            configuration: configuration, inputSize: 2, nodes: 4, localNodes: 1, environment: environment,
            meminfo: meminfo)
    }

    @Test("the DEKF's P at n = 32 (n_a = 4576 with p = 2) and the DPF's stores are estimated from the sizes")
    func estimates() {
        let dekf = budget { ($0.algorithm, $0.hidden) = (.dekf, 32) }
        // n_theta = 4 n (n + p + 1) + n = 4512 at n = 32, p = 2; n_a = 2 n + n_theta = 4576.
        #expect(dekf.neededBytes >= 4576.0 * 4576 * 8 && dekf.neededBytes < 2 * 4576.0 * 4576 * 8)
        let dpf = budget { $0.particles = 1000 }
        #expect(dpf.neededBytes >= 4 * 1000 * 42 * 8)
        #expect(dpf.availableBytes == Double(16_000_000 * 1024))
    }

    @Test("the least of MemAvailable, SLURM_MEM_PER_NODE per local process and SLURM_MEM_PER_CPU is the offer")
    func offers() throws {
        let slurm = budget(
            { _ in }, environment: ["SLURM_MEM_PER_NODE": "4000", "OMPI_COMM_WORLD_LOCAL_SIZE": "4"])
        #expect(slurm.availableBytes == Double(1000 * 1_048_576) && slurm.source.hasPrefix("SLURM_MEM_PER_NODE"))
        let perCPU = budget({ _ in }, environment: ["SLURM_MEM_PER_CPU": "500", "SLURM_CPUS_PER_TASK": "2"])
        #expect(perCPU.availableBytes == Double(1000 * 1_048_576))
        // A run that fits passes; one that does not is refused with status 2 and the figures.
        try budget { $0.hidden = 8 }.check(TrainingConfiguration())
        var big = TrainingConfiguration()
        big.particles = 100_000_000
        let refused = #expect(throws: RunError.self) {
            try MemoryBudget(configuration: big, inputSize: 2, nodes: 4, localNodes: 1, meminfo: meminfo).check(big)
        }
        #expect(refused?.status == .usage)
        #expect(refused?.message.contains("N = 100000000 particles of n_theta = 42") == true)
    }
}
