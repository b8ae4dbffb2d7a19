import ConfigFiles
import Distributed
import Foundation
import RunTestSupport
import Testing

@testable import Runs

/// `TrainingConfiguration` is the one source of the options a run writes: config.toml,
/// summary.json's parameters and the checkpoint header.
@Suite("the typed configuration")
struct ConfigurationTests {
    /// Every stored property, as its option name (walkSteps -> walk-steps).
    static let optionNames: Set<String> = Set(
        Mirror(reflecting: TrainingConfiguration()).children.map { child in
            child.label!.reduce(into: "") { name, c in name += c.isUppercase ? "-" + c.lowercased() : String(c) }
        })

    @Test("every field, optional ones set, appears in config.toml, summary.json's parameters and the checkpoint header")
    func everyFieldEverywhere() throws {
        var saved = RunControl()  // a model to start from, for --init-model
        saved.resultsDirectory = try scratchDirectory()
        _ = try runInProcess(teacherRun(.sgd, samples: 5), nodes: 2, control: saved)
        var configuration = teacherRun(.sgd, samples: 30) {
            ($0.liuWest, $0.column, $0.wordVectors, $0.teacherHidden) = (0.3, "x", "w.txt", 2)
            $0.initModel = saved.resultsDirectory
        }
        configuration.labelScale = 0.5
        #expect(Self.optionNames.count == 49)  // fails when a field is added: check it is wanted in all three
        var control = RunControl()
        control.resultsDirectory = try scratchDirectory()
        (control.checkpointDirectory, control.checkpointEvery) = (try scratchDirectory(), 10)
        _ = try runInProcess(configuration, nodes: 2, control: control)

        let toml = try ConfigFile.options(in: control.resultsDirectory! + "/config.toml")
        #expect(Set(toml.map(\.0)) == Self.optionNames)

        let summaryData = try Data(contentsOf: URL(fileURLWithPath: control.resultsDirectory! + "/summary.json"))
        let summary = try JSONSerialization.jsonObject(with: summaryData) as! [String: Any]
        let parameters = summary["parameters"] as! [String: Any]
        #expect(Set(parameters.keys) == Self.optionNames)

        let file = try Data(contentsOf: URL(fileURLWithPath: control.checkpointDirectory! + "/step-20/node-0.ckpt"))
        let length = Int(file.subdata(in: 8..<16).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) })
        let header = try JSONSerialization.jsonObject(with: file.subdata(in: 16..<(16 + length))) as! [String: Any]
        #expect(Set((header["configuration"] as! [String: Any]).keys) == Self.optionNames)
        #expect(
            try CheckpointStore(directory: control.checkpointDirectory!).read(step: 20, node: 0).header.configuration
                == configuration)
    }

    @Test("config.toml reads back as the same values, doubles to the last bit")
    func tomlRoundTrip() throws {
        var configuration = TrainingConfiguration()
        (configuration.data, configuration.wordVectors, configuration.labelScale) = ("tweets.txt", "vader", 0.25)
        (configuration.jitter, configuration.liuWest, configuration.seed) = (0.1 + 0.2, 1e-300, UInt64(Int64.max))
        configuration.column = "a \"quoted\" \\ name\twith tab"
        let settings = try ConfigFile.options(text: try configuration.toml(), path: "run.toml")
        let values = Dictionary(uniqueKeysWithValues: settings.map { ($0.0, $0.1) })
        #expect(values["jitter"] == .value("\(0.1 + 0.2)"))
        #expect(values["liu-west"] == .value("1e-300"))
        #expect(values["seed"] == .value("\(Int64.max)"))
        #expect(values["column"] == .value("a \"quoted\" \\ name\twith tab"))
        #expect(values["algorithm"] == .value("dpf"))
        #expect(values["samples"] == nil)  // unset options are left out
    }

    @Test("validate(): the first bad value as one line, status 2")
    func validation() {
        let cases: [((inout TrainingConfiguration) -> Void, String)] = [
            ({ $0.walkSteps = 0 }, "--walk-steps 0: must be at least 1"),
            ({ $0.observationNoise = .fixed(-1) }, "--observation-noise -1.0: must be a finite variance > 0, or auto"),
            ({ $0.liuWest = 1 }, "--liu-west 1.0: must be in (0, 1)"),
            ({ $0.seed = .max }, "--seed 18446744073709551615: must be at most 9223372036854775807"),
            ({ $0.beta1 = 1 }, "--beta1 1.0: must be in [0, 1)"),
            ({ $0.beta2 = -0.1 }, "--beta2 -0.1: must be in [0, 1)"),
            ({ $0.epsilon = 0 }, "--epsilon 0.0: must be positive and finite"),
            ({ $0.batch = 0 }, "--batch 0: must be at least 1"),
        ]
        #expect(throws: Never.self) { try TrainingConfiguration().validate() }
        for (change, message) in cases {
            var configuration = TrainingConfiguration()
            change(&configuration)
            #expect(throws: RunError(message, status: .usage)) { try configuration.validate() }
        }
    }

    @Test("bad input found by one node is one collective error on every node, with its status")
    func collectiveInputError() throws {
        let configuration = teacherRun(.dpf, samples: 5) {
            $0.data = "/nonexistent/series.csv"
            $0.column = "x"
        }
        let error = #expect(throws: RunError.self) { _ = try runInProcess(configuration, nodes: 3) }
        #expect(error?.status == .data && error?.isCollective == true)
        #expect(error?.message.hasPrefix("/nonexistent/series.csv: cannot open") == true)
    }

    /// The options that do not shape a trainer: which trainer, the graph, the data and its scaling
    /// (read by `DataStreams`), the synthetic teacher, and the model a run starts from (`TrainingRun`).
    static let runOptions: Set<String> = [
        "algorithm", "topology", "data", "samples", "partition", "column", "lags", "horizon", "lag-layout",
        "normalize", "normalize-prefix", "word-vectors", "teacher-input", "teacher-hidden", "teacher-noise",
        "teacher-scale", "label-scale", "init-model",
    ]

    /// A value other than the default (as JSON) for each option that is not a number, or may be unset;
    /// a number's other value is twice it, plus one.
    static let otherValues: [String: String] = [
        "walk": #""lazy""#, "exchange-precision": #""single""#, "reduce": #""tree""#, "resolution": #""full""#,
        "pooling": #""max""#, "precision": #""single""#, "observation-noise": #""auto""#, "optimizer": #""adam""#,
        "resampling": #""stratified""#, "liu-west": "0.5", "direct-link": "true",
    ]

    /// ARCHITECTURE.md's recipe for an option: a field here, its @Option and mapping line, and the line
    /// of the typed settings that reads it. Every option but the run's own changes what a trainer is
    /// given; an option added without the last step fails here.
    @Test("every trainer option reaches the trainers' typed settings")
    func everyOptionReachesATrainer() throws {
        let base = TrainingConfiguration()
        let object = try JSONSerialization.jsonObject(with: JSONEncoder().encode(base)) as! [String: Any]
        let given = "\(base.distributedSettings(inputSize: 2))"
        for name in Self.optionNames.subtracting(Self.runOptions).sorted() {
            var changed = object
            if let other = Self.otherValues[name] {
                changed[name] = try JSONSerialization.jsonObject(with: Data(other.utf8), options: .fragmentsAllowed)
            } else {
                let number = try #require(object[name] as? Double, "--\(name): give it another value in otherValues")
                changed[name] = number * 2 + 1
            }
            let configuration = try JSONDecoder().decode(
                TrainingConfiguration.self, from: JSONSerialization.data(withJSONObject: changed))
            #expect("\(configuration.distributedSettings(inputSize: 2))" != given, "--\(name) reaches no trainer")
        }
    }

}
