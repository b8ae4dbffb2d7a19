import DataSources
import Distributed
import Foundation
import Trainers

/// One training run end to end, on any network: input checks, data wiring, resume, checkpoints,
/// watchdog, the online loop, and the report. The CLI is a thin wrapper over it; a test or another
/// program drives it in-process with an `InProcessNetwork`, or under MPI with an `MPINetwork`.
public struct TrainingRun {
    public var configuration: TrainingConfiguration
    public var control: RunControl
    /// The name in tables and legends (default: the algorithm).
    public var label: String
    public var observer: RunObserver?

    public init(
        configuration: TrainingConfiguration, control: RunControl = RunControl(), label: String? = nil,
        observer: RunObserver? = nil
    ) {
        self.configuration = configuration
        self.control = control
        self.label = label ?? configuration.algorithm.rawValue
        self.observer = observer
    }

    /// Collective over the network's processes. Returns the report at the reporter, nil elsewhere.
    /// Input failures are agreed on, so every process throws the same collective `RunError`; a
    /// failure while training (a diverged trainer, an injected fault) is thrown where it happened
    /// only, and under MPI must end the job (MPI_Abort).
    public func run(on network: Network, context: RunContext = .inProcess) throws -> RunReport? {
        var input = try prepare(on: network)
        defer { input.locks.forEach { $0.release() } }
        let observer = network.isReporter ? self.observer : nil
        let (trainer, settings, walk) = try start(input, on: network, context: context, observer: observer)
        let store = control.checkpointStore.map { CheckpointStore(directory: $0) }
        let resumed = try store.flatMap {
            try resume(from: $0, trainer: trainer, streams: &input.streams, network: network)
        }
        if let resumed, let store {
            observer?.resumed(
                afterStep: resumed.state.step, from: "\(store.directory)/step-\(resumed.state.step)",
                rejected: resumed.rejected)
        }
        let start = DispatchTime.now().uptimeNanoseconds
        guard
            let records = try loop(
                input, trainer: trainer, resume: resumed?.state, store: store, network: network, observer: observer)
        else { return nil }
        let report = RunReport(
            records: records, trace: trainer.trace, configuration: configuration, label: label, settings: settings,
            topology: network.topology, walk: walk, transport: network.transportName,
            wallSeconds: Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9,
            processes: context.processes)
        if let out = control.resultsDirectory {
            try report.write(to: out, killWhileWritingFile: control.faults.killWhileWritingFile)
        }
        observer?.finished(report, resultsDirectory: control.resultsDirectory)
        return report
    }

    /// A run's input, checked on every process: each local node's data stream, the steps every node
    /// takes, and the saved model to start from.
    private struct Input {
        var streams: [DataStream]
        var steps: Int { streams.map(\.steps).min()! }
        var initialCentre: [Double]?
        /// The reporter's hold on the results and checkpoint directories, for the run's whole life.
        var locks: [DirectoryLock] = []
    }

    /// Checks the options, the memory a run needs, the data and the results directory, and opens the
    /// streams. Collective: one process's bad input stops every process with the same error.
    private func prepare(on network: Network) throws -> Input {
        let nodes = network.topology.nodeCount
        var input = Input(streams: [])
        var failure: RunError?
        do {
            try configuration.validate()
            try control.validate()
            if configuration.algorithm.hasCoordinator && configuration.coordinator >= nodes {
                throw RunError(
                    "--coordinator \(configuration.coordinator): must be a node in 0...\(nodes - 1)", status: .usage)
            }
            // Before anything large is allocated (the teacher's own parameters included).
            func checkMemory(inputSize: Int) throws {
                try MemoryBudget(
                    configuration: configuration, inputSize: inputSize, nodes: nodes,
                    localNodes: network.localNodes.count
                ).check(configuration)
            }
            if configuration.data == "teacher" { try checkMemory(inputSize: configuration.teacherInput) }
            let total = try configuration.countFileSamples()
            for node in network.localNodes {
                input.streams.append(try configuration.makeStream(node: node, nodes: nodes, fileSamples: total))
            }
            if configuration.data != "teacher" { try checkMemory(inputSize: input.streams[0].inputSize) }
            if network.isReporter { input.locks = try claimDirectories() }
            if let path = configuration.initModel {
                input.initialCentre = try startingModel(path, inputSize: input.streams[0].inputSize)
            }
        } catch {
            failure = RunError(error)
        }
        try agree(on: failure, network: network)
        return input
    }

    /// Locks the results directory (and the checkpoint directory when it is elsewhere) and checks
    /// it can be written; a directory that holds a finished run is refused unless the run replaces
    /// it (`overwrite`: the old results stay until the new ones are written) or continues it (`resume`).
    private func claimDirectories() throws -> [DirectoryLock] {
        var locks = [DirectoryLock]()
        if let out = control.resultsDirectory {
            locks.append(try DirectoryLock(directory: out))
            try checkWritable(directory: out)
            if FileManager.default.fileExists(atPath: out + "/summary.json") && !control.resume && !control.overwrite {
                throw RunError(
                    "--out \(out): holds a finished run (summary.json); give another --out, --overwrite to "
                        + "replace it, or --resume to continue it", status: .usage)
            }
        }
        // A checkpoint directory under the results directory is held with it.
        let underResults = { (store: String) in control.resultsDirectory.map { store.hasPrefix($0 + "/") } ?? false }
        if let store = control.checkpointStore, !underResults(store) {
            locks.append(try DirectoryLock(directory: store))
        }
        return locks
    }

