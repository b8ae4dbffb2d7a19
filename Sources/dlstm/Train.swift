import ArgumentParser
import DataSources
import Distributed
import Foundation
import LSTM
import MPI
import Numerics
import Trainers

struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train one algorithm online, one graph node per MPI rank.",
        discussion: """
            Every node receives its own stream of sequences (sample i of the data goes to node i mod K), predicts each label before seeing it, records the squared error, then learns, talking only to its graph neighbours. Rank 0 gathers the metrics for the report and writes DIR/summary.json and DIR/node-K.csv.

            Algorithms: sgd, ekf, pf (one per node, no communication: the paper's baselines); dsgd (diffusion SGD); dekf (diffusion EKF: neighbours exchange observations, states and covariances); dpf (distributed PF: particles walk between nodes); cpf (centralized PF over all K N particles: the optimum DPF approaches, through an allgather).

            Examples:
              mpirun -np 4 dlstm train --algorithm dpf --out runs/dpf
              mpirun -np 4 dlstm train --algorithm dekf \\
                --data data/fx/garch_daily_usd_1980_1987.csv --column bp --normalize minmax
              dlstm train --algorithm dpf --in-process 4   # 4 nodes in one process
            """
    )

    // MARK: algorithm and network

    @Option(help: "sgd, ekf, pf, dsgd, dekf, dpf or cpf.")
    var algorithm: String = "dpf"

    @Option(help: ArgumentHelp("The graph: ring, line, star, complete, torus, torus:RxC, erdos-renyi:P[:SEED], or an adjacency-matrix file (K lines of K zeros and ones, symmetric, zero diagonal).", valueName: "ring|FILE"))
    var topology = "ring"

    @Option(help: "DPF: random-walk moves per step, s (paper: 3).")
    var walkSteps = 3

    @Option(help: "DPF: simple (the paper's: a uniform neighbour, periodic on bipartite graphs such as even rings), lazy (stay with probability 1/2) or metropolis.")
    var walk = "simple"

    @Option(help: ArgumentHelp("Simulate K nodes in one process instead of one per MPI rank (same results, bit for bit).", valueName: "K"))
    var inProcess: Int?

    // MARK: model and trainers

    @Option(help: "n, the LSTM's hidden size.")
    var hidden = 2

    @Option(help: "mean, max or last: how the outputs of a sequence are pooled.")
    var pooling = "mean"

    @Option(help: "N, particles per node (PF, DPF); the centralized PF uses one cloud of K N.")
    var particles = 80

    @Option(help: "Cov[gamma] = VALUE * I: the parameters' random-walk variance per step (PF jitter, EKF Q).")
    var jitter = 0.0004

    @Option(help: "Var[eps]: the label noise variance (PF likelihood, EKF R).")
    var observationNoise = 0.01

    @Option(help: "mu, the SGD step.")
    var learningRate = 0.1

    @Option(help: "EKF: P0 = VALUE * I.")
    var initialVariance = 0.1

    @Option(help: "SGD, EKF: standard deviation of the initial parameters.")
    var initialScale = 0.1

    @Option(help: "PF: standard deviation of the initial particle cloud.")
    var initialSpread = 0.5

    @Option(help: "systematic, stratified, residual or multinomial.")
    var resampling = "systematic"

    @Option(help: ArgumentHelp("PF, CPF: Liu-West shrinkage h in (0, 1) instead of the fixed jitter.", valueName: "h"))
    var liuWest: Double?

    @Option(help: "Random seed: the same seed gives the same results on any transport.")
    var seed: UInt64 = 1

    // MARK: data

    @Option(help: ArgumentHelp("'teacher' (a random LSTM labelling random sequences), or a file: .csv (time series; see --column), .jsonl (one {\"x\": [[...], ...], \"d\": label} a line), .txt/.tsv (id TAB score TAB text; see --word-vectors).", valueName: "teacher|FILE"))
    var data = "teacher"

    @Option(help: "Steps (samples per node). Default: 1000 for the teacher, all a node gets from a file.")
    var samples: Int?

    @Option(help: "round-robin (sample i to node i mod K) or blocks (contiguous blocks).")
    var partition = "round-robin"

    @Option(help: "CSV: the column to predict.")
    var column: String?

    @Option(help: "CSV: L, the previous values used as input.")
    var lags = 2

    @Option(help: "CSV: predict the value this many steps after the last lag.")
    var horizon = 1

    @Option(help: "CSV: vector (the L lags as one column, p = L: the paper's) or sequence (L columns of p = 1).")
    var lagLayout = "vector"

    @Option(help: "CSV: none, minmax or zscore, with statistics from the first --normalize-prefix rows only.")
    var normalize = "none"

    @Option(help: "CSV: rows used for the normalisation statistics.")
    var normalizePrefix = 200

    @Option(help: "Text: a word-vector table: the VADER lexicon (token TAB mean TAB std ...: p = 2) or a GloVe/word2vec text file.")
    var wordVectors: String?

    @Option(help: "Teacher: p, the input size.")
    var teacherInput = 2

    @Option(help: "Teacher: its hidden size (default: --hidden).")
    var teacherHidden: Int?

    @Option(help: "Teacher: label noise variance.")
    var teacherNoise = 0.002

    @Option(help: "Teacher: standard deviation of its parameters.")
    var teacherScale = 1.0

    // MARK: output

    @Option(help: ArgumentHelp("Write summary.json and node-K.csv here (created if missing).", valueName: "DIR"))
    var out: String?

    @Option(help: ArgumentHelp("Rank 0 prints one progress line (step, samples/s, MSE so far, ETA) about every this many seconds (0: never).", valueName: "SECONDS"))
    var progressEvery = 5.0

    @Flag(help: "Print nothing but errors.")
    var quiet = false

    @Option(help: ArgumentHelp("A TOML or JSON file of options: keys are the long option names without '--' (walk-steps = 3, quiet = true). Options on the command line override it. Every run writes the configuration it used to DIR/config.toml.", valueName: "FILE"))
    var config: String?

    @Option(help: ArgumentHelp("End the whole job (MPI_Abort, exit status 124) if the run has not finished after this many seconds, naming the step it reached: a hung or dead rank cannot keep a job until its time limit.", valueName: "SECONDS"))
    var timeout: Double?

    @Option(help: .hidden)
    var injectFailure: String?

    @Option(help: .hidden)
    var injectKillWhileWriting: Int?

    @Option(help: ArgumentHelp("Enable checkpoints, written here (DIR/step-T/rank-R.ckpt and DIR/latest). On SIGUSR1 (mpirun forwards it; in Slurm: #SBATCH --signal=B:USR1@120 and a trap) every rank stops at the same step boundary, writes a checkpoint and exits with status 75; --resume continues bit for bit. Supported for every algorithm but cpf.", valueName: "DIR"))
    var checkpointDir: String?

    @Option(help: ArgumentHelp("Also write a checkpoint every N steps (0: only on SIGUSR1). Default directory: OUT/checkpoint.", valueName: "N"))
    var checkpointEvery = 0

    @Flag(help: "Continue from the last checkpoint in --checkpoint-dir (default OUT/checkpoint); the configuration must be the same.")
    var resume = false

    @Option(help: .hidden)
    var signalAtStep: Int?

    @Option(help: "Multiply every label by this: e.g. 0.25 maps sentiment scores in [-4, 4] into the range an LSTM with small output weights reaches.")
    var labelScale = 1.0

    func validate() throws {
        guard Algorithm(rawValue: algorithm) != nil else {
            throw ValidationError("--algorithm \(algorithm): expected one of \(Algorithm.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard WalkKind(rawValue: walk) != nil else { throw ValidationError("--walk \(walk): expected simple, lazy or metropolis") }
        guard Pooling(rawValue: pooling) != nil else { throw ValidationError("--pooling \(pooling): expected mean, max or last") }
        guard ResamplingScheme(rawValue: resampling) != nil else {
            throw ValidationError("--resampling \(resampling): expected systematic, stratified, residual or multinomial")
        }
        guard walkSteps >= 1 else { throw ValidationError("--walk-steps \(walkSteps): must be at least 1") }
        guard hidden >= 1 else { throw ValidationError("--hidden \(hidden): must be at least 1") }
        guard particles >= 1 else { throw ValidationError("--particles \(particles): must be at least 1") }
        guard jitter >= 0, jitter.isFinite else { throw ValidationError("--jitter \(jitter): must be a finite variance >= 0") }
        guard observationNoise > 0, observationNoise.isFinite else { throw ValidationError("--observation-noise \(observationNoise): must be a finite variance > 0") }
        guard learningRate > 0, learningRate.isFinite else { throw ValidationError("--learning-rate \(learningRate): must be positive and finite") }
        guard initialVariance > 0, initialVariance.isFinite else { throw ValidationError("--initial-variance \(initialVariance): must be positive and finite") }
        if let h = liuWest, !(h > 0 && h < 1) { throw ValidationError("--liu-west \(h): must be in (0, 1)") }
        if let samples, samples < 1 { throw ValidationError("--samples \(samples): must be at least 1") }
        if let k = inProcess, k < 1 { throw ValidationError("--in-process \(k): must be at least 1 node") }
        guard ["round-robin", "blocks"].contains(partition) else { throw ValidationError("--partition \(partition): expected round-robin or blocks") }
        guard CSVTimeSeries.LagLayout(rawValue: lagLayout) != nil else { throw ValidationError("--lag-layout \(lagLayout): expected vector or sequence") }
        guard ["none", "minmax", "zscore"].contains(normalize) else { throw ValidationError("--normalize \(normalize): expected none, minmax or zscore") }
        guard lags >= 1, horizon >= 1 else { throw ValidationError("--lags and --horizon must be at least 1") }
        guard teacherInput >= 1, teacherNoise >= 0, (teacherHidden ?? 1) >= 1 else { throw ValidationError("teacher sizes must be at least 1, its noise >= 0") }
        guard checkpointEvery >= 0 else { throw ValidationError("--checkpoint-every \(checkpointEvery): must be >= 0") }
        if (checkpointEvery > 0 || resume) && checkpointDir == nil && out == nil {
            throw ValidationError("--checkpoint-every and --resume need --checkpoint-dir DIR (or --out DIR, for DIR/checkpoint)")
        }
        if let timeout, !(timeout > 0 && timeout.isFinite) { throw ValidationError("--timeout \(timeout): must be a positive number of seconds") }
        if let injectFailure, InjectedFailure(injectFailure) == nil { throw ValidationError("--inject-failure \(injectFailure): expected NODE:STEP or NODE:STEP:hang") }
        guard progressEvery >= 0, progressEvery.isFinite else { throw ValidationError("--progress-every \(progressEvery): must be >= 0 seconds") }
        guard labelScale.isFinite, labelScale != 0 else { throw ValidationError("--label-scale \(labelScale): must be finite and non-zero") }
    }

    /// Where checkpoints go, if they are enabled.
    var checkpointDirectory: String? {
        checkpointDir ?? ((checkpointEvery > 0 || resume) ? out.map { $0 + "/checkpoint" } : nil)
    }

    func run() throws {
        useOneBLASThreadPerProcess()
        // Before MPI and the data, which can take a while: a SIGUSR1 that came in that window would
        // otherwise kill the process (its default action) instead of asking for a checkpoint.
        if checkpointDirectory != nil { installStopSignalHandler() }
        if let k = inProcess {
            try runInProcess(nodes: k, topology: topology, seed: seed) { network in
                _ = try execute(network: network, context: .inProcess)
            }
            return
        }
        let options = self
        MPI.run { world in
            let context = try RunContext(world: world)
            guard let network = try makeNetwork(world: world, topology: options.topology, seed: options.seed) else { return }
            do {
                _ = try options.execute(network: network, context: context) { try exitTogetherIfAnyFailed(world: world, failure: $0) }
            } catch let stop as RunFailure where stop.status == .checkpointed {
                // Every rank stopped at the same step: a clean, collective exit with status 75.
                if world.rank == 0 { FileHandle.standardError.write(Data("dlstm: \(stop.message)\n".utf8)) }
                try MPI.finalize()
                Foundation.exit(stop.status.rawValue)
            }
        }
    }

    /// The run itself, on either transport: checks the inputs, prints the banner, trains, and
    /// writes DIR. Returns the report at the reporter, nil elsewhere. `agree` turns a local input
    /// failure (or none) into a collective decision.
    func execute(network: Network, context: RunContext, banner: Bool = true, label: String? = nil,
                 agree: (InputError?) throws -> Void = { if let failure = $0 { throw failure } }) throws -> RunReport? {
        let k = network.topology.nodeCount
        let walkKind = WalkKind(rawValue: walk)!
        let randomWalk = RandomWalk(topology: network.topology, kind: walkKind)
        var streams = [DataStream]()
        var failure: InputError?
        do {
            let total = try countFileSamples()
            for node in network.localNodes { streams.append(try makeStream(node: node, nodes: k, fileSamples: total)) }
            if network.isReporter, let out { try checkWritable(directory: out) }
        } catch let error as DataError {
            failure = InputError(error)
        } catch let error as InputError {
            failure = error
        }
        try agree(failure)
        let inputSize = streams[0].inputSize
        let steps = streams.map(\.steps).min()!
        let settings = distributedSettings(inputSize: inputSize)
        let algorithm = Algorithm(rawValue: self.algorithm)!
        let trainer = try makeTrainer(algorithm, settings: settings, network: network)

        let configuration = configurationTOML()
        let talk = network.isReporter && !quiet
        if talk && banner {
            print("dlstm train: \(label ?? algorithm.rawValue) on \(k) node\(k == 1 ? "" : "s"), \(context.placement)")
            for line in context.environmentLines { print("  " + line) }
            print("  topology \(network.topology.name): |E| = \(network.topology.edgeCount), SLEM of the \(walkKind.rawValue) walk = \(String(format: "%.4f", randomWalk.slem))"
                  + (randomWalk.isPeriodic ? " (periodic)" : ""))
            print("  data \(data): \(steps) steps per node, p = \(inputSize), n = \(hidden), n_theta = \(settings.model.shape.parameterCount)")
            print("  configuration (a --config file for this run" + (out.map { ", also in \($0)/config.toml" } ?? "") + "):")
            for line in configuration.split(separator: "\n") { print("    " + line) }
        }
        if talk && algorithm == .dpf && randomWalk.isPeriodic && walkSteps % 2 == 1 {
            print("  warning: the \(walkKind.rawValue) walk on this graph is periodic and s = \(walkSteps) is odd: a particle's "
                  + "exponents depend on where it started; use --walk lazy or metropolis, or an even --walk-steps")
        }
        // Checkpoints: one file per process, named by its rank (0 in-process).
        let store = checkpointDirectory.map { CheckpointStore(directory: $0) }
        let processIndex = network.localNodes.count == k ? 0 : network.localNodes[0]
        var resumeState: TrainingRun.State?
        if let store {
            var failure: InputError?
            do {
                _ = try trainer.checkpointState()
                if resume {
                    let step = try store.latestStep()
                    let contents = try store.read(step: step, rank: processIndex)
                    let path = store.file(step: step, rank: processIndex)
                    guard contents.header["configuration"] == configuration, contents.header["nodes"] == "\(k)" else {
                        throw InputError(message: "\(path): written by a different configuration or node count; resume with the same options "
                                         + "(the checkpoint's configuration is in its header)", status: .usage)
                    }
                    let (state, trainerStates) = try restoredState(from: contents, localNodes: network.localNodes.count, step: step, path: path)
                    try trainer.restoreState(trainerStates)
                    for a in streams.indices { for _ in 0..<step { _ = try streams[a].next() } }
                    resumeState = state
                }
            } catch let error as InputError {
                failure = error
            } catch let error as TrainerError {
                failure = InputError(message: "\(error)", status: .usage)
            } catch let error as DataError {
                failure = InputError(error)
            }
            try agree(failure)
            if talk, let resumeState { print("  resuming after step \(resumeState.step) from \(store.directory)") }
        }
        let checkpointing = store.map { store in
            TrainingRun.Checkpointing(every: checkpointEvery, stopRequested: { stopRequested }) { state in
                var failure: String?
                do {
                    let header = ["version": "1", "algorithm": algorithm.rawValue, "configuration": configuration, "nodes": "\(k)",
                                  "rank": "\(processIndex)", "step": "\(state.step)"]
                    try store.write(checkpointContents(state: state, trainerStates: try trainer.checkpointState(), header: header),
                                    step: state.step, rank: processIndex)
                } catch {
                    failure = "\(error)"
                }
                // Committed only once every process has its file: `latest` never names a partial checkpoint.
                let verdicts = try network.allgatherForReport(network.localNodes.map { _ in [failure == nil ? 0 : 1] })
                if verdicts.contains(where: { $0[0] > 0 }) {
                    throw RunFailure(message: failure ?? "a checkpoint could not be written on another rank", status: .output)
                }
                if network.isReporter { try store.commit(step: state.step) }
            }
        }

        let start = DispatchTime.now().uptimeNanoseconds
        let watchdog = timeout.map { Watchdog(seconds: $0, steps: steps, isFirstToFire: network.isReporter) }
        defer { watchdog?.finish() }
        let injected = injectFailure.flatMap(InjectedFailure.init)
        var stepsTaken = [Int](repeating: resumeState?.step ?? 0, count: network.localNodes.count)
        let signalAtStep = self.signalAtStep
        let run = TrainingRun(network: network, trainer: trainer, steps: steps, progressSeconds: quiet ? 0 : progressEvery) { a in
            stepsTaken[a] += 1
            if a == 0 { watchdog?.reached(step: stepsTaken[a]) }
            if a == 0 && stepsTaken[a] == signalAtStep && network.localNodes[0] == 0 { raise(SIGUSR1) }
            try injected?.check(node: network.localNodes[a], step: stepsTaken[a])
            return try streams[a].next()
        }
        let name = label ?? algorithm.rawValue
        let gathered: [NodeRecord]?
        do {
            gathered = try run.run(resume: resumeState, checkpointing: checkpointing, progress: { progress in
                print("  \(name) step \(progress.step)/\(progress.steps): " + String(format: "%.0f samples/s, MSE so far %.5g, ETA %.0f s",
                             progress.stepsPerSecond * Double(k), progress.mse, progress.etaSeconds))
            })
        } catch let error as TrainerError {
            // One rank diverged while the others wait in a collective: the job must end (MPI_Abort).
            throw RunFailure(message: "\(error)", status: .numerical)
        } catch let error as DataError {
            throw RunFailure(message: error.description, status: .data)
        } catch let stop as TrainingRun.RunStopped {
            throw RunFailure(message: "stopped after step \(stop.step) of \(steps) on SIGUSR1; checkpoint in \(store!.directory); "
                             + "continue with the same options and --resume", status: .checkpointed)
        }
        guard let records = gathered else { return nil }
        let wall = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        let report = RunReport(records: records, algorithm: algorithm, label: name, settings: settings, topology: network.topology, walk: randomWalk,
                               transport: network.transportName, data: data, wallSeconds: wall, processes: context.processes)
        if let out {
            filesBeforeInjectedKill = injectKillWhileWriting
            try report.write(to: out, parameters: parameterDictionary(settings: settings), extraFiles: [("config.toml", configuration)])
        }
        if !quiet {
            print("  \(name): " + String(format: "final MSE %.6g (last 10%% of %d steps, mean over nodes); %.0f bytes sent per node; %.2f s",
                         report.finalMSE, steps, report.meanBytesPerNode, wall) + (out.map { "; results in \($0)" } ?? ""))
        }
        return report
    }

    func distributedSettings(inputSize: Int) -> DistributedSettings {
        var settings = DistributedSettings(model: LSTMModel(shape: LSTMShape(hidden: hidden, input: inputSize), pooling: Pooling(rawValue: pooling)!))
        settings.trainer.learningRate = learningRate
        settings.trainer.particles = particles
        settings.trainer.jitterVariance = jitter
        settings.trainer.observationNoise = observationNoise
        settings.trainer.initialScale = initialScale
        settings.trainer.initialSpread = initialSpread
        settings.trainer.initialVariance = initialVariance
        settings.trainer.resampling = ResamplingScheme(rawValue: resampling)!
        settings.trainer.liuWestShrinkage = liuWest
        settings.walkSteps = walkSteps
        settings.walk = WalkKind(rawValue: walk)!
        settings.seed = seed
        return settings
    }

    /// Every option that shapes the results, as a TOML table `--config` reads back.
    func configurationTOML() -> String {
        var entries: [(String, String)] = [
            ("algorithm", quoted(algorithm)), ("topology", quoted(topology)), ("walk-steps", "\(walkSteps)"), ("walk", quoted(walk)),
            ("hidden", "\(hidden)"), ("pooling", quoted(pooling)), ("particles", "\(particles)"), ("jitter", shortest(jitter)),
            ("observation-noise", shortest(observationNoise)), ("learning-rate", shortest(learningRate)), ("initial-variance", shortest(initialVariance)),
            ("initial-scale", shortest(initialScale)), ("initial-spread", shortest(initialSpread)), ("resampling", quoted(resampling)),
        ]
        if let liuWest { entries.append(("liu-west", shortest(liuWest))) }
        entries += [("seed", "\(seed)"), ("data", quoted(data))]
        if let samples { entries.append(("samples", "\(samples)")) }
        entries.append(("partition", quoted(partition)))
        if data.lowercased().hasSuffix(".csv") {
            if let column { entries.append(("column", quoted(column))) }
            entries += [("lags", "\(lags)"), ("horizon", "\(horizon)"), ("lag-layout", quoted(lagLayout)),
                        ("normalize", quoted(normalize)), ("normalize-prefix", "\(normalizePrefix)")]
        } else if data == "teacher" {
            entries += [("teacher-input", "\(teacherInput)"), ("teacher-noise", shortest(teacherNoise)), ("teacher-scale", shortest(teacherScale))]
            if let teacherHidden { entries.append(("teacher-hidden", "\(teacherHidden)")) }
        } else if let wordVectors {
            entries.append(("word-vectors", quoted(wordVectors)))
        }
        if labelScale != 1 { entries.append(("label-scale", shortest(labelScale))) }
        return entries.map { "\($0.0) = \($0.1)" }.joined(separator: "\n") + "\n"
    }

    /// Fails now rather than after the run: the output directory can be created and written.
    private func checkWritable(directory: String) throws {
        try createOutputDirectory(directory)
        try writeAtomically(Data(), to: directory + "/.write-test")
        unlink(directory + "/.write-test")
    }

    private func parameterDictionary(settings: DistributedSettings) -> [String: Any] {
        [
            "hidden": hidden, "input": settings.model.shape.input, "n_theta": settings.model.shape.parameterCount,
            "pooling": pooling, "particles": particles, "walk_steps": walkSteps, "walk": walk,
            "jitter_variance": jitter, "observation_noise": observationNoise, "learning_rate": learningRate,
            "initial_variance": initialVariance, "initial_scale": initialScale, "initial_spread": initialSpread,
            "resampling": resampling, "liu_west": liuWest.map { $0 as Any } ?? NSNull(), "partition": partition,
        ]
    }

    // MARK: data streams

    /// One node's samples and how many steps it can feed.
    struct DataStream {
        var inputSize: Int
        var steps: Int
        var next: () throws -> Sample
    }

    /// The samples in the data file, by one streaming pass; nil for the teacher.
    private func countFileSamples() throws -> Int? {
        guard data != "teacher" else { return nil }
        var total = 0
        var counter = try openFile()
        while try counter.next() != nil { total += 1 }
        return total
    }

    private func makeStream(node: Int, nodes: Int, fileSamples: Int?) throws -> DataStream {
        guard let total = fileSamples else {
            let teacher = SyntheticTeacher(shape: LSTMShape(hidden: teacherHidden ?? hidden, input: teacherInput), pooling: Pooling(rawValue: pooling)!,
                                           parameterScale: teacherScale, noiseVariance: teacherNoise, lengths: 1...5, count: Int.max, seed: seed &+ 1_000_003)
            let steps = samples ?? 1000
            var t = 0
            let blocks = partition == "blocks"
            return DataStream(inputSize: teacherInput, steps: steps) {
                defer { t += 1 }
                return scaled(teacher.sample(blocks ? node * steps + t : t * nodes + node))
            }
        }
        // Every node runs as many steps as the node with the fewest samples has.
        let partitioning: Partitioning = partition == "blocks" ? .blocks(total: total) : .roundRobin
        let available = (0..<nodes).map { partitioning.sampleCount(node: $0, nodes: nodes, total: total) }.min()!
        guard available >= 1 else {
            throw DataError(file: data, "\(total) samples for \(nodes) nodes (\(partition)): every node needs at least one")
        }
        var source = PartitionedSource(try openFile(), partitioning: partitioning, node: node, nodes: nodes)
        let steps = min(samples ?? available, available)
        return DataStream(inputSize: source.inputSize, steps: steps) {
            guard let sample = try source.next() else { throw DataError(file: data, "ran out of samples at node \(node)") }
            return scaled(sample)
        }
    }

    private func scaled(_ sample: Sample) -> Sample {
        guard labelScale != 1 else { return sample }
        return Sample(inputs: sample.inputs, length: sample.length, label: sample.label * labelScale)
    }

    private func openFile() throws -> AnySampleSource {
        let lower = data.lowercased()
        if lower.hasSuffix(".csv") {
            guard let column else { throw DataError(file: data, "a CSV file needs --column NAME (the series to predict)") }
            let normalization: CSVTimeSeries.Normalization
            switch normalize {
            case "minmax": normalization = .minMax(prefix: normalizePrefix)
            case "zscore": normalization = .zScore(prefix: normalizePrefix)
            default: normalization = .none
            }
            return AnySampleSource(try CSVTimeSeries(path: data, column: column, lags: lags, horizon: horizon,
                                                     layout: CSVTimeSeries.LagLayout(rawValue: lagLayout)!, normalization: normalization))
        }
        if lower.hasSuffix(".jsonl") || lower.hasSuffix(".json") { return AnySampleSource(try JSONLinesSource(path: data)) }
        if lower.hasSuffix(".txt") || lower.hasSuffix(".tsv") {
            guard let wordVectors else { throw DataError(file: data, "labelled text needs --word-vectors FILE (e.g. data/sentiment/vader_lexicon.txt)") }
            let vectors = wordVectors.hasSuffix("vader_lexicon.txt") ? try WordVectors.vaderLexicon(path: wordVectors) : try WordVectors.text(path: wordVectors)
            return AnySampleSource(try LabelledText(path: data, vectors: vectors))
        }
        throw DataError(file: data, "unknown data format: expected 'teacher' or a file ending in .csv, .jsonl, .txt or .tsv")
    }
}

/// A sample source of any kind (the file formats differ in type).
struct AnySampleSource: SampleSource {
    let inputSize: Int
    private let nextSample: () throws -> Sample?
    init<Base: SampleSource>(_ base: Base) {
        var base = base
        inputSize = base.inputSize
        nextSample = { try base.next() }
    }
    mutating func next() throws -> Sample? { try nextSample() }
}

func quoted(_ text: String) -> String {
    "\"" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
}

/// Where a run happens, for its banner and summary: processes, hosts, MPI library, Slurm job.
struct RunContext {
    var processes: Int
    var placement: String
    var environmentLines: [String]

    init(processes: Int, placement: String, environmentLines: [String]) {
        (self.processes, self.placement, self.environmentLines) = (processes, placement, environmentLines)
    }

    static var inProcess: RunContext {
        RunContext(processes: 1, placement: "simulated in one process on \(localHostName())", environmentLines: slurmLines())
    }

    /// Collective: every rank's host name goes to every rank.
    init(world: Communicator) throws {
        let hosts = try world.allgatherv(Array(((try? MPI.processorName()) ?? "?").utf8)).map { String(decoding: $0, as: UTF8.self) }
        var ranksPerHost = [(String, Int)]()
        for host in hosts {
            if let i = ranksPerHost.firstIndex(where: { $0.0 == host }) { ranksPerHost[i].1 += 1 } else { ranksPerHost.append((host, 1)) }
        }
        processes = world.size
        placement = "one per MPI rank: \(world.size) rank\(world.size == 1 ? "" : "s") on \(ranksPerHost.count) host\(ranksPerHost.count == 1 ? "" : "s") ("
            + ranksPerHost.map { "\($0.0) x\($0.1)" }.joined(separator: ", ") + ")"
        let library = ((try? MPI.libraryVersion()) ?? "unknown").split(separator: "\n").first.map(String.init) ?? "unknown"
        environmentLines = ["MPI library: " + library] + RunContext.slurmLines()
    }

    private static func slurmLines() -> [String] {
        let environment = ProcessInfo.processInfo.environment
        guard let job = environment["SLURM_JOB_ID"] else { return [] }
        var line = "Slurm job \(job)"
        if let task = environment["SLURM_ARRAY_TASK_ID"], let array = environment["SLURM_ARRAY_JOB_ID"] { line += " (array \(array), task \(task))" }
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

/// The shortest decimal that reads back as the same double (0.0004, not 0.00040000000000000002).
func shortest(_ x: Double) -> String { "\(x)" }
