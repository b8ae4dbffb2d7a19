import DataSources
import Distributed
import Foundation
import LSTM

/// `dlstm bench pf`: the DPF's time per node-step in one process, the setting of the particle-store
/// issue: K nodes on a ring in-process, N particles each, s walk moves, teacher sequences of 1 to 8
/// columns, n = p, steady state after a warm-up. Beside it, the kernel's time for exactly the
/// evaluations those steps made, and (with the anchors' directory) the peers on the same sizes in the
/// same run, so the ratios survive a shared machine's drift: `dpf_numpy.py` (vectorised over
/// particles) and `dpf_jax.py` (one jit-compiled step). A peer that cannot run is a column that says
/// why, not a failure.
public struct ParticleBenchmark {
    public var sizes: [Int]
    public var nodes = 4
    public var particles = 80
    public var walkSteps = 3
    public var steps: Int
    public var warmUp: Int
    /// The directory holding dpf_numpy.py and dpf_jax.py, or nil.
    public var anchors: String?
    /// The Python that runs them (e.g. a virtual environment's, with JAX).
    public var python = "python3"
    /// The peers' --T: steps they time.
    public var anchorSteps = 300
    /// The particle evaluation's precision (the peers run in double).
    public var precision = Precision.double
    /// The walk (the peers run the paper's, `simple`, only).
    public var walk = WalkKind.simple

    public init(sizes: [Int], steps: Int, warmUp: Int, anchors: String?) {
        (self.sizes, self.steps, self.warmUp, self.anchors) = (sizes, steps, warmUp, anchors)
    }

    /// One size's figures, in milliseconds per node-step.
    public struct Row {
        public var size: Int
        public var step: Double
        public var kernel: Double
        /// The jitter's Gaussians inside the same steps.
        public var jitter: Double
        public var columnsPerSecond: Double
        /// Heap allocations in all the timed steps, when the interposer is loaded.
        public var allocations: Int?
        /// Per peer script: its time, or why it has none.
        public var peers: [(name: String, result: Result<Double, PeerUnavailable>)] = []
    }

    public struct PeerUnavailable: Error, CustomStringConvertible {
        public var description: String
    }

    public func run(print output: (String) -> Void) throws {
        output(
            "DPF in one process: \(nodes) nodes on a ring, N = \(particles), s = \(walkSteps), \(walk.rawValue) walk, "
                + "sequences of 1 to 8 "
                + "columns, \(steps) steps after \(warmUp) of warm-up, \(precision.rawValue) precision; "
                + "ms per node-step"
        )
        var header =
            pad("n = p", 7) + pad("n_theta", 9) + pad("dlstm", 9) + pad("kernel", 9) + pad("jitter", 9)
            + pad("step/kernel", 13) + pad("(k+j)/kernel", 14) + pad("kernel columns/s", 18)
        let counting = AllocationCounter() != nil
        if counting { header += pad("allocations", 13) }
        if anchors != nil { header += pad("numpy", 9) + pad("/ dlstm", 9) + pad("jax", 9) + pad("/ dlstm", 9) }
        output(header)
        var reasons: [String: String] = [:]
        for size in sizes {
            let row = try measure(size: size)
            var line =
                pad(String(size), 7) + pad(String(LSTMShape(hidden: size, input: size).parameterCount), 9)
                + pad(String(format: "%.3f", row.step), 9) + pad(String(format: "%.3f", row.kernel), 9)
                + pad(String(format: "%.3f", row.jitter), 9) + pad(String(format: "%.2f", row.step / row.kernel), 13)
                + pad(String(format: "%.2f", (row.kernel + row.jitter) / row.kernel), 14)
                + pad(String(format: "%.3g", row.columnsPerSecond), 18)
            if let allocations = row.allocations { line += pad(String(allocations), 13) }
            for peer in row.peers {
                switch peer.result {
                case .success(let milliseconds):
                    line += pad(String(format: "%.3f", milliseconds), 9)
                    line += pad(String(format: "%.2f", milliseconds / row.step), 9)
                case .failure(let why):
                    line += pad("-", 9) + pad("-", 9)
                    reasons[peer.name] = why.description
                }
            }
            output(line)
        }
        output("kernel: the particle evaluations inside those steps; columns/s: particle-columns per second of kernel")
        output(
            "jitter: the Gaussians added to every parameter of every particle in those steps; (k+j)/kernel: the "
                + "least step/kernel while the filter jitters")
        output(
            counting
                ? "allocations: heap allocations in all \(steps) timed steps (malloc-interposer); kept buffers grow to "
                    + "their largest message and stay"
                : "allocations: not counted (scripts/bench-pf preloads the package's libMallocInterposerSwift.so)")
        for (name, why) in reasons.sorted(by: { $0.key < $1.key }) { output("\(name) did not run: \(why)") }
    }

