import LSTM
import Numerics

/// The Jacobian of a transition, in the form that lets the filter skip work: `identityTail` says
/// that every row below `head` is the identity on its own coordinate (static parameters), so
/// F P F^T costs O(h n_a^2) instead of O(n_a^3).
public enum TransitionJacobian: Sendable {
    case dense(Matrix)
    case identityTail(head: Matrix)
}

/// A nonlinear state-space model with a scalar observation:
///   a_t = f(a_{t-1}, u_t) + gamma_t,   gamma ~ N(0, Q);   d_t = h(a_t, u_t) + eps_t,   eps ~ N(0, R).
/// The EKF is written against this, so it can be checked on a linear-Gaussian model, where it
/// must equal the exact Kalman filter.
public protocol StateSpaceModel {
    associatedtype Input
    var stateCount: Int { get }
    func transition(_ state: [Double], input: Input) -> (state: [Double], jacobian: TransitionJacobian)
    func observation(_ state: [Double], input: Input) -> Double
    /// dh/da at `state` (length n_a).
    func observationJacobian(_ state: [Double], input: Input) -> [Double]
}

extension LSTMStateSpace: StateSpaceModel {
    public var stateCount: Int { shape.stateCount }

    public func transition(_ state: [Double], input: Sample) -> (state: [Double], jacobian: TransitionJacobian) {
        let (next, head) = transition(state, sample: input, jacobian: true)
        return (next, .identityTail(head: head!))
    }

    public func observation(_ state: [Double], input: Sample) -> Double { observation(state, sample: input) }

    public func observationJacobian(_ state: [Double], input: Sample) -> [Double] {
        observationJacobian(state, sample: input)
    }
}

/// a_t = A a_{t-1} + gamma, d_t = c(u)^T a_t + eps: the model on which the EKF is exact.
public struct LinearGaussianModel: StateSpaceModel {
    public let transitionMatrix: Matrix
    /// The observation vector for an input.
    public let observationVector: @Sendable ([Double]) -> [Double]

    public init(transitionMatrix: Matrix, observationVector: @escaping @Sendable ([Double]) -> [Double]) {
        self.transitionMatrix = transitionMatrix
        self.observationVector = observationVector
    }

    public var stateCount: Int { transitionMatrix.rows }

    public func transition(_ state: [Double], input: [Double]) -> (state: [Double], jacobian: TransitionJacobian) {
        var next = [Double](repeating: 0, count: stateCount)
        gemv(transitionMatrix, .none, state, into: &next)
        return (next, .dense(transitionMatrix))
    }

    public func observation(_ state: [Double], input: [Double]) -> Double { dot(observationVector(input), state) }

    public func observationJacobian(_ state: [Double], input: [Double]) -> [Double] { observationVector(input) }
}
