// Multi-rank checks of the MPI binding, run under `mpirun -np K` by Tests/MPITests.
//
//   MPIScenarios NAME [--corrupt]    run one scenario; exit 0 only if every check held on every rank
//   MPIScenarios fail                one rank throws: the whole job must end promptly, non-zero
//   MPIScenarios list                the scenario names
import MPI

#if canImport(Glibc)
    import Glibc
#endif

let arguments = Array(CommandLine.arguments.dropFirst())
let name = arguments.first ?? "list"
let corrupt = arguments.contains("--corrupt")

if name == "list" {
    for scenario in scenarios { print("\(scenario.name)\t\(scenario.summary)") }
    exit(0)
}

if name == "fail" {
    MPI.run { world in
        let culprit = world.size - 1
        if world.rank == culprit {
            throw ScenarioFailure(description: "injected failure on rank \(culprit)")
        }
        // Blocks forever unless the abort reaches this rank.
        _ = try world.receive(Double.self, from: culprit, tag: 99)
    }
}

guard let scenario = scenarios.first(where: { $0.name == name }) else {
    print("unknown scenario '\(name)'; try 'list'")
    exit(2)
}

do {
    try MPI.initialize()
    let world = MPI.world
    do {
        try scenario.run(world, corrupt)
    } catch {
        MPI.abort("scenario \(scenario.name): \(error)")
    }
    let agreed = try world.allreduce(1, .sum)
    if world.rank == 0 {
        print("scenario \(scenario.name): ok on \(agreed) of \(world.size) ranks")
    }
    try MPI.finalize()
    for communicator in survivors { communicator.free() }  // after finalisation: must be a no-op
    exit(0)
} catch {
    MPI.abort("scenario \(scenario.name): \(error)")
}
