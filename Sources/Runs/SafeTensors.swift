import Foundation

/// The safetensors file format (huggingface/safetensors, the format PyTorch and numpy users load
/// with `safetensors.torch.load_file` / `safetensors.numpy.load_file`): an unsigned 64-bit
/// little-endian header length N, N bytes of JSON header, then the tensors' raw bytes. The header
/// maps each tensor's name to {"dtype", "shape", "data_offsets": [begin, end]} (offsets into the
/// byte buffer after the header) and may hold "__metadata__", a map of strings to strings.
///
/// dlstm writes float64 ("F64") tensors only, in name order, with the header's keys sorted and
/// padded with spaces to a multiple of 8 bytes (as the reference writer does), so the same model
/// gives the same bytes.
public struct SafeTensors: Equatable {
    public struct Tensor: Equatable {
        public var shape: [Int]
        public var values: [Double]

        public init(shape: [Int], values: [Double]) {
            precondition(shape.reduce(1, *) == values.count, "a tensor of shape \(shape) holds \(values.count) values")
            (self.shape, self.values) = (shape, values)
        }
    }

    public var tensors: [String: Tensor]
    public var metadata: [String: String]

    public init(tensors: [String: Tensor], metadata: [String: String]) {
        (self.tensors, self.metadata) = (tensors, metadata)
    }

    public func encoded() throws -> Data {
        var header = [String: Any]()
        var offset = 0
        for name in tensors.keys.sorted() {
            let tensor = tensors[name]!
            let bytes = tensor.values.count * 8
            header[name] = ["dtype": "F64", "shape": tensor.shape, "data_offsets": [offset, offset + bytes]]
            offset += bytes
        }
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys, .withoutEscapingSlashes])
        json.append(contentsOf: [UInt8](repeating: 0x20, count: (8 - json.count % 8) % 8))
        var data = Data(capacity: 8 + json.count + offset)
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { data.append(contentsOf: $0) }
        data.append(json)
        for name in tensors.keys.sorted() {
            for value in tensors[name]!.values {
                withUnsafeBytes(of: value.bitPattern.littleEndian) { data.append(contentsOf: $0) }
            }
        }
        return data
    }

    /// Reads a safetensors file's bytes; anything malformed is one line naming `file` (status 3).
    public init(data: Data, file: String) throws {
        func fail(_ reason: String) -> RunError {
            RunError("\(file): not a dlstm model file: \(reason)", status: .data)
        }
        let bytes = [UInt8](data)
        guard bytes.count >= 8 else { throw fail("\(bytes.count) bytes, shorter than the 8-byte header length") }
        let headerLength = bytes[0..<8].enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * $1.offset) }
        guard headerLength <= UInt64(bytes.count - 8) else {
            throw fail("the header says \(headerLength) bytes, the file has \(bytes.count - 8) after its length")
        }
        let bodyStart = 8 + Int(headerLength)
        guard
            let header = try? JSONSerialization.jsonObject(with: Data(bytes[8..<bodyStart])) as? [String: Any]
        else { throw fail("the header is not a JSON object") }
        var tensors = [String: Tensor]()
        var metadata = [String: String]()
        var end = 0
        for (name, entry) in header {
            if name == "__metadata__" {
                guard let map = entry as? [String: String] else { throw fail("__metadata__ is not a map of strings") }
                metadata = map
                continue
            }
            guard let entry = entry as? [String: Any], let dtype = entry["dtype"] as? String,
                let shape = entry["shape"] as? [Int], let offsets = entry["data_offsets"] as? [Int], offsets.count == 2
            else { throw fail("tensor \(name): no dtype, shape and data_offsets") }
            guard dtype == "F64" else { throw fail("tensor \(name) is \(dtype); dlstm models are F64") }
            let count = shape.reduce(1, *)
            guard shape.allSatisfy({ $0 >= 0 }), offsets[0] >= 0, offsets[1] - offsets[0] == count * 8,
                bodyStart + offsets[1] <= bytes.count
            else {
                throw fail("tensor \(name): shape \(shape) and offsets \(offsets) do not fit the file (truncated?)")
            }
            let start = bodyStart + offsets[0]
            let values = (0..<count).map { i -> Double in
                var pattern = UInt64(0)
                for b in 0..<8 { pattern |= UInt64(bytes[start + 8 * i + b]) << (8 * b) }
                return Double(bitPattern: pattern)
            }
            tensors[name] = Tensor(shape: shape, values: values)
            end = max(end, offsets[1])
        }
        guard bodyStart + end == bytes.count else {
            throw fail("\(bytes.count - bodyStart - end) bytes after the last tensor")
        }
        self.init(tensors: tensors, metadata: metadata)
    }
}
