import CMPI

/// An MPI datatype handle. Only predefined types are used: no commit or free is ever needed.
public struct Datatype: @unchecked Sendable {
    @usableFromInline let handle: MPI_Datatype?
    @inlinable init(_ handle: MPI_Datatype?) { self.handle = handle }

    @inlinable public static var double: Datatype { Datatype(cmpi_double()) }
    @inlinable public static var float: Datatype { Datatype(cmpi_float()) }
    @inlinable public static var int32: Datatype { Datatype(cmpi_int32()) }
    @inlinable public static var int64: Datatype { Datatype(cmpi_int64()) }
    @inlinable public static var uint8: Datatype { Datatype(cmpi_uint8()) }
    @inlinable public static var uint64: Datatype { Datatype(cmpi_uint64()) }
    @inlinable public static var byte: Datatype { Datatype(cmpi_byte()) }
}

/// A Swift type that can travel in an MPI buffer.
///
/// Scalars map to their MPI type one to one. A plain struct (no references, no padding that
/// matters) travels as `stride` bytes by conforming to `MPIPlainStruct`: sender and receiver must
/// share the architecture, which holds within one job.
public protocol MPIElement: BitwiseCopyable {
    /// The MPI datatype of one unit of the buffer.
    static var mpiDatatype: Datatype { get }
    /// How many units of `mpiDatatype` one value occupies (1 for scalars, `stride` for byte structs).
    static var mpiUnitsPerElement: Int { get }
}

extension MPIElement {
    @inlinable public static var mpiUnitsPerElement: Int { 1 }
}

/// Element types MPI can reduce with `sum`, `max`, `min`, `product`.
public protocol MPIReducible: MPIElement {}

/// Conform a plain struct to send arrays of it as raw bytes:
/// `struct ParticleHeader: MPIPlainStruct { var id: Int64; var logWeight: Double }`.
public protocol MPIPlainStruct: MPIElement {}

extension MPIPlainStruct {
    @inlinable public static var mpiDatatype: Datatype { .byte }
    @inlinable public static var mpiUnitsPerElement: Int { MemoryLayout<Self>.stride }
}

extension Double: MPIReducible { @inlinable public static var mpiDatatype: Datatype { .double } }
extension Float: MPIReducible { @inlinable public static var mpiDatatype: Datatype { .float } }
extension Int32: MPIReducible { @inlinable public static var mpiDatatype: Datatype { .int32 } }
extension Int64: MPIReducible { @inlinable public static var mpiDatatype: Datatype { .int64 } }
extension UInt8: MPIReducible { @inlinable public static var mpiDatatype: Datatype { .uint8 } }
extension UInt64: MPIReducible { @inlinable public static var mpiDatatype: Datatype { .uint64 } }
extension Int: MPIReducible {
    // Swift's Int is 64-bit on every platform this targets.
    @inlinable public static var mpiDatatype: Datatype { .int64 }
}

/// Reduction operations for `reduce` and `allreduce`.
public enum ReductionOperation: Sendable {
    case sum, max, min, product

    @inlinable var handle: MPI_Op? {
        switch self {
        case .sum: cmpi_op_sum()
        case .max: cmpi_op_max()
        case .min: cmpi_op_min()
        case .product: cmpi_op_prod()
        }
    }
}

/// The `int` count MPI takes for `n` elements of `T`, or an error naming the limit.
@inlinable @inline(__always)
func mpiCount<T: MPIElement>(_ n: Int, of _: T.Type, call: @autoclosure () -> String) throws -> Int32 {
    let units = n * T.mpiUnitsPerElement
    guard units >= 0, units <= Int(Int32.max) else {
        throw MPIError(
            errorClass: MPI_ERR_COUNT, call: call(),
            message: "\(n) elements of \(T.self) exceed MPI's int count limit")
    }
    return Int32(truncatingIfNeeded: units)
}

/// Elements of `T` in a message of `units` MPI units, or an error if the size is not a multiple.
@inlinable @inline(__always)
func elementCount<T: MPIElement>(units: Int32, of _: T.Type, call: @autoclosure () -> String) throws -> Int {
    let per = T.mpiUnitsPerElement
    guard units >= 0, Int(units) % per == 0 else {
        throw MPIError(
            errorClass: MPI_ERR_TRUNCATE, call: call(),
            message: "a message of \(units) units is not a whole number of \(T.self) (\(per) units each)")
    }
    return Int(units) / per
}
