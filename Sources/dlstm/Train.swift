import ArgumentParser
import Distributed
import Foundation
import MPI
import Numerics
import Runs

struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train one algorithm online, one graph node per MPI rank.",
        discussion: """
            Every node receives its own stream of sequences (sample i of the data goes to node i mod K), predicts \
            each label before seeing it, records the squared error, then learns, talking only to its graph \
            neighbours. Rank 0 gathers the metrics for the report and writes DIR/summary.json and DIR/node-K.csv.

            Algorithms: sgd, ekf, pf (one per node, no communication: the paper's baselines); dsgd (diffusion \
            SGD); dekf (diffusion EKF: neighbours exchange observations, states and covariances); dpf \
            (distributed PF: particles walk between nodes); cpf (centralized PF over all K N particles: the \
            optimum DPF approaches, through an allgather).

            Examples:
              mpirun -np 4 dlstm train --algorithm dpf --out runs/dpf
              mpirun -np 4 dlstm train --algorithm dekf \\
                --data data/fx/garch_daily_usd_1980_1987.csv --column bp --normalize minmax
              dlstm train --algorithm dpf --in-process 4   # 4 nodes in one process
            """
    )

    @OptionGroup(title: "Algorithm, model and data") var options: ConfigurationOptions
    @OptionGroup(title: "Output") var output: OutputOptions
    @OptionGroup(title: "Running") var launch: LaunchOptions
    @OptionGroup(title: "Checkpoints and failures") var running: RunningOptions

    func validate() throws { try validated { try control.validate() } }

    var control: RunControl {
        var control = running.control
        control.resultsDirectory = output.out
        control.progressSeconds = output.quiet ? 0 : launch.progressEvery
        return control
    }

    func run() throws {
        useOneBLASThreadPerProcess()
        // Before MPI and the data, which can take a while: a signal that came in that window would
        // otherwise kill the process (its default action) instead of asking for a clean stop.
        var control = self.control
        installStopSignalHandlers()
        control.stopSignal = { stopSignal }
        let run = TrainingRun(
            configuration: options.configuration, control: control,
            observer: output.quiet ? nil : ConsoleObserver())
        if let nodes = launch.inProcess {
            try runInProcess {
                _ = try run.run(
                    on: InProcessNetwork(topology: Topology.named(options.topology, nodes: nodes, seed: options.seed)))
            }
        } else {
            runUnderMPI { world in
                let network = try makeMPINetwork(
                    world: world, topology: options.topology, seed: options.seed, nodes: launch.nodes)
                _ = try run.run(on: network, context: try RunContext(world: world))
            }
        }
    }
}
