import CMPI

/// A failed MPI call, or a misuse of the binding that MPI would have rejected.
///
/// Every communicator this module creates uses `MPI_ERRORS_RETURN`, so a failing call returns here
/// instead of killing the process from inside the library, and the error carries MPI's own text.
public struct MPIError: Error, CustomStringConvertible, Sendable {
    /// The MPI error class (`MPI_ERR_COUNT`, `MPI_ERR_RANK`, ...): stable across implementations.
    public let errorClass: Int32
    /// The implementation's error code, as returned by the call.
    public let code: Int32
    /// `MPI_Error_string`'s text for the code, or the binding's own explanation.
    public let message: String
    /// The C function (or binding method) that failed.
    public let call: String

    @usableFromInline
    init(code: Int32, call: String) {
        self.code = code
        self.call = call
        var errorClass: Int32 = 0
        if MPI_Error_class(code, &errorClass) != MPI_SUCCESS { errorClass = code }
        self.errorClass = errorClass
        var buffer = [CChar](repeating: 0, count: Int(cmpi_max_error_string()) + 1)
        var length: Int32 = 0
        if MPI_Error_string(code, &buffer, &length) == MPI_SUCCESS {
            self.message = String(decoding: buffer.prefix(Int(length)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        } else {
            self.message = "unknown MPI error code \(code)"
        }
    }

    /// An error the binding detects before calling MPI, reported in MPI's own terms.
    @usableFromInline
    init(errorClass: Int32, call: String, message: String) {
        self.errorClass = errorClass
        self.code = errorClass
        self.call = call
        self.message = message
    }

    public var description: String { "\(call) failed: \(message) (MPI error class \(errorClass))" }
}

/// Throws `MPIError` unless `rc` is `MPI_SUCCESS`.
@inlinable @inline(__always)
func check(_ rc: Int32, _ call: @autoclosure () -> String) throws {
    if rc != MPI_SUCCESS { throw MPIError(code: rc, call: call()) }
}

/// An error that wants a particular process exit status when it ends the job (see `MPI.run`).
public protocol ErrorWithExitCode: Error {
    var exitCode: Int32 { get }
}

/// MPI error classes, for matching `MPIError.errorClass` without importing the C API.
public enum MPIErrorClass {
    public static var buffer: Int32 { MPI_ERR_BUFFER }
    public static var count: Int32 { MPI_ERR_COUNT }
    public static var type: Int32 { MPI_ERR_TYPE }
    public static var tag: Int32 { MPI_ERR_TAG }
    public static var communicator: Int32 { MPI_ERR_COMM }
    public static var rank: Int32 { MPI_ERR_RANK }
    public static var root: Int32 { MPI_ERR_ROOT }
    public static var truncate: Int32 { MPI_ERR_TRUNCATE }
    public static var topology: Int32 { MPI_ERR_TOPOLOGY }
    public static var argument: Int32 { MPI_ERR_ARG }
    public static var other: Int32 { MPI_ERR_OTHER }
}
