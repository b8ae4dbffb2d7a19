import ArgumentParser
import Runs

/// How `train` runs, apart from its results and the launch: checkpoints, timeout, faults.
struct RunningOptions: ParsableArguments {
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
            Enable checkpoints, written here (DIR/step-T/node-K.ckpt, DIR/latest, DIR/previous; SHA-256 \
            checked on resume). On SIGUSR1 (mpirun forwards it; in Slurm: #SBATCH --signal=B:USR1@120 and a \
            trap), SIGTERM or SIGINT every rank stops at the same step boundary, writes a checkpoint and exits \
            with status 75; --resume continues bit for bit. Without checkpoints those signals stop the run with \
            status 128 + the signal's number. Supported for every algorithm but cpf.
            """, valueName: "DIR"))
    var checkpointDir: String?

    @Option(
        help: ArgumentHelp(
            "Also write a checkpoint every N steps (0: only on a stop signal). Default directory: OUT/checkpoint.",
            valueName: "N"))
    var checkpointEvery = 0

    @Flag(
        help: """
            Continue from the last checkpoint in --checkpoint-dir (default OUT/checkpoint); the configuration \
            must be the same.
            """)
    var resume = false

    @Flag(
        help: """
            Replace the finished run --out holds: its results stay until this run writes its own (and removes \
            the old files it does not write). Without it such a directory is refused, so that no finished result \
            is overwritten silently.
            """)
    var overwrite = false

    @Option(help: .hidden) var injectFailure: String?
    @Option(help: .hidden) var injectKillWhileWriting: Int?
    @Option(help: .hidden) var signalAtStep: Int?

    func validate() throws {
        if let injectFailure, InjectedFailure(injectFailure) == nil {
            throw ValidationError("--inject-failure \(injectFailure): expected NODE:STEP or NODE:STEP:hang")
        }
    }

    var control: RunControl {
        var c = RunControl()
        (c.timeoutSeconds, c.checkpointDirectory, c.checkpointEvery, c.resume, c.overwrite) = (
            timeout, checkpointDir, checkpointEvery, resume, overwrite
        )
        (c.faults.killWhileWritingFile, c.faults.stopAtStep) = (injectKillWhileWriting, signalAtStep)
        c.faults.failure = injectFailure.flatMap(InjectedFailure.init)
        return c
    }
}
