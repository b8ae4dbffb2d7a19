import DataSources
import Foundation
import LSTM
import Numerics
import Trainers

/// The comparison OPT-PR-ELM makes: how long closed-form training of an ELM-LSTM takes to reach a
/// held-out RMSE, against gradient training (Adam, and the paper's SGD) of an LSTM of the same
/// hidden size on the same windows. One thread, the first 90% of the windows for training, the
/// last 10% held out, inputs and labels z-scored with the training windows' statistics.
/// Gradient training runs epochs (a shuffled pass over the training windows each) until a time
/// budget; its clock stops while the held-out RMSE is measured, every tenth of an epoch.
public struct AccuracyPerSecond {
    public var path: String
    public var column: String
    public var lags = 2
    /// The ELM's hidden sizes; the gradient trainers use `gradientHidden`.
    public var elmHidden: [Int]
    public var gradientHidden: Int
    public var budgetSeconds: Double
    public var seed: UInt64 = 1

    public init(path: String, column: String, elmHidden: [Int], gradientHidden: Int, budgetSeconds: Double) {
        (self.path, self.column, self.elmHidden) = (path, column, elmHidden)
        (self.gradientHidden, self.budgetSeconds) = (gradientHidden, budgetSeconds)
    }

    /// One trainer's course: (seconds of training so far, held-out RMSE) at each measurement.
    struct Course {
        var name: String
        var hidden: Int
        var points: [(seconds: Double, rmse: Double)]

        /// The first time the held-out RMSE is at most `target`.
        func seconds(toReach target: Double) -> Double? { points.first { $0.rmse <= target }?.seconds }
    }

    /// Prints the table, a line at a time.
    public func run(print output: (String) -> Void) throws {
        let (train, test) = try windows()
        output(
            "accuracy per second (one thread): \(path), column \(column), \(lags) lags, \(train.count) training "
                + "windows, the last \(test.count) held out, z-scored with the training windows' statistics")
        let persistence = rmse(test) { $0.inputs[$0.inputs.count - 1] }
        output(String(format: "  persistence (the last lag as the prediction): held-out RMSE %.4f", persistence))

        var courses = elmHidden.map { elmCourse(hidden: $0, directLink: false, train: train, test: test) }
        courses.append(elmCourse(hidden: gradientHidden, directLink: true, train: train, test: test))
        var adam = SGDSettings(), sgd = SGDSettings()
        (adam.optimizer, adam.learningRate) = (.adam, 0.01)
        courses.append(gradientCourse("adam (step 0.01)", settings: adam, train: train, test: test))
        courses.append(gradientCourse("sgd (paper, step 0.1)", settings: sgd, train: train, test: test))

        let reference = courses.first { $0.name == "elm" && $0.hidden == gradientHidden } ?? courses[0]
        let best = reference.points[0].rmse
        let targets = [persistence * 1.25, best, persistence]
        output(
            "  seconds of training to reach a held-out RMSE (-: not within "
                + String(
                    format: "%.0f s); targets: 1.25 x persistence's, elm's at M = %d, persistence's\n", budgetSeconds,
                    reference.hidden))
        func left(_ text: String, _ width: Int) -> String { text.padding(toLength: width, withPad: " ", startingAt: 0) }
        var header = left("trainer", 22) + pad("M", 5) + pad("epochs", 8) + pad("best RMSE", 11)
        for target in targets { header += pad(String(format: "<= %.4f", target), 12) }
        output(header)
        for course in courses {
            var line =
                left(course.name, 22) + pad(String(course.hidden), 5)
                + pad(course.name.hasPrefix("elm") ? "-" : String(format: "%.1f", Double(course.points.count) / 10), 8)
                + pad(String(format: "%.4f", course.points.map(\.rmse).min() ?? .nan), 11)
            for target in targets {
                line += pad(course.seconds(toReach: target).map { String(format: "%.4f", $0) } ?? "-", 12)
            }
            output(line)
        }
    }

    private func windows() throws -> (train: [Sample], test: [Sample]) {
        var raw = try CSVTimeSeries(path: path, column: column, lags: lags)
        var all = [Sample]()
        while let sample = try raw.next() { all.append(sample) }
        let split = all.count * 9 / 10
        guard split >= 2, split < all.count else {
            throw DataError(file: path, "\(all.count) windows: too few to hold out a tenth")
        }
        // The series' prefix up to the last training label: nothing held out enters the statistics.
        var normalized = try CSVTimeSeries(
            path: path, column: column, lags: lags, normalization: .zScore(prefix: split + lags))
        var scaled = [Sample]()
        while let sample = try normalized.next() { scaled.append(sample) }
        return (Array(scaled[..<split]), Array(scaled[split...]))
    }

    private func rmse(_ samples: [Sample], _ predict: (Sample) -> Double) -> Double {
        let total = samples.map { sample -> Double in
            let error = predict(sample) - sample.label
            return error * error
        }.reduce(0, +)
        return (total / Double(samples.count)).squareRoot()
    }

    /// Features, the QR triangle of [H | T] and the solve, timed together.
    private func elmCourse(hidden: Int, directLink: Bool, train: [Sample], test: [Sample]) -> Course {
        let model = LSTMModel(shape: LSTMShape(hidden: hidden, input: lags))
        let features = ELMFeatures(model: model, seed: seed, scale: ELMSettings().scale, directLink: directLink)
        let columns = features.featureCount + 1
        let start = DispatchTime.now().uptimeNanoseconds
        let triangle = LeastSquaresTriangle(columns: columns, rows: features.labelledRows(train))
        let beta = (try? triangle.solve(ridge: ELMSettings().ridge).beta) ?? []
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        let error = rmse(test) { ELMFeatures.estimate(beta: beta, row: features.rows([$0])[...]) }
        return Course(
            name: directLink ? "elm --direct-link" : "elm", hidden: hidden,
            points: [(seconds, beta.isEmpty ? .nan : error)]
        )
    }

    private func gradientCourse(_ name: String, settings: SGDSettings, train: [Sample], test: [Sample]) -> Course {
        let model = LSTMModel(shape: LSTMShape(hidden: gradientHidden, input: lags))
        var trainer = SGDTrainer(model: model, settings: settings, seed: seed)
        var order = Array(train.indices)
        var random = RandomStream(seed: seed, purpose: .testing)
        var points = [(seconds: Double, rmse: Double)]()
        var seconds = 0.0
        training: while seconds < budgetSeconds {
            for i in stride(from: order.count - 1, to: 0, by: -1) { order.swapAt(i, random.nextInt(below: i + 1)) }
            for tenth in 0..<10 {
                let start = DispatchTime.now().uptimeNanoseconds
                do {
                    for i in order[(order.count * tenth / 10)..<(order.count * (tenth + 1) / 10)] {
                        _ = try trainer.predict(train[i])
                        try trainer.update(train[i])
                    }
                } catch {
                    break training  // diverged: the course ends at its last finite point
                }
                seconds += Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
                let theta = trainer.parameters
                points.append((seconds, rmse(test) { model.estimate(theta: theta, sample: $0) }))
            }
        }
        return Course(name: name, hidden: gradientHidden, points: points)
    }
}
