import Distributed
import Foundation

/// The reporter's view of a finished run: the figures of summary.json and the per-node curves.
struct RunReport {
    let records: [NodeRecord]
    let algorithm: Algorithm
    /// The name in tables and legends: the algorithm, or a variant such as "dpf-metropolis".
    let label: String
    let settings: DistributedSettings
    let topology: Topology
    let walk: RandomWalk
    let transport: String
    let data: String
    let wallSeconds: Double
    /// MPI processes (1 in-process).
    let processes: Int

    var steps: Int { records.first?.labels.count ?? 0 }

    /// Mean squared error over the last 10% of steps (at least one), averaged over nodes.
    var finalMSE: Double {
        let tail = max(1, steps / 10)
        return records.map { $0.squaredErrors.suffix(tail).reduce(0, +) / Double(tail) }.reduce(0, +) / Double(records.count)
    }

    /// The paper's MSE curve: time-averaged squared error up to step t, averaged over nodes.
    var timeAveragedMSE: [Double] {
        var curve = [Double](repeating: 0, count: steps)
        for record in records {
            var sum = 0.0
            for (t, e) in record.squaredErrors.enumerated() {
                sum += e
                curve[t] += sum / Double(t + 1) / Double(records.count)
            }
        }
        return curve
    }

    /// Convergence speed: the first step at which the mean squared error over the trailing window
    /// (the final-MSE window, 10% of the steps; mean over nodes) is within 10% of the final MSE.
    var samplesToWithin10Percent: Int {
        let window = max(1, steps / 10)
        var perStep = [Double](repeating: 0, count: steps)
        for record in records {
            for (t, e) in record.squaredErrors.enumerated() { perStep[t] += e / Double(records.count) }
        }
        return firstStepWithin(perStep, window: window, of: finalMSE, tolerance: 0.1)
    }

    var meanBytesPerNode: Double { Double(records.map(\.traffic.bytesSent).reduce(0, +)) / Double(records.count) }

    private func spread(_ values: [Double]) -> [String: Double] {
        ["min": values.min() ?? 0, "mean": values.reduce(0, +) / Double(max(values.count, 1)), "max": values.max() ?? 0]
    }

    func summary(parameters: [String: Any]) -> [String: Any] {
        let curve = timeAveragedMSE
        // At most ~500 points: enough to draw, small enough to read.
        let stride = max(1, curve.count / 500)
        let points = Swift.stride(from: stride - 1, to: curve.count, by: stride).map { [Double($0 + 1), curve[$0]] }
            + (curve.count % stride == 0 ? [] : [[Double(curve.count), curve[curve.count - 1]]])
        var diagnostics = [String: Any]()
        for key in records.first?.diagnostics.keys.sorted() ?? [] {
            diagnostics[key] = records.map { $0.diagnostics[key] ?? 0 }
        }
        return [
            "algorithm": algorithm.rawValue,
            "label": label,
            "processes": processes,
            "samples_to_within_10pct": samplesToWithin10Percent,
            "time_averaged_mse": curve.last ?? 0,
            "parameters": parameters,
            "seed": settings.seed,
            "nodes": records.count,
            "transport": transport,
            "data": data,
            "topology": [
                "name": topology.name, "edges": topology.edgeCount, "degrees": topology.degrees,
                "walk": walk.kind.rawValue, "slem": walk.slem, "periodic": walk.isPeriodic,
            ] as [String: Any],
            "samples_per_node": steps,
            "final_mse": finalMSE,
            "final_mse_window": max(1, steps / 10),
            "mse_curve": points,
            "bytes_per_node": records.map(\.traffic.bytesSent),
            "messages_per_node": records.map(\.traffic.messagesSent),
            "compute_seconds": spread(records.map(\.computeSeconds)),
            "communication_seconds": spread(records.map(\.traffic.communicationSeconds)),
            "wall_seconds": wallSeconds,
            "diagnostics": diagnostics,
        ]
    }

