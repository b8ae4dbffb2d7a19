import Distributed
import Foundation
import LSTM
import Numerics
import RunTestSupport
import Runs
import Testing

/// The trained-model files: what a run writes predicts what the run would have predicted next,
/// bit for bit, and reads back as it was written.
@Suite("Model files")
struct ModelFileTests {
    static let fx =
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("data/fx/garch_daily_usd_1980_1987.csv").path

    func fxRun(_ algorithm: Algorithm, samples: Int, directLink: Bool? = nil) -> TrainingConfiguration {
        var configuration = TrainingConfiguration()
        (configuration.algorithm, configuration.samples, configuration.data) = (algorithm, samples, Self.fx)
        (configuration.column, configuration.normalize, configuration.normalizePrefix) = ("bp", .minmax, 300)
        configuration.hidden = algorithm.isELM ? 12 : 3
        configuration.directLink = directLink ?? algorithm.isELM
        return configuration
    }

    @Test(
        "node K's model after T steps predicts its step T + 1 bit for bit as a run of T + 1 steps did",
        arguments: [
            (Algorithm.sgd, false), (.sgd, true), (.ekf, false), (.ekf, true), (.elm, true), (.dekf, true),
            (.delm, true),
        ])
    func savedModelPredictsTheNextStep(algorithm: Algorithm, directLink: Bool) throws {
        let nodes = 3, steps = 40
        let directory = try scratchDirectory()
        var control = RunControl()
        control.resultsDirectory = directory
        _ = try runInProcess(fxRun(algorithm, samples: steps, directLink: directLink), nodes: nodes, control: control)
        let longer = try runInProcess(fxRun(algorithm, samples: steps + 1, directLink: directLink), nodes: nodes)
        for k in 0..<nodes {
            let model = try TrainedModel(file: directory + "/node-\(k).safetensors")
            #expect(model.node == k && model.configuration.algorithm == algorithm)
            // A trained LSTM's v is in theta, an ELM's a column of its readout: never both.
            #expect(model.model.shape.directLink == (directLink && !algorithm.isELM))
            #expect((model.directWeights != nil) == (directLink && algorithm.isELM))
            #expect(try model.safeTensors().tensors["direct.weight"]?.shape == (directLink ? [1, 2] : nil))
            let samples = try model.configuration.allSamples(scaling: (model.dataOffset, model.dataScale))
            // Round robin: file sample i goes to node i mod K, so node k's step T + 1 is sample T K + k.
            let next = samples[steps * nodes + k]
            #expect(model.predict(next).bitPattern == longer.records[k].predictions[steps].bitPattern, "node \(k)")
        }
        // The network's model is the mean of the nodes' estimates (an ELM's: of its readouts).
        func estimate(_ model: TrainedModel) -> [Double] {
            guard let bias = model.readoutBias else { return model.theta }
            return Array(model.theta[0..<model.model.shape.hidden]) + [bias] + (model.directWeights ?? [])
        }
        let network = try TrainedModel(file: directory + "/model.safetensors")
        let estimates = try (0..<nodes).map { estimate(try TrainedModel(file: directory + "/node-\($0).safetensors")) }
        let mean = (0..<estimates[0].count).map { j in estimates.map { $0[j] }.reduce(0, +) / Double(nodes) }
        #expect(network.node == nil)
        #expect(estimate(network) == mean, "differ by \(zip(estimate(network), mean).map { abs($0 - $1) }.max()!)")
    }

    @Test(
        "a particle filter's node model keeps its cloud; predict is the weighted mean of h over it, as by the kernel",
        arguments: [Algorithm.pf, .dpf, .cpf])
    func particleCloudModels(algorithm: Algorithm) throws {
        let directory = try scratchDirectory()
        var control = RunControl()
        control.resultsDirectory = directory
        // The direct link for DPF and CPF: v travels with the particles and is in the saved cloud.
        let configuration = teacherRun(algorithm, samples: 30) {
            $0.particles = 20
            $0.directLink = algorithm != .pf
        }
        _ = try runInProcess(configuration, nodes: 3, control: control)
        let samples = try configuration.allSamples(scaling: nil)
        for k in 0..<3 {
            let model = try TrainedModel(file: directory + "/node-\(k).safetensors")
            let particles = try #require(model.particles), logWeights = try #require(model.logWeights)
            #expect(model.model.shape.directLink == (algorithm != .pf))
            let size = model.model.shape.parameterCount
            // N per node; the centralized PF's common cloud has N K; DPF's particles walk, so a node holds any number.
            let expected = [Algorithm.pf: 20, .cpf: 60][algorithm] ?? particles.count / size
            #expect(logWeights.count == expected && particles.count == expected * size && expected > 0)
            let block = ParticleParameters(
                shape: model.model.shape,
                particles: (0..<logWeights.count).map { Array(particles[($0 * size)..<(($0 + 1) * size)]) })
            let kernel = ParticleKernel(shape: model.model.shape, pooling: model.model.pooling)
            let weights = try #require(normalizedWeights(fromLog: logWeights))
            for sample in samples.prefix(5) {
                var output = KernelOutput()
                kernel.evaluate(block, sample: sample, into: &output)
                let mean = zip(weights, output.estimates).map { $0 * $1 }.reduce(0, +)
                let predicted = model.predict(sample)
                #expect(abs(predicted - mean) <= 1e-12 * max(1, abs(mean)), "node \(k)")
                #expect(model.predict(sample, point: true) == model.model.estimate(theta: model.theta, sample: sample))
            }
        }
        // The network's model is the point estimate alone.
        #expect(try TrainedModel(file: directory + "/model.safetensors").particles == nil)
    }

