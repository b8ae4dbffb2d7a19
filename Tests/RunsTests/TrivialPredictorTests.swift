import Distributed
import Foundation
import LSTM
import RunTestSupport
import Testing

@testable import Runs

/// The baseline every result is compared with.
@Suite("the trivial predictor")
struct TrivialPredictorTests {
    @Test("persistence predicts the window's last value in the labels' scale; the running mean, the labels so far")
    func predictions() {
        let persistence = TrivialPredictor(kind: .persistence, labelScale: 0.5)
        #expect(persistence.predict(Sample(inputs: [0.2, 0.7], length: 1, label: 0)) == 0.35)
        var mean = TrivialPredictor(kind: .runningMean)
        var predictions = [Double]()
        for label in [1.0, 3.0, -1.0] {
            predictions.append(mean.predict(Sample(inputs: [9], length: 1, label: label)))
            mean.observe(label: label)
        }
        #expect(predictions == [0, 1, 2])
    }

    @Test("a run's summary: the running mean's final MSE over the same window, recomputed from its labels")
    func inRun() throws {
        let report = try runInProcess(teacherRun(.sgd, samples: 50), nodes: 3)
        var expected = 0.0
        for record in report.records {
            var sum = 0.0
            var errors = [Double]()
            for (t, label) in record.labels.enumerated() {
                let prediction = t == 0 ? 0 : sum / Double(t)
                errors.append((label - prediction) * (label - prediction))
                sum += label
            }
            expected += errors.suffix(5).reduce(0, +) / 5 / 3
        }
        #expect(abs(report.baselineFinalMSE - expected) <= 1e-15 * expected)
        let baseline = try #require(report.summary().baseline)
        #expect(baseline.predictor == "running mean")
        #expect(baseline.finalMSE == report.baselineFinalMSE)
    }
}
