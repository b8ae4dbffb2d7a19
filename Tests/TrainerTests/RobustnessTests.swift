import DataSources
import LSTM
import Numerics
import Testing
import Trainers

@Suite("extreme settings: no silent NaN")
struct RobustnessTests {
    func samples(scale: Double, count: Int = 50) throws -> [Sample] {
        var teacher = SyntheticTeacher(
            shape: LSTMShape(hidden: 2, input: 2), noiseVariance: 0.01, count: count, seed: 3)
        return try teacher.collect().map {
            Sample(inputs: $0.inputs.map { $0 * scale }, length: $0.length, label: $0.label)
        }
    }

    /// Runs `trainer` over `data`, expecting every prediction, and the parameters at the end, finite.
    func trainExpectingFinite<Trainer: OnlineTrainer>(_ trainer: inout Trainer, on data: [Sample]) throws {
        for sample in data {
            let prediction = try trainer.predict(sample)
            #expect(prediction.isFinite)
            try trainer.update(sample)
        }
        let finite = trainer.parameters.allSatisfy { $0.isFinite }
        #expect(finite)
    }

    @Test("a tiny observation variance makes every weight zero: the PF recovers and stays finite")
    func tinyObservationNoise() throws {
        var settings = PFSettings()
        // -0.5 / Var[eps] overflows: every log-weight is -inf.
        settings.observationNoise = .fixed(.leastNonzeroMagnitude)
        var trainer = PFTrainer(model: LSTMModel(shape: LSTMShape(hidden: 2, input: 2)), settings: settings, seed: 1)
        try trainExpectingFinite(&trainer, on: try samples(scale: 1))
        #expect(trainer.filter.degenerateSteps > 0, "the test did not reach the all-zero-weight case")
    }

    @Test(
        "log-likelihoods near -1e11 (exp underflows to 0 everywhere): weighted by their differences, no recovery"
    )
    func underflowingWeights() throws {
        var settings = PFSettings()
        settings.observationNoise = .fixed(1e-12)  // -0.5 e^2 / Var[eps] is about -1e11 for every particle
        var trainer = PFTrainer(model: LSTMModel(shape: LSTMShape(hidden: 2, input: 2)), settings: settings, seed: 1)
        try trainExpectingFinite(&trainer, on: try samples(scale: 1))
        #expect(trainer.filter.degenerateSteps == 0, "finite log-weights, however small, must not count as a collapse")
    }

    @Test(
        "a vanishing observation noise makes the EKF covariance lose positive definiteness: stopped with a clear error")
    func ekfLosesPositiveDefiniteness() throws {
        var settings = EKFSettings()
        settings.observationNoise = .fixed(1e-300)  // P -= v v^T / (h^T P h + R) then cancels to rounding error
        settings.processNoise = 1e-300
        var trainer = EKFTrainer(
            system: LSTMStateSpace(model: LSTMModel(shape: LSTMShape(hidden: 2, input: 2))), settings: settings, seed: 1
        )
        var finiteUntilStopped = true
        let error = #expect(throws: TrainerError.self) {
            for sample in try self.samples(scale: 1, count: 300) {
                _ = try trainer.predict(sample)
                try trainer.update(sample)
                finiteUntilStopped = finiteUntilStopped && trainer.parameters.allSatisfy(\.isFinite)
            }
        }
        guard case .covarianceNotPositiveDefinite = error else {
            Issue.record("expected the loss of positive definiteness, got \(String(describing: error))")
            return
        }
        #expect("\(error!)".contains("increase the measurement noise variance"))
        #expect(finiteUntilStopped)
    }

    @Test("huge inputs saturate the gates without NaN", arguments: ["sgd", "ekf", "pf"])
    func hugeInputs(name: String) throws {
        let model = LSTMModel(shape: LSTMShape(hidden: 2, input: 2))
        let data = try samples(scale: 1e150)
        var trainer: any OnlineTrainer =
            switch name {
            case "sgd": SGDTrainer(model: model, settings: SGDSettings(), seed: 1)
            case "ekf": EKFTrainer(system: LSTMStateSpace(model: model), settings: EKFSettings(), seed: 1)
            default: PFTrainer(model: model, settings: PFSettings(), seed: 1)
            }
        try trainExpectingFinite(&trainer, on: data)
    }

    @Test("an exploding SGD stops with a clear error instead of NaN")
    func explodingSGD() throws {
        var settings = SGDSettings()
        settings.learningRate = 1e200
        var trainer = SGDTrainer(model: LSTMModel(shape: LSTMShape(hidden: 2, input: 2)), settings: settings, seed: 1)
        let error = #expect(throws: TrainerError.self) {
            for sample in try self.samples(scale: 1) {
                _ = try trainer.predict(sample)
                try trainer.update(sample)
            }
        }
        #expect(
            error.map { "\($0)".contains("sgd") && "\($0)".contains("not finite") } == true,
            "\(String(describing: error))")
    }
}