    @Test(
        "--init-model: SGD and the EKF start at the saved network model, so their first prediction is its own",
        arguments: [Algorithm.sgd, .ekf, .dekf, .dsgd, .avg])
    func startFromSavedModel(algorithm: Algorithm) throws {
        let directory = try scratchDirectory()
        var control = RunControl()
        control.resultsDirectory = directory
        _ = try runInProcess(fxRun(.ekf, samples: 30), nodes: 2, control: control)
        var resumed = fxRun(algorithm, samples: 5)
        // Another prefix would give other statistics: the run must scale with the model's.
        (resumed.initModel, resumed.normalizePrefix) = (directory, 100)
        let report = try runInProcess(resumed, nodes: 3)
        let model = try TrainedModel(file: directory + "/model.safetensors")
        let samples = try resumed.allSamples(scaling: (model.dataOffset, model.dataScale))
        for k in 0..<3 { #expect(report.records[k].predictions[0] == model.predict(samples[k]), "node \(k)") }
        // Without it, the first predictions are the small random start's.
        let fresh = try runInProcess(fxRun(algorithm, samples: 5), nodes: 3)
        #expect(fresh.records[0].predictions[0] != report.records[0].predictions[0])
    }

    @Test("--init-model refuses a model of other sizes or direct link, and ELM runs, one line, status 2")
    func initModelRefusals() throws {
        let directory = try scratchDirectory()
        var control = RunControl()
        control.resultsDirectory = directory
        _ = try runInProcess(fxRun(.sgd, samples: 10), nodes: 2, control: control)
        var wider = fxRun(.sgd, samples: 5)
        (wider.initModel, wider.hidden) = (directory, 4)
        #expect {
            _ = try runInProcess(wider, nodes: 2)
        } throws: { error in
            let line = (error as? RunError)?.line ?? ""
            return (error as? RunError)?.status == .usage && line.contains("n = 3, p = 2") && line.contains("n = 4")
        }
        var linked = fxRun(.sgd, samples: 5, directLink: true)
        linked.initModel = directory
        #expect {
            _ = try runInProcess(linked, nodes: 2)
        } throws: { error in
            (error as? RunError)?.status == .usage
                && ((error as? RunError)?.line ?? "").contains("without the direct link")
        }
        var elm = fxRun(.elm, samples: 5)
        elm.initModel = directory
        #expect(throws: RunError.self) { try elm.validate() }
    }

    @Test("a model file reads back as written; a truncated, foreign or newer file is one line, status 3")
    func roundTripAndRefusals() throws {
        var configuration = fxRun(.elm, samples: 10)
        configuration.labelScale = 0.1 + 0.2  // 0.30000000000000004: kept exactly
        var random = SystemRandomNumberGenerator()
        let estimate = (0..<(12 + 1 + 2)).map { _ in Double.random(in: -1...1, using: &random) }
        var model = TrainedModel(estimate: estimate, inputSize: 2, configuration: configuration)
        (model.dataOffset, model.dataScale, model.node) = (1.5, 0.25, 2)
        let data = try model.safeTensors().encoded()
        let headerLength = data.prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
        #expect(headerLength % 8 == 0)
        let directory = try scratchDirectory()
        let path = directory + "/model.safetensors"
        try data.write(to: URL(fileURLWithPath: path))
        let read = try TrainedModel(file: path)
        #expect(read.theta == model.theta && read.readoutBias == model.readoutBias)
        #expect(read.directWeights == model.directWeights && read.node == 2)
        #expect(read.dataOffset == 1.5 && read.dataScale == 0.25 && read.configuration.labelScale == 0.1 + 0.2)
        #expect(read.configuration.hidden == 12 && read.model.shape == model.model.shape)
        #expect(try read.safeTensors().encoded() == data)

        func refusal(_ bytes: Data) throws -> String {
            try bytes.write(to: URL(fileURLWithPath: path))
            do {
                _ = try TrainedModel(file: path)
                return "accepted"
            } catch let error as RunError {
                #expect(error.status == .data && !error.line.contains("\n"))
                return error.line
            }
        }
        #expect(try refusal(data.prefix(data.count - 8)).contains("truncated"))
        #expect(try refusal(data.prefix(5)).contains("shorter than"))
        #expect(try refusal(Data("not a model at all, but long enough".utf8)).contains("not a dlstm model file"))
        var newer = try model.safeTensors()
        newer.metadata["format_version"] = "2"
        #expect(try refusal(try newer.encoded()).contains("format version 2; this dlstm reads version 1"))
    }
}
