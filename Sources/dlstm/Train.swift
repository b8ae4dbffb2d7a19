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
    @OptionGroup(title: "Running") var running: RunningOptions

    func validate() throws { try validated { try control.validate() } }

    var control: RunControl {
        var control = running.control
        control.resultsDirectory = output.out
        if output.quiet { control.progressSeconds = 0 }
        return control
    }

    func run() throws {
        useOneBLASThreadPerProcess()
        // Before MPI and the data, which can take a while: a SIGUSR1 that came in that window would
        // otherwise kill the process (its default action) instead of asking for a checkpoint.
        var control = self.control
        if control.checkpointStore != nil {
            installStopSignalHandler()
            control.stopRequested = { stopRequested }
        }
        let run = TrainingRun(
            configuration: options.configuration, control: control,
            observer: output.quiet ? nil : ConsoleObserver())
        if let nodes = running.inProcess {
            try runInProcess {
                _ = try run.run(
                    on: InProcessNetwork(topology: Topology.named(options.topology, nodes: nodes, seed: options.seed)))
            }
        } else {
            runUnderMPI { world in
                let network = try makeMPINetwork(world: world, topology: options.topology, seed: options.seed)
                _ = try run.run(on: network, context: try RunContext(world: world))
            }
        }
    }
}

/// How `train` runs, apart from its results: transport, progress, checkpoints, timeout, faults.
struct RunningOptions: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "Simulate K nodes in one process instead of one per MPI rank (same results, bit for bit).",
            valueName: "K"))
    var inProcess: Int?

    @Option(
        help: ArgumentHelp(
            """
            Rank 0 prints one progress line (step, samples/s, MSE so far, ETA) about every this many seconds \
            (0: never).
            """, valueName: "SECONDS"))
    var progressEvery = 5.0

    @Option(
        help: ArgumentHelp(
            """
            A TOML or JSON file of options: keys are the long option names without '--' (walk-steps = 3, \
            quiet = true). Options on the command line override it. Every run writes the configuration it used \
            to DIR/config.toml.
            """, valueName: "FILE"))
    var config: String?

    @Option(
        help: ArgumentHelp(
            """
            End the whole job (MPI_Abort, exit status 124) if the run has not finished after this many seconds, \
            naming the step it reached: a hung or dead rank cannot keep a job until its time limit.
            """, valueName: "SECONDS"))
    var timeout: Double?

    @Option(
        help: ArgumentHelp(
            """
            Enable checkpoints, written here (DIR/step-T/rank-R.ckpt and DIR/latest). On SIGUSR1 (mpirun forwards \
            it; in Slurm: #SBATCH --signal=B:USR1@120 and a trap) every rank stops at the same step boundary, \
            writes a checkpoint and exits with status 75; --resume continues bit for bit. Supported for every \
            algorithm but cpf.
            """, valueName: "DIR"))
    var checkpointDir: String?

    @Option(
        help: ArgumentHelp(
            "Also write a checkpoint every N steps (0: only on SIGUSR1). Default directory: OUT/checkpoint.",
            valueName: "N"))
    var checkpointEvery = 0

    @Flag(
        help: """
            Continue from the last checkpoint in --checkpoint-dir (default OUT/checkpoint); the configuration \
            must be the same.
            """)
    var resume = false

    @Option(help: .hidden) var injectFailure: String?
    @Option(help: .hidden) var injectKillWhileWriting: Int?
    @Option(help: .hidden) var signalAtStep: Int?

    func validate() throws {
        if let k = inProcess, k < 1 { throw ValidationError("--in-process \(k): must be at least 1 node") }
        if let injectFailure, InjectedFailure(injectFailure) == nil {
            throw ValidationError("--inject-failure \(injectFailure): expected NODE:STEP or NODE:STEP:hang")
        }
    }

    var control: RunControl {
        var control = RunControl()
        (control.progressSeconds, control.timeoutSeconds) = (progressEvery, timeout)
        (control.checkpointDirectory, control.checkpointEvery, control.resume) = (
            checkpointDir, checkpointEvery, resume
        )
        control.faults.failure = injectFailure.flatMap(InjectedFailure.init)
        control.faults.killWhileWritingFile = injectKillWhileWriting
        control.faults.stopAtStep = signalAtStep
        return control
    }
}
