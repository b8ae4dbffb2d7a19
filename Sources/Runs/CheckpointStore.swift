import COpenSSL
import Foundation
import Trainers

/// Checkpoint files: DIR/step-T/node-K.ckpt, one per graph node (so a checkpoint resumes on any
/// number of ranks, each reading its own nodes' files); DIR/latest names the last complete
/// step directory and DIR/previous the one before it, which is kept as a fallback (GROMACS keeps
/// its previous checkpoint for the same reason). `latest` is replaced only after every process has
/// written its file, so an interrupted checkpoint leaves the previous ones in force.
///
/// A process's file, format version 3: the magic "1DLSTMCK" and the header's length (two
/// little-endian UInt64), the header (JSON: version, algorithm, nodes, node, step, the run's
/// `TrainingConfiguration`, and the field names and counts of every record), the records'
/// numbers as little-endian doubles in that order, and last the SHA-256 of everything before it
/// (32 bytes). The file has its node's record: the run loop's fields under "run." and the
/// trainer's under "trainer.".
struct CheckpointStore {
    static let magic: UInt64 = 0x4B43_4D54_534C_4431  // "1DLSTMCK" little-endian
    static let version = 3
    static let checksumLength = 32
    let directory: String

    struct Header: Codable, Equatable {
        var version = CheckpointStore.version
        var algorithm: String
        var nodes: Int
        /// The node whose record the file holds.
        var node: Int
        var step: Int
        var configuration: TrainingConfiguration
        /// Per record, its fields' names and counts.
        var layout: [[Field]] = []

        struct Field: Codable, Equatable {
            var name: String
            var count: Int
        }
    }

    func file(step: Int, node: Int) -> String { "\(directory)/step-\(step)/node-\(node).ckpt" }

    func write(header: Header, records: [CheckpointRecord]) throws {
        let path = file(step: header.step, node: header.node)
        do {
            try FileManager.default.createDirectory(
                atPath: "\(directory)/step-\(header.step)", withIntermediateDirectories: true)
        } catch {
            throw RunError(
                "--checkpoint-dir \(directory): cannot create \(directory)/step-\(header.step)", status: .output)
        }
        var header = header
        header.layout = records.map { record in
            zip(record.names, record.values).map { Header.Field(name: $0, count: $1.count) }
        }
        let json = try JSONEncoder().encode(header)
        var data = Data()
        func append(_ value: UInt64) { withUnsafeBytes(of: value.littleEndian) { data.append(contentsOf: $0) } }
        append(Self.magic)
        append(UInt64(json.count))
        data.append(json)
        for record in records {
            for field in record.values { field.withUnsafeBytes { data.append(contentsOf: $0) } }
        }
        data.append(Self.sha256(data))
        try writeAtomically(data, to: path)
    }

    /// SHA-256 by OpenSSL's libcrypto.
    static func sha256(_ data: Data) -> Data {
        var digest = Data(count: checksumLength)
        let done = digest.withUnsafeMutableBytes { out in
            data.withUnsafeBytes { input in
                EVP_Digest(
                    input.baseAddress, input.count, out.bindMemory(to: UInt8.self).baseAddress, nil, EVP_sha256(), nil)
            }
        }
        precondition(done == 1, "libcrypto's EVP_Digest(SHA-256) failed")
        return digest
    }

    /// After every process wrote step T: point `latest` at it, `previous` at the step `latest`
    /// named, and drop every other step directory (reporter only). `previous` is written first, so
    /// a crash between the two leaves both naming complete checkpoints.
    func commit(step: Int) throws {
        if let last = namedStep("latest"), last != step {
            try writeAtomically(Data("step-\(last)\n".utf8), to: directory + "/previous")
        }
        try writeAtomically(Data("step-\(step)\n".utf8), to: directory + "/latest")
        let kept = Set(committedSteps().map { "step-\($0)" })
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        where entry.hasPrefix("step-") && !kept.contains(entry) {
            try? FileManager.default.removeItem(atPath: directory + "/" + entry)
        }
    }

    /// The step that DIR/`name` ("latest", "previous") names, nil if it names none.
    private func namedStep(_ name: String) -> Int? {
        guard let text = try? String(contentsOfFile: "\(directory)/\(name)", encoding: .utf8) else { return nil }
        return Int(text.trimmingCharacters(in: .whitespacesAndNewlines).dropFirst("step-".count))
    }

    /// The complete checkpoints, newest first: what `latest` and `previous` name (unreadable names
    /// left out; the files themselves are verified when read).
    func committedSteps() -> [Int] {
        var steps = [Int]()
        for name in ["latest", "previous"] {
            if let step = namedStep(name), !steps.contains(step) { steps.append(step) }
        }
        return steps
    }

    /// The one reader of checkpoint files: a file whose SHA-256 does not match its content is refused.
    func read(step: Int, node: Int) throws -> (header: Header, records: [CheckpointRecord]) {
        let path = file(step: step, node: node)
        guard let data = FileManager.default.contents(atPath: path) else {
            throw RunError("\(path): cannot read the checkpoint", status: .data)
        }
        func word(at offset: Int) throws -> UInt64 {
            guard offset + 8 <= data.count else { throw RunError("\(path): truncated checkpoint", status: .data) }
            return UInt64(
                littleEndian: data.subdata(in: offset..<(offset + 8)).withUnsafeBytes {
                    $0.loadUnaligned(as: UInt64.self)
                })
        }
        guard try word(at: 0) == Self.magic else { throw RunError("\(path): not a dlstm checkpoint", status: .data) }
        let headerLength = try word(at: 8)
        guard headerLength <= UInt64(data.count - 16),
            let object = try? JSONSerialization.jsonObject(with: data.subdata(in: 16..<(16 + Int(headerLength))))
                as? [String: Any]
        else { throw RunError("\(path): damaged checkpoint header", status: .data) }
        let version = (object["version"] as? NSNumber)?.intValue ?? Int(object["version"] as? String ?? "") ?? 0
        guard version == Self.version else {
            throw RunError(
                "\(path): checkpoint format version \(version); this dlstm reads version \(Self.version) only: "
                    + "start the run again without --resume", status: .data)
        }
        let header: Header
        do {
            header = try JSONDecoder().decode(Header.self, from: data.subdata(in: 16..<(16 + Int(headerLength))))
        } catch {
            throw RunError("\(path): damaged checkpoint header", status: .data)
        }
        var offset = 16 + Int(headerLength)
        let expected = header.layout.joined().reduce(0) { $0 + max($1.count, 0) * 8 } + Self.checksumLength
        guard header.layout.joined().allSatisfy({ $0.count >= 0 }), data.count - offset == expected else {
            throw RunError(
                "\(path): truncated or damaged checkpoint (\(data.count - offset) bytes after the header, expected "
                    + "\(expected))",
                status: .data)
        }
        let content = data.prefix(data.count - Self.checksumLength)
        guard Self.sha256(content) == data.suffix(Self.checksumLength) else {
            throw RunError("\(path): damaged checkpoint (its SHA-256 does not match its content)", status: .data)
        }
        let records = try header.layout.map { fields in
            let values = fields.map { field in
                defer { offset += 8 * field.count }
                return data.subdata(in: offset..<(offset + 8 * field.count)).withUnsafeBytes {
                    Array($0.bindMemory(to: Double.self))
                }
            }
            do {
                return try CheckpointRecord(names: fields.map(\.name), values: values)
            } catch {
                throw RunError("\(path): \(error)", status: .data)
            }
        }
        return (header, records)
    }
}