    public func measure(size: Int) throws -> Row {
        let model = LSTMModel(shape: LSTMShape(hidden: size, input: size))
        var settings = DistributedSettings(model: model)
        (settings.pf.particles, settings.walkSteps, settings.seed) = (particles, walkSteps, 1)
        settings.walk = walk
        settings.pf.precision = precision
        let network = InProcessNetwork(topology: try Topology.ring(nodes))
        let trainer = DistributedParticleFilter(settings: settings, network: network)
        let teacher = SyntheticTeacher(
            shape: LSTMShape(hidden: size, input: size), noiseVariance: 0.002, lengths: 1...8, count: .max, seed: 2)
        // The batches are made before the clock starts, so the timed loop allocates only what the
        // trainer does.
        let batches = (0..<(warmUp + steps)).map { t in (0..<nodes).map { teacher.sample(t * nodes + $0) } }
        let counter = AllocationCounter()
        var start = DispatchTime.now().uptimeNanoseconds
        let probe = DPFProbe()
        for (t, batch) in batches.enumerated() {
            if t == warmUp {
                trainer.kernel.timesEvaluations = true
                trainer.probe = probe
                start = DispatchTime.now().uptimeNanoseconds
                counter?.start()
            }
            _ = try trainer.predict(batch)
            try trainer.update(batch)
        }
        let allocations = counter?.stop()
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        // Counted by the kernel: a particle that stays at a node is not evaluated again.
        let kernelSeconds = trainer.kernel.evaluationSeconds, columns = trainer.kernel.evaluatedColumns
        let perNodeStep = 1000 / Double(steps * nodes)
        var row = Row(
            size: size, step: seconds * perNodeStep, kernel: kernelSeconds * perNodeStep,
            jitter: probe.jitterSeconds * perNodeStep, columnsPerSecond: Double(columns) / kernelSeconds)
        row.allocations = allocations
        if let anchors {
            for script in ["dpf_numpy.py", "dpf_jax.py"] {
                row.peers.append(
                    walk == .simple
                        ? (script, anchorMilliseconds(script: anchors + "/" + script, size: size))
                        : (script, .failure(PeerUnavailable(description: "\(script) runs the paper's walk only"))))
            }
        }
        return row
    }

    /// A peer's "ms per node-step" on the same sizes, or why it has none.
    private func anchorMilliseconds(script: String, size: Int) -> Result<Double, PeerUnavailable> {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [
            python, script, "--n", "\(size)", "--p", "\(size)", "--N", "\(particles)",
            "--K", "\(nodes)", "--s", "\(walkSteps)", "--T", "\(anchorSteps)",
        ]
        // The peers run without the allocation counter dlstm may have been given.
        process.environment = ProcessInfo.processInfo.environment.filter { $0.key != "LD_PRELOAD" }
        let pipe = Pipe(), errors = Pipe()
        (process.standardOutput, process.standardError) = (pipe, errors)
        do { try process.run() } catch { return .failure(PeerUnavailable(description: "\(error)")) }
        let text = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let errorText = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0, let range = text.range(of: "ms per node-step=") else {
            let last = errorText.split(separator: "\n").last.map(String.init) ?? "exit \(process.terminationStatus)"
            return .failure(PeerUnavailable(description: "\(python) \(script): \(last)"))
        }
        guard let value = Double(text[range.upperBound...].prefix { $0.isNumber || $0 == "." }) else {
            return .failure(PeerUnavailable(description: "\(script) printed no number after 'ms per node-step='"))
        }
        return .success(value)
    }
}
