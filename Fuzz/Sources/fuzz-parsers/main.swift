import CLibFuzzer
import ConfigFiles
import DataSources
import Distributed
import Foundation
import LSTM

/// One libFuzzer entry point for every parser; FUZZ_TARGET picks the parser (scripts/fuzz sets it):
///
///   csv, jsonl, text, lexicon, wordvectors, adjacency, toml, json
///
/// Each input goes through the same path as a user's file: it is written to a file and read by the
/// public API dlstm uses. A parser may reject the input (a DataError, TopologyError or
/// ConfigFile.Failure: the one-line message users see), but it must not crash or hang, its message
/// must be one line, and whatever it accepts must be usable: finite numbers of a consistent shape,
/// a valid graph. Anything else stops the fuzzer with the input that caused it.
let target = ProcessInfo.processInfo.environment["FUZZ_TARGET"] ?? ""
let scratch = (ProcessInfo.processInfo.environment["TMPDIR"] ?? "/tmp") + "/dlstm-fuzz-\(getpid())"

// libFuzzer's driver parses its own options (-max_total_time=S, corpus directories, ...).
var argc = CommandLine.argc
var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
exit(LLVMFuzzerRunDriver(&argc, &argv) { start, count in fuzzOneInput(start, count) })

func fuzzOneInput(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let input = Data(UnsafeBufferPointer(start: start, count: count))
    let file = scratch + "." + (["toml", "json", "jsonl", "csv"].contains(target) ? target : "txt")
    guard FileManager.default.createFile(atPath: file, contents: input) else { fatalError("cannot write \(file)") }
    defer { unlink(file) }
    do {
        switch target {
        case "csv":
            for normalization in [CSVTimeSeries.Normalization.none, .minMax(prefix: 5), .zScore(prefix: 5)] {
                for layout in CSVTimeSeries.LagLayout.allCases {
                    var source = try CSVTimeSeries(
                        path: file, column: "y", lags: 2, layout: layout, normalization: normalization)
                    try drain(&source)
                }
            }
            var byNumber = try CSVTimeSeries(path: file, column: "2", lags: 1, horizon: 2)
            try drain(&byNumber)
        case "jsonl":
            var source = try JSONLinesSource(path: file)
            try drain(&source)
        case "text":
            let vectors = WordVectors(width: 2, table: ["good": [1.9, 0.9], "bad": [-2.5, 0.7], ":)": [2.0, 1.1]])
            var source = try LabelledText(path: file, vectors: vectors)
            try drain(&source)
        case "lexicon":
            check(try WordVectors.vaderLexicon(path: file))
        case "wordvectors":
            check(try WordVectors.text(path: file))
        case "adjacency":
            let topology = try Topology.load(path: file)
            check(topology)
        case "toml", "json":
            for (key, _) in try ConfigFile.options(in: file) {
                require(key.first?.isLetter == true && !key.contains(" "), "the option name '\(key)' was accepted")
            }
        default:
            fatalError("FUZZ_TARGET must be one of csv, jsonl, text, lexicon, wordvectors, adjacency, toml, json")
        }
    } catch let error as DataError {
        oneLine("\(error)")
    } catch let error as TopologyError {
        oneLine("\(error)")
    } catch let error as ConfigFile.Failure {
        oneLine("\(error)")
    } catch {
        fatalError("unexpected error type \(type(of: error)): \(error)")
    }
    return 0
}

/// Reads every sample: each must have the source's p, at least one column, and finite numbers.
func drain<Source: SampleSource>(_ source: inout Source) throws {
    let p = source.inputSize
    require(p >= 1, "inputSize \(p)")
    while let sample = try source.next() {
        require(
            sample.length >= 1 && sample.inputs.count == sample.length * p,
            "sample shape \(sample.inputs.count) for m = \(sample.length), p = \(p)")
        require(
            sample.label.isFinite && sample.inputs.allSatisfy(\.isFinite), "a non-finite number in an accepted sample")
    }
}

func check(_ vectors: WordVectors) {
    require(vectors.width >= 1 && vectors.count >= 1, "an empty word-vector table was accepted")
}

func check(_ topology: Topology) {
    let k = topology.nodeCount
    for i in 0..<k {
        require(!topology.neighbors[i].contains(i), "self loop at \(i)")
        for j in topology.neighbors[i] { require(topology.neighbors[j].contains(i), "asymmetric edge \(i)-\(j)") }
    }
    for row in topology.metropolisWeights {
        require(
            abs(row.reduce(0, +) - 1) < 1e-12 && row.allSatisfy { $0 >= 0 },
            "Metropolis weights do not form a stochastic row")
    }
    for kind in [WalkKind.simple, .lazy, .metropolis] {
        let slem = RandomWalk(topology: topology, kind: kind).slem
        require(slem.isFinite && slem >= 0 && slem <= 1 + 1e-9, "SLEM \(slem) of the \(kind) walk")
    }
}

func oneLine(_ message: String) {
    require(
        !message.isEmpty && !message.contains("\n"),
        "an error message that is not one line: \(message.debugDescription)")
}

func require(_ condition: Bool, _ what: @autoclosure () -> String) {
    if !condition { fatalError("fuzz-parsers (\(target)): \(what())") }
}