    /// The trainer for the configuration, and the run's description told to the observer.
    private func start(
        _ input: Input, on network: Network, context: RunContext, observer: RunObserver?
    ) throws -> (DistributedTrainer, DistributedSettings, RandomWalk) {
        var settings = configuration.distributedSettings(inputSize: input.streams[0].inputSize)
        (settings.sgd.initialCentre, settings.ekf.initialCentre, settings.pf.initialCentre) = (
            input.initialCentre, input.initialCentre, input.initialCentre
        )
        // About 500 rows of the synchronisation trace, like the MSE curve in summary.json.
        settings.sync.traceEvery = max(1, input.steps / 500)
        let trainer = try makeTrainer(configuration.algorithm, settings: settings, network: network)
        let walk = RandomWalk(topology: network.topology, kind: configuration.walk)
        observer?.started(
            RunDescription(
                label: label, configuration: configuration, context: context, topology: network.topology, walk: walk,
                steps: input.steps, inputSize: settings.model.shape.input,
                parameterCount: settings.model.shape.parameterCount, resultsDirectory: control.resultsDirectory))
        return (trainer, settings, walk)
    }

    /// The online loop, with the watchdog, the injected faults, the checkpoints and the stop signals.
    /// A stop ends the run with its collective error (after a checkpoint, when there is a store).
    private func loop(
        _ input: Input, trainer: DistributedTrainer, resume: OnlineLoop.State?, store: CheckpointStore?,
        network: Network, observer: RunObserver?
    ) throws -> [NodeRecord]? {
        let steps = input.steps, faults = control.faults, runsNodeZero = network.localNodes.first == 0
        let watchdog = control.timeoutSeconds.map {
            Watchdog(seconds: $0, steps: steps, isFirstToFire: network.isReporter)
        }
        defer { watchdog?.finish() }
        var stepsTaken = resume?.step ?? 0
        var stopAsked = false
        let loop = OnlineLoop(
            network: network, trainer: trainer, steps: steps, progressSeconds: control.progressSeconds,
            baseline: configuration.trivialPredictor
        ) { a in
            if a == 0 {
                stepsTaken += 1
                watchdog?.reached(step: stepsTaken)
                if runsNodeZero && stepsTaken == faults.stopAtStep { stopAsked = true }
            }
            try faults.failure?.check(node: network.localNodes[a], step: stepsTaken)
            return try input.streams[a].next()
        }
        let stopSignal = control.stopSignal
        let checkpointing = store.map { store in
            OnlineLoop.Checkpointing(every: control.checkpointEvery) {
                try saveCheckpoint($0, trainer: trainer, store: store, network: network)
            }
        }
        do {
            return try loop.run(
                resume: resume, checkpointing: checkpointing, stopSignal: { stopAsked ? SIGUSR1 : stopSignal() }
            ) { observer?.progress($0) }
        } catch let stop as OnlineLoop.RunStopped {
            throw stopped(stop, steps: steps, store: store)
        } catch {
            throw RunError(error)
        }
    }

    /// The collective error a stop ends the run with.
    private func stopped(_ stop: OnlineLoop.RunStopped, steps: Int, store: CheckpointStore?) -> RunError {
        let name = signalName(stop.signal)
        guard stop.checkpointed, let store else {
            return RunError(
                "stopped after step \(stop.step) of \(steps) on \(name), without a checkpoint (--checkpoint-dir "
                    + "keeps the steps done) and without results", status: ExitStatus(stoppedBy: stop.signal),
                isCollective: true)
        }
        return RunError(
            "stopped after step \(stop.step) of \(steps) on \(name); checkpoint in \(store.directory); "
                + "continue with the same options and --resume", status: .checkpointed, isCollective: true)
    }

    /// Checks that the trainer can be checkpointed and, with `resume`, restores it and the run's
    /// state from the newest checkpoint that every process verifies (its checksum), falling back to
    /// the one before it, and moves the streams past it. Collective.
    private func resume(
        from store: CheckpointStore, trainer: DistributedTrainer, streams: inout [DataStream],
        network: Network
    ) throws -> (state: OnlineLoop.State, rejected: [String])? {
        var failure: RunError?
        do {
            _ = try trainer.checkpointState()
        } catch {
            failure = RunError(error)
        }
        try agree(on: failure, network: network)
        guard control.resume else { return nil }
        let (chosen, rejected) = try chooseCheckpoint(in: store, network: network)
        var state: OnlineLoop.State?
        do {
            guard let chosen else {
                if store.committedSteps().isEmpty {
                    throw RunError("--resume: no checkpoint in \(store.directory) (no file 'latest')", status: .usage)
                }
                throw RunError(
                    "--resume: no checkpoint in \(store.directory) verifies on every process: "
                        + rejected.joined(separator: "; "), status: .data)
            }
            state = try restore(chosen, trainer: trainer, streams: &streams, store: store, network: network)
        } catch {
            failure = RunError(error)
        }
        try agree(on: failure, network: network)
        return state.map { ($0, rejected) }
    }

