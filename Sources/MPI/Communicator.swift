import CMPI

/// What a completed receive tells: who sent it, with which tag, how many elements arrived.
public struct Status: Sendable {
    public let source: Int
    public let tag: Int
    @usableFromInline let raw: MPI_Status
    @usableFromInline let datatype: Datatype
    @usableFromInline let unitsPerElement: Int

    @inlinable
    init<T: MPIElement>(_ raw: MPI_Status, of _: T.Type) {
        self.raw = raw
        self.source = Int(raw.MPI_SOURCE)
        self.tag = Int(raw.MPI_TAG)
        self.datatype = T.mpiDatatype
        self.unitsPerElement = T.mpiUnitsPerElement
    }

    /// Elements received. Computed on demand (`MPI_Get_count`), so a receive whose caller never
    /// asks costs exactly the C call.
    @inlinable
    public var count: Int {
        var status = raw
        var units: Int32 = 0
        MPI_Get_count(&status, datatype.handle, &units)
        return Int(units) / unitsPerElement
    }
}

/// An MPI communicator: a group of ranks and a private message space.
///
/// Communicators this module creates (`duplicate`, `split`, `distributedGraph`) are freed by
/// `free()` or, failing that, when the object goes away; freeing after `MPI.finalize()` is a
/// no-op rather than an error, so objects may outlive the MPI session.
/// Not `Sendable`: MPI is initialised `FUNNELED` by default, so one thread makes the calls.
public class Communicator {
    @usableFromInline private(set) var handle: MPI_Comm?
    private var ownsHandle: Bool
    /// This process's rank in the communicator.
    public let rank: Int
    /// The number of ranks in the communicator.
    public let size: Int

    /// Wraps a predefined communicator (world, self): never freed.
    init(predefined handle: MPI_Comm?) {
        self.handle = handle
        self.ownsHandle = false
        var rank: Int32 = 0, size: Int32 = 0
        MPI_Comm_rank(handle, &rank)
        MPI_Comm_size(handle, &size)
        self.rank = Int(rank)
        self.size = Int(size)
    }

    /// Takes ownership of a communicator MPI just created and makes its errors return.
    init(owning handle: MPI_Comm?) throws {
        self.handle = handle
        self.ownsHandle = true
        var rank: Int32 = 0, size: Int32 = 0
        try check(MPI_Comm_set_errhandler(handle, cmpi_errors_return()), "MPI_Comm_set_errhandler")
        try check(MPI_Comm_rank(handle, &rank), "MPI_Comm_rank")
        try check(MPI_Comm_size(handle, &size), "MPI_Comm_size")
        self.rank = Int(rank)
        self.size = Int(size)
    }

    deinit { releaseHandle() }

    /// Frees the communicator now. Safe to call twice, on a predefined communicator, or after
    /// `MPI.finalize()`.
    public func free() { releaseHandle() }

    private func releaseHandle() {
        guard ownsHandle else { return }
        ownsHandle = false
        if MPI.isActive { MPI_Comm_free(&handle) }
    }

    /// A new communicator with the same ranks and a separate message space (`MPI_Comm_dup`).
    public func duplicate() throws -> Communicator {
        var newHandle = cmpi_comm_null()
        try check(MPI_Comm_dup(handle, &newHandle), "MPI_Comm_dup")
        return try Communicator(owning: newHandle)
    }

    /// Splits by `color`, ordering ranks by `key` (`MPI_Comm_split`). Returns nil on ranks that pass
    /// a nil color (`MPI_UNDEFINED`).
    public func split(color: Int?, key: Int = 0) throws -> Communicator? {
        var newHandle = cmpi_comm_null()
        let cColor = color.map { Int32($0) } ?? cmpi_undefined()
        try check(MPI_Comm_split(handle, cColor, Int32(key), &newHandle), "MPI_Comm_split")
        guard let newHandle, newHandle != cmpi_comm_null() else { return nil }
        return try Communicator(owning: newHandle)
    }

}

// Point to point. Extension methods are statically dispatched and `@inlinable`, so a caller's
// `send([Double])` compiles to a direct MPI_Send with no generic metadata lookups at run time.
extension Communicator {

    /// Sends `values` to `destination` (`MPI_Send`).
    @inlinable
    public func send<T: MPIElement>(_ values: [T], to destination: Int, tag: Int = 0) throws {
        try values.withUnsafeBufferPointer { try send($0, to: destination, tag: tag) }
    }

    /// Sends one value.
    @inlinable
    public func send<T: MPIElement>(_ value: T, to destination: Int, tag: Int = 0) throws {
        try withUnsafePointer(to: value) {
            try send(UnsafeBufferPointer(start: $0, count: 1), to: destination, tag: tag)
        }
    }

    /// Sends the elements of a buffer the caller keeps alive: the zero-copy path for hot loops.
    @inlinable
    public func send<T: MPIElement>(_ buffer: UnsafeBufferPointer<T>, to destination: Int, tag: Int = 0) throws {
        let count = try mpiCount(buffer.count, of: T.self, call: "MPI_Send")
        try check(
            MPI_Send(buffer.baseAddress, count, T.mpiDatatype.handle, Int32(destination), Int32(tag), handle),
            "MPI_Send to rank \(destination)")
    }

