import DataSources
import Foundation
import LSTM
import Testing

let dataDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("data").path

/// Writes `text` to a fresh temporary file and returns its path.
func temporaryFile(_ text: String, suffix: String = ".txt") throws -> String {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("dlstm-\(UUID().uuidString)\(suffix)").path
    try text.write(toFile: path, atomically: true, encoding: .utf8)
    return path
}

/// The one-line message of the DataError `body` throws.
func dataError(_ body: () throws -> Void) -> String {
    do {
        try body()
        return "no error"
    } catch let error as DataError {
        return error.description
    } catch {
        return "unexpected \(error)"
    }
}

@Suite("data sources")
struct DataSourceTests {
    let fx = dataDirectory + "/fx/garch_daily_usd_1980_1987.csv"

    @Test("FX series as lag windows: one column of p = L, or a sequence of L columns")
    func csvLags() throws {
        var vector = try CSVTimeSeries(path: fx, column: "dm", lags: 2)
        let samples = try vector.collect()
        #expect(samples.count == 1867 - 2)
        #expect(samples[0] == Sample(inputs: [0.5861, 0.5837], length: 1, label: samples[1].inputs[1]))
        var sequence = try CSVTimeSeries(path: fx, column: "3", lags: 3, horizon: 2, layout: .sequence)
        let first = try #require(try sequence.next())
        #expect(first.length == 3 && first.inputSize == 1 && first.inputs[0] == 0.5861)
        var all = try CSVTimeSeries(path: fx, column: "3", lags: 3, horizon: 2, layout: .sequence)
        let series = try all.collect()
        #expect(series.count == 1867 - 4)
        #expect(series[0].label == series[2].inputs[2], "the label is h = 2 steps after the last lag")
    }

    @Test("normalisation uses statistics of a prefix only")
    func csvNormalisation() throws {
        var minMax = try CSVTimeSeries(path: fx, column: "dm", lags: 1, normalization: .minMax(prefix: 100))
        let prefix = try minMax.collect(limit: 99).map { $0.inputs[0] }
        #expect(prefix.min()! >= 0 && prefix.max()! <= 1 && abs(prefix.min()!) < 1e-12)
        var z = try CSVTimeSeries(path: fx, column: "dm", lags: 1, normalization: .zScore(prefix: 1867))
        let values = try z.collect().map { $0.inputs[0] }
        let mean = values.reduce(0, +) / Double(values.count)
        #expect(abs(mean) < 0.01)
    }