    /// A checkpoint read by this process: its step, the header and its local nodes' records.
    private typealias ReadCheckpoint = (step: Int, header: CheckpointStore.Header, records: [CheckpointRecord])

    /// The newest committed checkpoint every process reads and verifies, and why the others were
    /// rejected. Each candidate is read by every process and the verdicts gathered: the same number
    /// of rounds everywhere (two), so a process that sees fewer candidates cannot hang.
    private func chooseCheckpoint(
        in store: CheckpointStore, network: Network
    ) throws -> (chosen: ReadCheckpoint?, rejected: [String]) {
        let candidates = store.committedSteps()
        var rejected = [String]()
        for index in 0..<2 {
            var read: ReadCheckpoint?
            var failure: RunError?
            if index < candidates.count {
                // This process's nodes' files, one record each.
                do {
                    let files = try network.localNodes.map { try store.read(step: candidates[index], node: $0) }
                    read = (candidates[index], files[0].header, files.flatMap(\.records))
                } catch {
                    failure = RunError(error)
                }
            } else {
                failure = RunError("no checkpoint", status: .data)
            }
            if let error = try agreedFailure(failure, network: network) {
                if index < candidates.count { rejected.append(error.message) }
            } else if let read {
                return (read, rejected)
            }
        }
        return (nil, rejected)
    }

    /// Puts the trainer and the run back as `checkpoint` saved them, and moves the streams past it.
    private func restore(
        _ checkpoint: ReadCheckpoint, trainer: DistributedTrainer, streams: inout [DataStream],
        store: CheckpointStore, network: Network
    ) throws -> OnlineLoop.State {
        let (step, header, records) = checkpoint
        let path = store.file(step: step, node: network.localNodes[0])
        guard header.configuration == configuration, header.nodes == network.topology.nodeCount,
            records.count == network.localNodes.count
        else {
            throw RunError(
                "\(path): written by a different configuration or node count; resume with the same options "
                    + "(the checkpoint's configuration is in its header)", status: .usage)
        }
        let state: OnlineLoop.State
        do {
            try trainer.restoreState(records.map { $0.record("trainer") })
            state = try OnlineLoop.State(records: records.map { $0.record("run") })
        } catch let error as TrainerError {
            throw RunError("\(path): \(error)", status: .data)
        }
        guard state.step == step else { throw RunError("\(path): does not hold step \(step)", status: .data) }
        for a in streams.indices { for _ in 0..<step { _ = try streams[a].next() } }
        return state
    }

    /// Every process writes its nodes' files; `latest` is committed only once every process has
    /// written them, so it never names a partial checkpoint.
    private func saveCheckpoint(
        _ state: OnlineLoop.State, trainer: DistributedTrainer, store: CheckpointStore,
        network: Network
    ) throws {
        var failure: String?
        do {
            let trainerStates = try trainer.checkpointState()
            for (a, node) in network.localNodes.enumerated() {
                var record = CheckpointRecord()
                record.append("run", state.record(node: a))
                record.append("trainer", trainerStates[a])
                let header = CheckpointStore.Header(
                    algorithm: configuration.algorithm.rawValue, nodes: network.topology.nodeCount, node: node,
                    step: state.step, configuration: configuration)
                try store.write(header: header, records: [record])
            }
        } catch {
            failure = RunError(error).message
        }
        let verdicts = try network.allgatherForReport(network.localNodes.map { _ in [failure == nil ? 0 : 1] })
        if verdicts.contains(where: { $0[0] > 0 }) {
            throw RunError(failure ?? "a checkpoint could not be written on another rank", status: .output)
        }
        if network.isReporter { try store.commit(step: state.step) }
    }

    /// `--init-model`: the saved model's theta, if it is an LSTM of this run's sizes and pooling.
    private func startingModel(_ path: String, inputSize: Int) throws -> [Double] {
        let file = TrainedModel.file(at: path)
        let model = try TrainedModel(file: file)
        let (shape, pooling) = (model.model.shape, model.model.pooling)
        guard shape.hidden == configuration.hidden, shape.input == inputSize, pooling == configuration.pooling else {
            throw RunError(
                "--init-model \(file): an LSTM of n = \(shape.hidden), p = \(shape.input), \(pooling.rawValue) "
                    + "pooling; this run's is n = \(configuration.hidden), p = \(inputSize), "
                    + configuration.pooling.rawValue,
                status: .usage)
        }
        guard !model.isELM else {
            throw RunError(
                "--init-model \(file): an ELM's readout (with a constant), which \(configuration.algorithm.rawValue) "
                    + "cannot start from", status: .usage)
        }
        guard shape.directLink == configuration.directLink else {
            throw RunError(
                "--init-model \(file): a model \(shape.directLink ? "with" : "without") the direct link; run it "
                    + (shape.directLink ? "with" : "without") + " --direct-link", status: .usage)
        }
        return model.theta
    }
}
