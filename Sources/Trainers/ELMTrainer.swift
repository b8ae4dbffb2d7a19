import LSTM
import Numerics

/// An ELM-trained LSTM learning online (`docs/design/elm.md`): fixed random LSTM weights, and
/// the readout beta by square-root recursive least squares: the triangle of [H | T] takes each new
/// row [h; d] with a forgetting factor, and beta minimises the (weighted) squared error plus
/// ridge ||beta||^2 over the rows seen. The ridge enters as prior rows sqrt(ridge) e_j, so a solve
/// costs O(c^2); with forgetting it fades with the data, as the initial P of classical RLS does.
/// Predicts before each label like every trainer; until the rows determine beta (fewer rows than
/// features, no ridge) it predicts 0.
public struct ELMTrainer: OnlineTrainer {
    public let name = "elm"
    public let features: ELMFeatures
    public let forgetting: Double
    public let ridge: Double
    public private(set) var triangle: LeastSquaresTriangle
    /// beta as the last prediction used it: solved when a prediction needs it after new rows.
    private var readout: [Double]
    private var solved = true
    private var pendingRow: [Double]?
    public private(set) var step = 0
    /// The last row folded in, [h; d] (the distributed ELM collects them too).
    public private(set) var lastRow: [Double] = []

    public init(features: ELMFeatures, forgetting: Double = 1, ridge: Double = 0) {
        precondition(forgetting > 0 && forgetting <= 1 && ridge >= 0)
        (self.features, self.forgetting, self.ridge) = (features, forgetting, ridge)
        triangle = LeastSquaresTriangle(columns: features.featureCount + 1, ridge: ridge)
        readout = [Double](repeating: 0, count: features.featureCount)
    }

    /// beta over every row folded in so far (what the next prediction will use).
    public var parameters: [Double] { solved ? readout : ((try? triangle.solve().beta) ?? readout) }

    public mutating func predict(_ sample: Sample) throws -> Double {
        step += 1
        let row = features.rows([sample])
        pendingRow = row
        if !solved {
            if let beta = try? triangle.solve().beta { readout = beta }
            solved = true
        }
        let estimate = ELMFeatures.estimate(beta: readout, row: row[...])
        guard estimate.isFinite else { throw TrainerError.nonFinite(trainer: name, step: step, what: "the prediction") }
        return estimate
    }

    public mutating func update(_ sample: Sample) throws {
        let row = pendingRow ?? features.rows([sample])
        pendingRow = nil
        guard sample.label.isFinite else { throw TrainerError.nonFinite(trainer: name, step: step, what: "the label") }
        lastRow = row + [sample.label]
        triangle.add(rows: lastRow, forgetting: forgetting)
        solved = false
    }

    /// Replaces the triangle (the distributed ELM installs a combined one).
    public mutating func setTriangle(_ new: LeastSquaresTriangle) {
        triangle = new
        solved = false
    }

    public func checkpointState() -> CheckpointRecord {
        var record = CheckpointRecord()
        record.append("step", step)
        record.append("rows", triangle.rows)
        record.append("triangle", triangle.packed)
        record.append("beta", readout)
        record.append("solved", solved ? 1 : 0)
        return record
    }

    public mutating func restoreState(_ state: CheckpointRecord) throws {
        let c = triangle.columns
        let packed = try state.doubles("triangle", count: c * (c + 1) / 2)
        let beta = try state.doubles("beta", count: readout.count)
        triangle = LeastSquaresTriangle(columns: c, packed: packed, rows: try state.int("rows"))
        (readout, solved, step, pendingRow) = (beta, try state.int("solved") == 1, try state.int("step"), nil)
    }
}
