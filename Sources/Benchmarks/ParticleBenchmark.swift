import DataSources
import Distributed
import Foundation
import LSTM

/// `dlstm bench particles`: the DPF's time per node-step in one process, the setting of the
/// particle-store issue: K nodes on a ring in-process, N particles each, s walk moves, teacher
/// sequences of 1 to 8 columns, n = p, steady state after a warm-up. With the anchors' directory,
/// the peers run on the same sizes in the same run, so the ratios survive a shared machine's drift:
/// `dpf_numpy.py` (vectorised over particles) and `dpf_jax.py` (one jit-compiled step; "-" when JAX
/// is not installed).
public struct ParticleBenchmark {
    public var sizes: [Int]
    public var nodes = 4
    public var particles = 80
    public var walkSteps = 3
    public var steps: Int
    public var warmUp: Int
    /// The directory holding dpf_numpy.py and dpf_jax.py, or nil.
    public var anchors: String?

    public init(sizes: [Int], steps: Int, warmUp: Int, anchors: String?) {
        (self.sizes, self.steps, self.warmUp, self.anchors) = (sizes, steps, warmUp, anchors)
    }

    public func run(print output: (String) -> Void) throws {
        output(
            "DPF in one process: \(nodes) nodes on a ring, N = \(particles), s = \(walkSteps), sequences of 1 to 8 "
                + "columns, \(steps) steps after \(warmUp) of warm-up")
        output(
            pad("n = p", 7) + pad("n_theta", 9) + pad("ms/node-step", 14) + pad("columns/s", 12)
                + (anchors == nil ? "" : pad("numpy ms", 10) + pad("/ dlstm", 9) + pad("jax ms", 9) + pad("/ dlstm", 9))
        )
        for size in sizes {
            let (seconds, columns) = try timeDPF(size: size)
            let perNodeStep = seconds / Double(steps * nodes) * 1000
            var line =
                pad(String(size), 7) + pad(String(LSTMShape(hidden: size, input: size).parameterCount), 9)
                + pad(String(format: "%.3f", perNodeStep), 14) + pad(String(format: "%.3g", columns / seconds), 12)
            if let anchors {
                for (script, width) in [("dpf_numpy.py", 10), ("dpf_jax.py", 9)] {
                    let peer = try anchorMilliseconds(script: anchors + "/" + script, size: size)
                    line += pad(peer.map { String(format: "%.3f", $0) } ?? "-", width)
                    line += pad(peer.map { String(format: "%.2f", $0 / perNodeStep) } ?? "-", 9)
                }
            }
            output(line)
        }
        output("columns/s: particle-columns evaluated per second (particles x sequence columns, over all nodes)")
    }

    /// Seconds of `steps` DPF steps after the warm-up, and the particle-columns they evaluated.
    private func timeDPF(size: Int) throws -> (Double, Double) {
        let model = LSTMModel(shape: LSTMShape(hidden: size, input: size))
        var settings = DistributedSettings(model: model)
        (settings.trainer.particles, settings.walkSteps, settings.seed) = (particles, walkSteps, 1)
        let network = InProcessNetwork(topology: try Topology.ring(nodes))
        let trainer = DistributedParticleFilter(settings: settings, network: network)
        let teacher = SyntheticTeacher(
            shape: LSTMShape(hidden: size, input: size), noiseVariance: 0.002, lengths: 1...8, count: .max, seed: 2)
        var columns = 0.0, start = DispatchTime.now().uptimeNanoseconds
        for t in 0..<(warmUp + steps) {
            if t == warmUp { (columns, start) = (0, DispatchTime.now().uptimeNanoseconds) }
            let samples = (0..<nodes).map { teacher.sample(t * nodes + $0) }
            _ = try trainer.predict(samples)
            try trainer.update(samples)
            // Every node's particles run its sequence once per walk move (about N per node).
            columns += Double(samples.map(\.length).reduce(0, +) * particles * walkSteps)
        }
        return (Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9, columns)
    }

    /// A peer's "ms per node-step" on the same sizes (300 steps), or nil when it cannot run.
    private func anchorMilliseconds(script: String, size: Int) throws -> Double? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [
            "python3", script, "--n", "\(size)", "--p", "\(size)", "--N", "\(particles)",
            "--K", "\(nodes)", "--s", "\(walkSteps)", "--T", "300",
        ]
        let pipe = Pipe()
        (process.standardOutput, process.standardError) = (pipe, FileHandle.nullDevice)
        try process.run()
        let text = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0, let range = text.range(of: "ms per node-step=") else { return nil }
        return Double(text[range.upperBound...].prefix { $0.isNumber || $0 == "." })
    }
}