    /// node-K.csv (step, prediction, label, squared error, time-averaged MSE), `extraFiles`, then
    /// summary.json, each written atomically. summary.json comes last, so a directory with one is
    /// complete: a run killed while writing leaves the previous results or some new curves without
    /// their summary, never a truncated file.
    func write(to directory: String, parameters: [String: Any], extraFiles: [(name: String, contents: String)] = []) throws {
        // The trainers stop on a non-finite prediction; this makes "no NaN in results" hold whatever
        // a future trainer does.
        for record in records {
            if let t = record.predictions.indices.first(where: { !record.predictions[$0].isFinite || !record.squaredErrors[$0].isFinite }) {
                throw RunFailure(message: "node \(record.node), step \(t + 1): the prediction is \(record.predictions[t]); no results written", status: .numerical)
            }
        }
        try createOutputDirectory(directory)
        for record in records {
            var csv = "step,prediction,label,squared_error,mse\n"
            var sum = 0.0
            for (t, e) in record.squaredErrors.enumerated() {
                let d = record.labels[t], dHat = record.predictions[t]
                sum += e
                // %.17g: the exact double, so runs can be compared bit for bit.
                csv += "\(t + 1),\(exact(dHat)),\(exact(d)),\(exact(e)),\(exact(sum / Double(t + 1)))\n"
            }
            try writeAtomically(Data(csv.utf8), to: directory + "/node-\(record.node).csv")
        }
        for file in extraFiles { try writeAtomically(Data(file.contents.utf8), to: directory + "/" + file.name) }
        let json = try JSONSerialization.data(withJSONObject: summary(parameters: parameters), options: [.prettyPrinted, .sortedKeys])
        try writeAtomically(json + Data("\n".utf8), to: directory + "/summary.json")
    }
}

/// The first step (1-based) whose trailing `window`-mean of `errors` is at most (1 + tolerance)
/// times `target`; the last step if none is.
func firstStepWithin(_ errors: [Double], window: Int, of target: Double, tolerance: Double) -> Int {
    var sum = 0.0
    for (t, e) in errors.enumerated() {
        sum += e
        if t >= window { sum -= errors[t - window] }
        if t + 1 >= window && sum / Double(window) <= (1 + tolerance) * target { return t + 1 }
    }
    return errors.count
}

/// `--out DIR`, created with its parents if missing.
func createOutputDirectory(_ directory: String) throws {
    do {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    } catch {
        throw InputError(message: "--out \(directory): cannot create the directory (\(error.localizedDescription))", status: .output)
    }
}

func exact(_ x: Double) -> String { String(format: "%.17g", x) }

/// Test hook (hidden `--inject-kill-while-writing K`): the process kills itself (SIGKILL, as
/// `kill -9` or a node failure would) halfway through writing its (K+1)-th file.
nonisolated(unsafe) var filesBeforeInjectedKill: Int?

/// Writes to a temporary file in the same directory, fsyncs it, renames it over `path`, and
/// fsyncs the directory: a reader sees the old file or the new one, never half of one, and after
/// a crash of the machine the rename has happened or not.
func writeAtomically(_ data: Data, to path: String) throws {
    let temporary = path + ".tmp.\(getpid())"
    let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    guard fd >= 0 else { throw InputError(message: "\(path): cannot write (\(String(cString: strerror(errno))))", status: .output) }
    var bytesToWrite = data.count
    let killHalfway = filesBeforeInjectedKill == 0
    if killHalfway { bytesToWrite /= 2 }
    filesBeforeInjectedKill = filesBeforeInjectedKill.map { $0 - 1 }
    var failed = false
    data.withUnsafeBytes { (bytes: UnsafeRawBufferPointer) in
        var offset = 0
        while offset < bytesToWrite {
            let written = Foundation.write(fd, bytes.baseAddress! + offset, bytesToWrite - offset)
            if written <= 0 { failed = true; break }
            offset += written
        }
    }
    if killHalfway { kill(getpid(), SIGKILL) }
    if fsync(fd) != 0 { failed = true }
    close(fd)
    guard !failed, rename(temporary, path) == 0 else {
        unlink(temporary)
        throw InputError(message: "\(path): cannot write (\(String(cString: strerror(errno))))", status: .output)
    }
    let parent = (path as NSString).deletingLastPathComponent
    let directory = open(parent.isEmpty ? "." : parent, O_RDONLY)
    if directory >= 0 {
        fsync(directory)
        close(directory)
    }
}
