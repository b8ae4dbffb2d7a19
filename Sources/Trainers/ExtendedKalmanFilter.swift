import CBLAS
import Numerics

/// The extended Kalman filter for a scalar observation, on any `StateSpaceModel`.
///
/// Time update: a = f(a), P = F P F^T + Q, using the identity tail of F when the model says so.
/// Measurement update in the form that keeps P symmetric: v = P H^T, S = H v + R, K = v / S,
/// a += K (d - h(a)), P -= v v^T / S (equal to the Joseph form for a scalar observation), then
/// symmetrised against rounding drift.
public struct ExtendedKalmanFilter<Model: StateSpaceModel> {
    public let model: Model
    public private(set) var state: [Double]
    public private(set) var covariance: Matrix
    /// Q = processNoise * I.
    public let processNoise: Double
    /// R, the observation noise variance; a trainer that estimates it sets it before each measurement update.
    public var observationNoise: Double
    public private(set) var step = 0

    public init(
        model: Model, initialState: [Double], initialCovariance: Matrix, processNoise: Double, observationNoise: Double
    ) {
        precondition(initialState.count == model.stateCount)
        precondition(initialCovariance.rows == model.stateCount && initialCovariance.columns == model.stateCount)
        self.model = model
        self.state = initialState
        self.covariance = initialCovariance
        self.processNoise = processNoise
        self.observationNoise = observationNoise
    }

    /// a = f(a, u), P = F P F^T + Q.
    public mutating func timeUpdate(input: Model.Input) {
        let (next, jacobian) = model.transition(state, input: input)
        state = next
        switch jacobian {
        case .dense(let f):
            var fp = Matrix(rows: f.rows, columns: covariance.columns)
            gemm(f, .none, covariance, .none, into: &fp)
            gemm(fp, .none, f, .transposed, into: &covariance)
        case .identityTail(let head):
            propagateWithIdentityTail(head: head)
        }
        let n = covariance.rows
        for i in 0..<n { covariance.elements[i * n + i] += processNoise }
        step += 1
    }

    /// F = [G; 0 I] with G the h x n_a head: F P F^T = [[G P G^T, (G P)_tail], [(G P)_tail^T, P_tail]].
    private mutating func propagateWithIdentityTail(head g: Matrix) {
        let h = g.rows, n = covariance.rows
        var gp = Matrix(rows: h, columns: n)
        gemm(g, .none, covariance, .none, into: &gp)  // G P: O(h n^2)
        var gpg = Matrix(rows: h, columns: h)
        gemm(gp, .none, g, .transposed, into: &gpg)  // G P G^T: O(h^2 n)
        for i in 0..<h {
            for j in 0..<h { covariance.elements[i * n + j] = gpg.elements[i * h + j] }
            for j in h..<n {
                let value = gp.elements[i * n + j]
                covariance.elements[i * n + j] = value
                covariance.elements[j * n + i] = value
            }
        }
    }

    /// h(a): the prediction of the next observation, before it is seen.
    public func predictedObservation(input: Model.Input) -> Double {
        model.observation(state, input: input)
    }

    /// Folds in the observation d.
    public mutating func measurementUpdate(observation d: Double, input: Model.Input) throws {
        try incrementalUpdate(
            observation: d, predicted: model.observation(state, input: input),
            jacobian: model.observationJacobian(state, input: input), linearizationPoint: nil)
    }

    /// The measurement update with h and H evaluated at a fixed point a_hat rather than at the
    /// current state, as the diffusion EKF's incremental update over a neighbourhood needs:
    /// a += K (d - h(a_hat) - H (a - a_hat)), P -= K H P. `linearizationPoint` nil means a_hat = a.
    public mutating func incrementalUpdate(
        observation d: Double, predicted: Double, jacobian h: [Double],
        linearizationPoint: [Double]?
    ) throws {
        let n = covariance.rows
        precondition(h.count == n)
        var v = [Double](repeating: 0, count: n)
        covariance.elements.withUnsafeBufferPointer { p in
            cblas_dsymv(CblasRowMajor, CblasUpper, Int32(n), 1, p.baseAddress, Int32(n), h, 1, 0, &v, 1)
        }
        let s = dot(h, v) + observationNoise
        var innovation = d - predicted
        if let aHat = linearizationPoint {
            for i in 0..<n where h[i] != 0 { innovation -= h[i] * (state[i] - aHat[i]) }
        }
        guard s > 0, s.isFinite, innovation.isFinite else {
            throw TrainerError.nonFinite(
                trainer: "ekf", step: step, what: s > 0 ? "the innovation" : "the innovation variance")
        }
        for i in 0..<n { state[i] += v[i] / s * innovation }
        ger(v, v, into: &covariance, alpha: -1 / s)
        covariance.symmetrize()
        for i in 0..<n {
            let value = covariance.elements[i * n + i]
            if !(value > 0) { throw TrainerError.covarianceNotPositiveDefinite(step: step, index: i, value: value) }
        }
    }

    /// Everything the filter needs to continue bit for bit: the step, a, and P row by row.
    public var checkpoint: CheckpointRecord {
        var record = CheckpointRecord()
        record.append("step", step)
        record.append("state", state)
        record.append("covariance", covariance.elements)
        return record
    }

    /// Puts back a `checkpoint`.
    public mutating func restore(checkpoint: CheckpointRecord) throws {
        let n = state.count
        let restoredState = try checkpoint.doubles("state", count: n)
        var covariance = Matrix(rows: n, columns: n)
        covariance.elements = try checkpoint.doubles("covariance", count: n * n)
        let step = try checkpoint.int("step")
        setEstimate(state: restoredState, covariance: covariance)
        self.step = step
    }

    /// Gives `body` the estimate to change in place (the diffusion EKF's combination): no copy of P.
    public mutating func withEstimate<Result>(_ body: (inout [Double], inout Matrix) throws -> Result) rethrows
        -> Result
    {
        try body(&state, &covariance)
    }

    /// Replaces the estimate, e.g. by the diffusion EKF's combination of its neighbours' estimates.
    public mutating func setEstimate(state: [Double], covariance: Matrix) {
        precondition(
            state.count == self.state.count && covariance.rows == self.covariance.rows
                && covariance.columns == covariance.rows)
        self.state = state
        self.covariance = covariance
    }
}
