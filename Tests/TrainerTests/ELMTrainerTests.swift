import DataSources
import LSTM
import Numerics
import Testing
import Trainers

/// The online ELM against an independent solution: the weighted ridge normal equations by
/// Cholesky, on a small well-conditioned problem where they are accurate.
@Suite("ELM trainer")
struct ELMTrainerTests {
    @Test(
        "each prediction is beta of the rows before it (ridge, forgetting) times the new features",
        arguments: [1.0, 0.95])
    func predictionsFollowLeastSquares(forgetting: Double) throws {
        let model = LSTMModel(shape: LSTMShape(hidden: 4, input: 2))
        let features = ELMFeatures(model: model, seed: 3, scale: 0.5)
        let ridge = 0.01
        var trainer = ELMTrainer(features: features, forgetting: forgetting, ridge: ridge)
        let teacher = SyntheticTeacher(
            shape: LSTMShape(hidden: 2, input: 2), noiseVariance: 0.002, count: .max, seed: 5)
        let c = features.featureCount
        // A = sum_i lambda^(age) h_i h_i^T + lambda^t ridge I, b = sum_i lambda^(age) d_i h_i.
        var a = Matrix.identity(c, scale: ridge), b = [Double](repeating: 0, count: c)
        for t in 0..<60 {
            let sample = teacher.sample(t)
            let h = features.rows([sample])
            let prediction = try trainer.predict(sample)
            let l = try #require(cholesky(a))
            let beta = solveCholesky(l, b)
            let expected = zip(beta, h).map { $0 * $1 }.reduce(0, +)
            #expect(abs(prediction - expected) <= 1e-9 * max(1, abs(expected)), "step \(t + 1)")
            try trainer.update(sample)
            for i in 0..<c {
                b[i] = forgetting * b[i] + sample.label * h[i]
                for j in 0..<c { a[i, j] = forgetting * a[i, j] + h[i] * h[j] }
            }
        }
        #expect(trainer.triangle.rows == 60)
    }

    @Test("the EKF restricted to the readout (Q = 0, P0 = R / ridge I) is recursive least squares: same predictions")
    func ekfOnTheReadoutIsRecursiveLeastSquares() throws {
        let model = LSTMModel(shape: LSTMShape(hidden: 6, input: 2))
        let features = ELMFeatures(model: model, seed: 7, scale: 0.5, directLink: true)
        let ridge = 0.05, r = 0.01, c = features.featureCount
        var rls = ELMTrainer(features: features, ridge: ridge)
        // The state is beta, static; d_t = h_t^T beta + eps: the input is the feature row itself.
        // The prior N(0, (R / ridge) I) is the ridge's prior rows sqrt(ridge) e_j, with both sides divided by R.
        var ekf = ExtendedKalmanFilter(
            model: LinearGaussianModel(transitionMatrix: .identity(c), observationVector: { $0 }),
            initialState: [Double](repeating: 0, count: c), initialCovariance: .identity(c, scale: r / ridge),
            processNoise: 0, observationNoise: r)
        let teacher = SyntheticTeacher(
            shape: LSTMShape(hidden: 2, input: 2), noiseVariance: 0.002, count: .max, seed: 11)
        for t in 0..<80 {
            let sample = teacher.sample(t)
            let h = features.rows([sample])
            let fromRLS = try rls.predict(sample)
            ekf.timeUpdate(input: h)
            let fromEKF = ekf.predictedObservation(input: h)
            #expect(abs(fromRLS - fromEKF) <= 1e-9 * max(1, abs(fromEKF)), "step \(t + 1)")
            try rls.update(sample)
            try ekf.measurementUpdate(observation: sample.label, input: h)
        }
        _ = try rls.predict(teacher.sample(80))  // solves for beta over all 80 rows
        let scale = ekf.state.map(abs).max()!
        #expect(zip(rls.parameters, ekf.state).allSatisfy { abs($0 - $1) <= 1e-9 * scale })
    }

    /// x with L L^T x = b.
    func solveCholesky(_ l: Matrix, _ b: [Double]) -> [Double] {
        let n = b.count
        var y = b
        for i in 0..<n {
            for j in 0..<i { y[i] -= l[i, j] * y[j] }
            y[i] /= l[i, i]
        }
        for i in stride(from: n - 1, through: 0, by: -1) {
            for j in (i + 1)..<n { y[i] -= l[j, i] * y[j] }
            y[i] /= l[i, i]
        }
        return y
    }
}