    /// Receives into `buffer`, which must be large enough; the message may be shorter (see
    /// `Status.count`). `MPI_Recv`.
    @inlinable @discardableResult
    public func receive<T: MPIElement>(
        into buffer: inout [T], from source: Int = MPI.anySource,
        tag: Int = MPI.anyTag
    ) throws -> Status {
        try buffer.withUnsafeMutableBufferPointer { try receive(into: $0, from: source, tag: tag) }
    }

    /// Receives into a caller-owned buffer: the zero-copy path for hot loops.
    @inlinable @discardableResult
    public func receive<T: MPIElement>(
        into buffer: UnsafeMutableBufferPointer<T>, from source: Int = MPI.anySource,
        tag: Int = MPI.anyTag
    ) throws -> Status {
        let capacity = try mpiCount(buffer.count, of: T.self, call: "MPI_Recv")
        var status = MPI_Status()
        try check(
            MPI_Recv(buffer.baseAddress, capacity, T.mpiDatatype.handle, Int32(source), Int32(tag), handle, &status),
            "MPI_Recv from rank \(source)")
        return Status(status, of: T.self)
    }

    /// Receives a message whose length is not known in advance. A matched probe (`MPI_Mprobe`,
    /// `MPI_Mrecv`) sizes the buffer, so no other receive can take the message in between.
    @inlinable
    public func receive<T: MPIElement>(
        _ type: T.Type = T.self, from source: Int = MPI.anySource,
        tag: Int = MPI.anyTag
    ) throws -> (values: [T], status: Status) {
        var message = cmpi_message_null()
        var status = MPI_Status()
        try check(MPI_Mprobe(Int32(source), Int32(tag), handle, &message, &status), "MPI_Mprobe")
        return try receiveMatched(&message, status: status)
    }

    /// Receives a message a matched probe found (`MPI_Mrecv`), sized by the probe's status.
    @usableFromInline
    func receiveMatched<T: MPIElement>(_ message: inout MPI_Message?, status probed: MPI_Status) throws
        -> (values: [T], status: Status)
    {
        var status = probed
        var units: Int32 = 0
        try check(MPI_Get_count(&status, T.mpiDatatype.handle, &units), "MPI_Get_count")
        let count = try elementCount(units: units, of: T.self, call: "MPI_Mrecv")
        let values = try [T](unsafeUninitializedCapacity: count) { buffer, initialized in
            try check(MPI_Mrecv(buffer.baseAddress, units, T.mpiDatatype.handle, &message, &status), "MPI_Mrecv")
            initialized = count
        }
        return (values, Status(status, of: T.self))
    }

    /// Receives exactly one value.
    @inlinable
    public func receiveValue<T: MPIElement>(
        _ type: T.Type = T.self, from source: Int = MPI.anySource,
        tag: Int = MPI.anyTag
    ) throws -> T {
        let (values, status) = try receive(T.self, from: source, tag: tag)
        guard values.count == 1 else {
            throw MPIError(
                errorClass: MPI_ERR_TRUNCATE, call: "MPI_Mrecv",
                message: "expected one \(T.self) from rank \(status.source), got \(values.count)")
        }
        return values[0]
    }

    /// Sends `values` to `destination` and receives into `buffer` from `source` in one deadlock-free
    /// call (`MPI_Sendrecv`): the building block of ring shifts.
    @inlinable @discardableResult
    public func sendReceive<T: MPIElement>(
        _ values: [T], to destination: Int, sendTag: Int = 0,
        into buffer: inout [T], from source: Int,
        receiveTag: Int = MPI.anyTag
    ) throws -> Status {
        let sendCount = try mpiCount(values.count, of: T.self, call: "MPI_Sendrecv")
        let capacity = try mpiCount(buffer.count, of: T.self, call: "MPI_Sendrecv")
        var status = MPI_Status()
        let rc = values.withUnsafeBufferPointer { send in
            buffer.withUnsafeMutableBufferPointer { receive in
                MPI_Sendrecv(
                    send.baseAddress, sendCount, T.mpiDatatype.handle, Int32(destination), Int32(sendTag),
                    receive.baseAddress, capacity, T.mpiDatatype.handle, Int32(source), Int32(receiveTag),
                    handle, &status)
            }
        }
        try check(rc, "MPI_Sendrecv to rank \(destination) from rank \(source)")
        return Status(status, of: T.self)
    }

    /// Sends `values` to `destination` and returns what `source` sent, which must have the same
    /// length: a ring shift in one line.
    @inlinable
    public func sendReceive<T: MPIElement>(
        _ values: [T], to destination: Int, from source: Int,
        tag: Int = 0
    ) throws -> [T] {
        var received = [T](unsafeUninitializedCapacity: values.count) { _, n in n = values.count }
        let status = try sendReceive(
            values, to: destination, sendTag: tag, into: &received, from: source, receiveTag: tag)
        return Array(received.prefix(status.count))
    }
}

extension Status: CustomStringConvertible {
    public var description: String { "Status(source: \(source), tag: \(tag), count: \(count))" }
}
