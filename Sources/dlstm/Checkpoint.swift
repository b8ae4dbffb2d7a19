import Distributed
import Foundation

/// SIGUSR1: what Slurm's `--signal=B:USR1@T` (through the batch shell's trap) and mpirun forward.
/// The handler only sets a flag; the run loop reads it at its collective checks, so every rank
/// stops at the same step boundary.
nonisolated(unsafe) private var stopSignalReceived: sig_atomic_t = 0

func installStopSignalHandler() {
    signal(SIGUSR1) { _ in stopSignalReceived = 1 }
    // A launcher may hand us SIGUSR1 blocked (the mask is inherited): unblock it, or it never comes.
    var set = sigset_t()
    sigemptyset(&set)
    sigaddset(&set, SIGUSR1)
    pthread_sigmask(SIG_UNBLOCK, &set, nil)
}

var stopRequested: Bool { stopSignalReceived != 0 }

/// Checkpoint files: DIR/step-T/rank-R.ckpt, one per process, and DIR/latest naming the last
/// complete step directory. A process's file is [magic, header length, header JSON, then arrays of
/// doubles, each preceded by its count], written atomically; `latest` is replaced only after every
/// process has written its file, so an interrupted checkpoint leaves the previous one in force.
struct CheckpointStore {
    static let magic: UInt64 = 0x4B43_4D54_534C_4431   // "1DLSTMCK" little-endian
    let directory: String

    struct Contents {
        var header: [String: String]
        var arrays: [[Double]]
    }

    func file(step: Int, rank: Int) -> String { "\(directory)/step-\(step)/rank-\(rank).ckpt" }

    func write(_ contents: Contents, step: Int, rank: Int) throws {
        try createDirectory("\(directory)/step-\(step)")
        var data = Data()
        func append(_ value: UInt64) { withUnsafeBytes(of: value.littleEndian) { data.append(contentsOf: $0) } }
        let header = try JSONSerialization.data(withJSONObject: contents.header, options: .sortedKeys)
        append(Self.magic)
        append(UInt64(header.count))
        data.append(header)
        append(UInt64(contents.arrays.count))
        for array in contents.arrays {
            append(UInt64(array.count))
            array.withUnsafeBytes { data.append(contentsOf: $0) }
        }
        try writeAtomically(data, to: file(step: step, rank: rank))
    }

    /// After every process wrote step T: point `latest` at it and drop older steps (reporter only).
    func commit(step: Int) throws {
        try writeAtomically(Data("step-\(step)\n".utf8), to: directory + "/latest")
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [] where entry.hasPrefix("step-") && entry != "step-\(step)" {
            try? FileManager.default.removeItem(atPath: directory + "/" + entry)
        }
    }

    /// The step of the last complete checkpoint.
    func latestStep() throws -> Int {
        guard let text = try? String(contentsOfFile: directory + "/latest", encoding: .utf8) else {
            throw InputError(message: "--resume: no checkpoint in \(directory) (no file 'latest')", status: .usage)
        }
        guard let step = Int(text.trimmingCharacters(in: .whitespacesAndNewlines).dropFirst("step-".count)) else {
            throw InputError(message: "\(directory)/latest: expected step-N", status: .data)
        }
        return step
    }

    func read(step: Int, rank: Int) throws -> Contents {
        let path = file(step: step, rank: rank)
        guard let data = FileManager.default.contents(atPath: path) else {
            throw InputError(message: "\(path): cannot read the checkpoint", status: .data)
        }
        var offset = 0
        func next() throws -> UInt64 {
            guard offset + 8 <= data.count else { throw InputError(message: "\(path): truncated checkpoint", status: .data) }
            defer { offset += 8 }
            return UInt64(littleEndian: data.subdata(in: offset..<(offset + 8)).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) })
        }
        guard try next() == Self.magic else { throw InputError(message: "\(path): not a dlstm checkpoint", status: .data) }
        let headerLength = Int(try next())
        guard offset + headerLength <= data.count,
              let header = try? JSONSerialization.jsonObject(with: data.subdata(in: offset..<(offset + headerLength))) as? [String: String] else {
            throw InputError(message: "\(path): damaged checkpoint header", status: .data)
        }
        offset += headerLength
        var arrays = [[Double]]()
        for _ in 0..<Int(try next()) {
            let count = Int(try next())
            guard count >= 0, offset + 8 * count <= data.count else { throw InputError(message: "\(path): truncated checkpoint", status: .data) }
            arrays.append(data.subdata(in: offset..<(offset + 8 * count)).withUnsafeBytes { Array($0.bindMemory(to: Double.self)) })
            offset += 8 * count
        }
        return Contents(header: header, arrays: arrays)
    }

    private func createDirectory(_ path: String) throws {
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            throw InputError(message: "--checkpoint-dir \(directory): cannot create \(path)", status: .output)
        }
    }
}

/// A process's checkpoint: the run's state and the trainer's, per local node, in node order.
/// Arrays per node: trainer state, predictions, labels, [compute seconds, error sum, bytes sent,
/// messages sent, communication seconds].
func checkpointContents(state: TrainingRun.State, trainerStates: [[Double]], header: [String: String]) -> CheckpointStore.Contents {
    var arrays = [[Double]]()
    for a in trainerStates.indices {
        let traffic = state.traffic[a]
        arrays += [trainerStates[a], state.predictions[a], state.labels[a],
                   [state.computeSeconds[a], state.errorSums[a], Double(traffic.bytesSent), Double(traffic.messagesSent), traffic.communicationSeconds]]
    }
    return CheckpointStore.Contents(header: header, arrays: arrays)
}

func restoredState(from contents: CheckpointStore.Contents, localNodes: Int, step: Int, path: String) throws -> (TrainingRun.State, [[Double]]) {
    guard contents.arrays.count == 4 * localNodes else {
        throw InputError(message: "\(path): \(contents.arrays.count / 4) nodes in the checkpoint, \(localNodes) here", status: .usage)
    }
    var state = TrainingRun.State(localNodes: localNodes)
    state.step = step
    var trainerStates = [[Double]]()
    for a in 0..<localNodes {
        let base = 4 * a
        let counters = contents.arrays[base + 3]
        guard contents.arrays[base + 1].count == step, contents.arrays[base + 2].count == step, counters.count == 5 else {
            throw InputError(message: "\(path): node \(a) does not hold \(step) steps", status: .data)
        }
        trainerStates.append(contents.arrays[base])
        state.predictions[a] = contents.arrays[base + 1]
        state.labels[a] = contents.arrays[base + 2]
        state.computeSeconds[a] = counters[0]
        state.errorSums[a] = counters[1]
        state.traffic[a].bytesSent = Int(counters[2])
        state.traffic[a].messagesSent = Int(counters[3])
        state.traffic[a].communicationSeconds = counters[4]
    }
    return (state, trainerStates)
}
