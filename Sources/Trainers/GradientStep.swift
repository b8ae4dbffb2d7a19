import Foundation

/// How a gradient learner (SGD, diffusion SGD) turns gradients into steps.
public enum Optimizer: String, CaseIterable, Codable, Sendable {
    /// theta += mu (d - d_hat) dh/dtheta: plain stochastic gradient descent on (d - d_hat)^2 / 2.
    case sgd
    /// Adam (Kingma & Ba 2015) with bias-corrected moment estimates, as the FGM thesis trains its LSTMs.
    case adam
}

/// The optimiser's state: Adam's moment estimates and the mini-batch being accumulated. A step is
/// taken once `batch` samples have been seen, with their gradients averaged; predictions in
/// between use the parameters of the last step, so every prediction is still made before its label.
public struct GradientStep: Sendable {
    public let optimizer: Optimizer
    public let learningRate: Double
    public let beta1: Double
    public let beta2: Double
    public let epsilon: Double
    public let batch: Int
    /// Adam's m and v (empty for SGD), and the number of steps taken (t).
    public private(set) var firstMoment: [Double]
    public private(set) var secondMoment: [Double]
    public private(set) var steps = 0
    /// Sum of (d - d_hat) dh/dtheta over the samples of the unfinished batch (empty when batch = 1).
    public private(set) var batchSum: [Double]
    public private(set) var batchCount = 0

    public init(settings: SGDSettings, parameterCount: Int) {
        optimizer = settings.optimizer
        (learningRate, beta1, beta2, epsilon) = (
            settings.learningRate, settings.beta1, settings.beta2, settings.epsilon
        )
        batch = settings.batch
        firstMoment = optimizer == .adam ? [Double](repeating: 0, count: parameterCount) : []
        secondMoment = firstMoment
        batchSum = batch > 1 ? [Double](repeating: 0, count: parameterCount) : []
    }

    /// One sample's residual d - d_hat and gradient dh/dtheta; moves `parameters` when the batch is full.
    public mutating func add(residual: Double, gradient: [Double], to parameters: inout [Double]) {
        if batch == 1 && optimizer == .sgd {
            // The paper's SGD, in exactly its arithmetic.
            let scale = learningRate * residual
            for j in parameters.indices { parameters[j] += scale * gradient[j] }
            steps += 1
            return
        }
        var ascent = gradient
        if batch == 1 {
            for j in ascent.indices { ascent[j] *= residual }
        } else {
            for j in batchSum.indices { batchSum[j] += residual * gradient[j] }
            batchCount += 1
            guard batchCount == batch else { return }
            for j in ascent.indices { ascent[j] = batchSum[j] / Double(batch) }
            for j in batchSum.indices { batchSum[j] = 0 }
            batchCount = 0
        }
        steps += 1
        switch optimizer {
        case .sgd:
            for j in parameters.indices { parameters[j] += learningRate * ascent[j] }
        case .adam:
            // g = -ascent is the gradient of the loss (d - d_hat)^2 / 2.
            let correction1 = 1 - pow(beta1, Double(steps)), correction2 = 1 - pow(beta2, Double(steps))
            for j in parameters.indices {
                let g = -ascent[j]
                firstMoment[j] = beta1 * firstMoment[j] + (1 - beta1) * g
                secondMoment[j] = beta2 * secondMoment[j] + (1 - beta2) * g * g
                let mHat = firstMoment[j] / correction1, vHat = secondMoment[j] / correction2
                parameters[j] -= learningRate * mHat / (vHat.squareRoot() + epsilon)
            }
        }
    }

    public var checkpoint: CheckpointRecord {
        var record = CheckpointRecord()
        record.append("optimizer_steps", steps)
        record.append("first_moment", firstMoment)
        record.append("second_moment", secondMoment)
        record.append("batch_sum", batchSum)
        record.append("batch_count", batchCount)
        return record
    }

    public mutating func restore(checkpoint: CheckpointRecord) throws {
        let first = try checkpoint.doubles("first_moment", count: firstMoment.count)
        let second = try checkpoint.doubles("second_moment", count: secondMoment.count)
        let sum = try checkpoint.doubles("batch_sum", count: batchSum.count)
        let (restoredSteps, count) = (try checkpoint.int("optimizer_steps"), try checkpoint.int("batch_count"))
        guard count >= 0, count < batch else {
            throw TrainerError.malformedCheckpoint("batch_count \(count) for batches of \(batch)")
        }
        (firstMoment, secondMoment, batchSum, steps, batchCount) = (first, second, sum, restoredSteps, count)
    }
}
