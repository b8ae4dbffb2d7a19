import DataSources
import LSTM
import Numerics
import Testing
import Trainers

/// Prequential MSE of a trainer over a stream: predict, record (d - d_hat)^2, update.
func prequentialErrors<T: OnlineTrainer>(_ trainer: inout T, _ samples: [Sample]) throws -> [Double] {
    var errors = [Double]()
    for sample in samples {
        let prediction = try trainer.predict(sample)
        errors.append((sample.label - prediction) * (sample.label - prediction))
        try trainer.update(sample)
    }
    return errors
}

func mean(_ values: ArraySlice<Double>) -> Double { values.reduce(0, +) / Double(values.count) }

func variance(_ values: [Double]) -> Double {
    let m = values.reduce(0, +) / Double(values.count)
    return values.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(values.count - 1)
}

@Suite("local trainers learn the synthetic teacher")
struct ConvergenceTests {
    static let noise = 0.002
    static var teacherSamples: [Sample] {
        var teacher = SyntheticTeacher(
            shape: LSTMShape(hidden: 2, input: 2), parameterScale: 2, noiseVariance: noise, lengths: 1...4,
            count: 6000, seed: 11)
        return try! teacher.collect()
    }

    @Test("prequential MSE falls well below the label variance", arguments: ["sgd", "ekf", "pf"])
    func trainerConverges(name: String) throws {
        let samples = Self.teacherSamples
        let labelVariance = variance(samples.map(\.label))
        let model = LSTMModel(shape: LSTMShape(hidden: 2, input: 2))
        let errors: [Double]
        switch name {
        case "sgd":
            var trainer = SGDTrainer(model: model, settings: SGDSettings(), seed: 5)
            errors = try prequentialErrors(&trainer, samples)
        case "ekf":
            var trainer = EKFTrainer(system: LSTMStateSpace(model: model), settings: EKFSettings(), seed: 5)
            errors = try prequentialErrors(&trainer, samples)
        default:
            var trainer = PFTrainer(model: model, settings: PFSettings(), seed: 5)
            errors = try prequentialErrors(&trainer, samples)
        }
        let early = mean(errors[0..<500]), late = mean(errors[5000...])
        print(
            "\(name): label variance \(labelVariance), MSE first 500 \(early), last 1000 \(late), noise \(Self.noise)")
        #expect(late < 0.5 * labelVariance, "\(name): final MSE \(late) vs label variance \(labelVariance)")
        #expect(late < 0.75 * early, "\(name) did not improve: \(early) -> \(late)")
        if name == "ekf" {
            // The EKF reaches the noise floor on this teacher (measured 0.00228 with noise 0.002).
            #expect(late < 2 * Self.noise, "ekf: final MSE \(late), noise variance \(Self.noise)")
        }
    }
}