    @Test("bad CSV input names the file and the line")
    func csvErrors() throws {
        let path = try temporaryFile("a,b\n1,2\n3,oops\n5,6\n", suffix: ".csv")
        #expect(
            dataError {
                var s = try CSVTimeSeries(path: path, column: "b", lags: 1)
                _ = try s.collect()
            }
                == "\(path):3: field 2 is 'oops', expected a finite number")
        #expect(
            dataError { _ = try CSVTimeSeries(path: path, column: "c", lags: 1) }
                == "\(path):1: no column named 'c'; columns: a, b")
        let nan = try temporaryFile("1\nnan\n", suffix: ".csv")
        #expect(
            dataError {
                var s = try CSVTimeSeries(path: nan, column: "1", lags: 1)
                _ = try s.collect()
            }.contains(":2: "))
        #expect(
            dataError { _ = try CSVTimeSeries(path: "/nonexistent/x.csv", column: "1", lags: 1) }
                == "/nonexistent/x.csv: cannot open: No such file or directory")
        // A carriage return inside a field is escaped: the message stays one line.
        let cr = try temporaryFile("y\n1\n2\r3\n", suffix: ".csv")
        #expect(
            dataError {
                var s = try CSVTimeSeries(path: cr, column: "y", lags: 1)
                _ = try s.collect()
            }
                == "\(cr):3: field 1 is '2\\r3', expected a finite number")
    }

    // Found by scripts/fuzz: 1e308 and -1e308 are finite, but their range is not, and min-max
    // scaling turned them into NaN that reached the trainers.
    @Test(
        "values too large to normalise are an error, not NaN",
        arguments: [
            CSVTimeSeries.Normalization.minMax(prefix: 3), .zScore(prefix: 3),
        ])
    func csvOverflowingNormalisation(normalization: CSVTimeSeries.Normalization) throws {
        let prefix = try temporaryFile("y\n1e308\n-1e308\n1\n2\n", suffix: ".csv")
        #expect(
            dataError { _ = try CSVTimeSeries(path: prefix, column: "y", lags: 1, normalization: normalization) }
                .contains("too large to normalise"))
        let later = try temporaryFile("y\n0\n1e-10\n2e-10\n1e300\n", suffix: ".csv")
        #expect(
            dataError {
                var s = try CSVTimeSeries(path: later, column: "y", lags: 1, normalization: normalization)
                _ = try s.collect()
            }
            .hasPrefix("\(later):5: 1e+300 is too large to normalise"))
    }

    @Test("VADER tweets with lexicon vectors: 4200 samples, p = 2, CRLF handled")
    func vaderTweets() throws {
        let lexicon = try WordVectors.vaderLexicon(path: dataDirectory + "/sentiment/vader_lexicon.txt")
        #expect(lexicon.width == 2 && lexicon.count > 7000)
        #expect(lexicon.vector(for: "good") != nil)
        var tweets = try LabelledText(path: dataDirectory + "/sentiment/tweets_GroundTruth.txt", vectors: lexicon)
        let samples = try tweets.collect()
        #expect(samples.count == 4200)
        #expect(abs(samples[0].label - 2.726315789) < 1e-9)
        #expect(samples.allSatisfy { $0.inputSize == 2 && $0.length >= 1 })
        // A lexicon word at the end of a CRLF line must still be found.
        let crlf = try temporaryFile("1\t1.5\tthat was good\r\n2\t-2\txqzv wvbt\r\n")
        var small = try LabelledText(path: crlf, vectors: lexicon)
        let parsed = try small.collect()
        #expect(parsed[0].length == 1 && parsed[0].inputs == lexicon.vector(for: "good"))
        #expect(parsed[1].length == 1 && parsed[1].inputs == [0, 0], "no known word: one zero column")
        let bad = try temporaryFile("1\tgreat\ttext\n")
        #expect(
            dataError {
                var s = try LabelledText(path: bad, vectors: lexicon)
                _ = try s.collect()
            }
                == "\(bad):1: the score 'great' is not a finite number")
    }

    @Test("GloVe / word2vec text vectors, width checked")
    func textVectors() throws {
        let glove = try temporaryFile("the 0.1 0.2 0.3\ncat -1 0 1\n")
        let vectors = try WordVectors.text(path: glove)
        #expect(vectors.width == 3 && vectors.vector(for: "cat") == [-1, 0, 1])
        let word2vec = try temporaryFile("2 2\na 1 2\nb 3 4\n")
        #expect(try WordVectors.text(path: word2vec).count == 2)
        let ragged = try temporaryFile("a 1 2\nb 3\n")
        #expect(
            dataError { _ = try WordVectors.text(path: ragged) }
                == "\(ragged):2: vector of width 1, earlier lines have 2")
    }

    @Test("JSON Lines samples and their errors")
    func jsonLines() throws {
        let good = try temporaryFile(
            "{\"x\": [[1, 2], [3, 4], [5, 6]], \"d\": 0.5}\n\n{\"x\": [[0, 0]], \"d\": -1}\n", suffix: ".jsonl")
        var source = try JSONLinesSource(path: good)
        let samples = try source.collect()
        #expect(
            samples == [
                Sample(inputs: [1, 2, 3, 4, 5, 6], length: 3, label: 0.5),
                Sample(inputs: [0, 0], length: 1, label: -1),
            ])
        let cases: [(String, String)] = [
            ("{\"x\": [[1, 2], [3]], \"d\": 1}", ":1: column 2 has 1 values, column 1 has 2 (ragged x)"),
            ("{\"x\": [], \"d\": 1}", ":1: \"x\" must be a non-empty array of columns [[x1, ..., xp], ...]"),
            ("{\"x\": [[1]], \"d\": \"a\"}", ":1: \"d\" must be a number"),
            ("{\"x\": [[1]], \"d\": true}", ":1: \"d\" must be a number"),
            ("{\"x\": [[true]], \"d\": 1}", ":1: column 1 of \"x\" holds a value that is not a finite number"),
            ("{\"x\": [[1]], \"d\": 1, \"y\": 2}", ":1: unknown key(s) y; expected \"x\" and \"d\""),
            ("[1, 2]", ":1: not a JSON object"),
            (
                "{\"x\": [[1, 2]], \"d\": 1}\n{\"x\": [[1, 2, 3]], \"d\": 1}",
                ":2: columns have 3 values, earlier samples have p = 2"
            ),
        ]
        for (text, expected) in cases {
            let path = try temporaryFile(text + "\n", suffix: ".jsonl")
            #expect(
                dataError {
                    var s = try JSONLinesSource(path: path)
                    _ = try s.collect()
                } == path + expected)
        }
    }

    @Test("partitioning deals every sample to exactly one node", arguments: [1, 3, 4])
    func partitioning(nodes: Int) throws {
        for partitioning in [Partitioning.roundRobin, .blocks(total: 10)] {
            var owners = [Int](repeating: 0, count: 10)
            for node in 0..<nodes {
                var source = PartitionedSource(
                    SyntheticTeacher(
                        shape: LSTMShape(hidden: 1, input: 1), noiseVariance: 0,
                        count: 10, seed: 1),
                    partitioning: partitioning, node: node, nodes: nodes)
                let teacher = SyntheticTeacher(
                    shape: LSTMShape(hidden: 1, input: 1), noiseVariance: 0, count: 10, seed: 1)
                let samples = try source.collect()
                #expect(
                    samples.count == partitioning.sampleCount(node: node, nodes: nodes, total: 10),
                    "\(partitioning), node \(node) of \(nodes)")
                for sample in samples {
                    let index = (0..<10).first { teacher.sample($0) == sample }!
                    owners[index] += 1
                    #expect(partitioning.owns(index: index, node: node, nodes: nodes))
                }
            }
            #expect(owners == [Int](repeating: 1, count: 10), "\(partitioning) on \(nodes) nodes: \(owners)")
        }
        #expect(Partitioning.roundRobin.owns(index: 7, node: 7 % nodes, nodes: nodes))
    }

    @Test("the teacher's samples depend on their index only")
    func teacherIsAddressable() throws {
        var teacher = SyntheticTeacher(
            shape: LSTMShape(hidden: 2, input: 3), noiseVariance: 0.1, lengths: 2...6, count: 20, seed: 8)
        let inOrder = try teacher.collect()
        #expect(inOrder.count == 20)
        #expect((0..<20).reversed().map { teacher.sample($0) } == inOrder.reversed())
        #expect(Set(inOrder.map(\.length)).isSubset(of: Set(2...6)) && Set(inOrder.map(\.length)).count > 2)
    }
}
