import CMPI

/// A nonblocking operation in flight. The request owns the memory MPI reads or writes until it
/// completes, so no caller can free or mutate a buffer under MPI's feet.
///
/// Dropping a request that has not completed completes it first: a send is waited for, a receive
/// is cancelled. Neither leaves MPI holding a dangling pointer.
public class Request {
    var handle: MPI_Request?
    public private(set) var isComplete = false
    /// Filled in when the request completes.
    public internal(set) var status: Status?

    init(handle: MPI_Request?) { self.handle = handle }

    deinit { finishBeforeRelease() }

    /// Completes a pending operation so its buffer can be freed: a receive is cancelled, a send
    /// waited for. Subclasses call it first in their deinit, because Swift runs a subclass's
    /// deinit (which frees the buffer) before its superclass's.
    func finishBeforeRelease() {
        guard !isComplete, MPI.isActive, handle != cmpi_request_null() else { return }
        if cancelOnDrop { MPI_Cancel(&handle) }
        MPI_Wait(&handle, cmpi_status_ignore())
        isComplete = true
    }

    var cancelOnDrop: Bool { false }

    /// Blocks until the operation completes (`MPI_Wait`).
    @discardableResult
    public func wait() throws -> Status? {
        guard !isComplete else { return status }
        var raw = MPI_Status()
        try check(MPI_Wait(&handle, &raw), "MPI_Wait")
        try complete(with: raw)
        return status
    }

    /// Whether the operation has completed, without blocking (`MPI_Test`).
    public func test() throws -> Bool {
        guard !isComplete else { return true }
        var flag: Int32 = 0
        var raw = MPI_Status()
        try check(MPI_Test(&handle, &flag, &raw), "MPI_Test")
        if flag != 0 { try complete(with: raw) }
        return isComplete
    }

    func complete(with raw: MPI_Status) throws {
        isComplete = true
        try didComplete(raw)
    }

    /// Subclasses record what the completion means for their buffer.
    func didComplete(_ raw: MPI_Status) throws {}

    /// Waits for all `requests` at once (`MPI_Waitall`).
    public static func waitAll(_ requests: [Request]) throws {
        let pending = requests.filter { !$0.isComplete }
        guard !pending.isEmpty else { return }
        var handles = pending.map(\.handle)
        var statuses = [MPI_Status](repeating: MPI_Status(), count: pending.count)
        let rc = MPI_Waitall(Int32(handles.count), &handles, &statuses)
        for (request, newHandle) in zip(pending, handles) { request.handle = newHandle }
        try check(rc, "MPI_Waitall")
        for (request, raw) in zip(pending, statuses) { try request.complete(with: raw) }
    }
}

/// A nonblocking send that holds its own copy of the data until MPI has sent it.
public final class SendRequest<T: MPIElement>: Request {
    private let buffer: UnsafeMutableBufferPointer<T>

    /// `synchronous`: `MPI_Issend`, which completes only once the receiver has matched the message.
    init(
        copying values: UnsafeBufferPointer<T>, to destination: Int, tag: Int, on comm: MPI_Comm?,
        synchronous: Bool = false
    ) throws {
        buffer = .allocate(capacity: max(values.count, 1))
        _ = buffer.initialize(fromContentsOf: values)
        var request = cmpi_request_null()
        let call = synchronous ? "MPI_Issend" : "MPI_Isend"
        let count = try mpiCount(values.count, of: T.self, call: call)
        let start = synchronous ? MPI_Issend : MPI_Isend
        let rc = start(buffer.baseAddress, count, T.mpiDatatype.handle, Int32(destination), Int32(tag), comm, &request)
        super.init(handle: request)
        if rc != MPI_SUCCESS {
            markFailed()
            throw MPIError(code: rc, call: "\(call) to rank \(destination)")
        }
    }

    deinit {
        finishBeforeRelease()
        buffer.deallocate()
    }
}

/// A nonblocking receive into a buffer the request owns; `values` is what arrived.
public final class ReceiveRequest<T: MPIElement>: Request {
    private let buffer: UnsafeMutableBufferPointer<T>
    private var receivedCount = 0

    init(capacity: Int, from source: Int, tag: Int, on comm: MPI_Comm?) throws {
        buffer = .allocate(capacity: max(capacity, 1))
        var request = cmpi_request_null()
        let count = try mpiCount(capacity, of: T.self, call: "MPI_Irecv")
        let rc = MPI_Irecv(buffer.baseAddress, count, T.mpiDatatype.handle, Int32(source), Int32(tag), comm, &request)
        super.init(handle: request)
        if rc != MPI_SUCCESS {
            markFailed()
            throw MPIError(code: rc, call: "MPI_Irecv from rank \(source)")
        }
    }

    deinit {
        finishBeforeRelease()
        buffer.deallocate()
    }

    override var cancelOnDrop: Bool { true }

    override func didComplete(_ raw: MPI_Status) throws {
        let status = Status(raw, of: T.self)
        self.status = status
        receivedCount = status.count
    }

    /// The received elements. Valid once the request has completed.
    public var values: [T] {
        precondition(isComplete, "ReceiveRequest.values read before the receive completed")
        return Array(UnsafeBufferPointer(rebasing: buffer[..<receivedCount]))
    }

    /// Waits and returns the received elements.
    public func waitForValues() throws -> [T] {
        try wait()
        return values
    }
}

/// A nonblocking reduction of one value; `result` is valid once the request has completed.
public final class ReductionRequest<T: MPIReducible>: Request {
    private let buffers: UnsafeMutableBufferPointer<T>

    init(_ value: T, _ operation: ReductionOperation, on comm: MPI_Comm?) throws {
        buffers = .allocate(capacity: 2)
        _ = buffers.initialize(from: [value, value])
        var request = cmpi_request_null()
        let rc = MPI_Iallreduce(
            buffers.baseAddress, buffers.baseAddress! + 1, 1, T.mpiDatatype.handle, operation.handle, comm, &request)
        super.init(handle: request)
        if rc != MPI_SUCCESS {
            markFailed()
            throw MPIError(code: rc, call: "MPI_Iallreduce")
        }
    }

    deinit {
        finishBeforeRelease()
        buffers.deallocate()
    }

    public var result: T {
        precondition(isComplete, "ReductionRequest.result read before the reduction completed")
        return buffers[1]
    }
}

extension Request {
    /// For a request whose start failed: nothing is in flight, so there is nothing to wait for.
    func markFailed() {
        isComplete = true
        handle = cmpi_request_null()
    }
}

extension Communicator {
    /// Starts sending a copy of `values` (`MPI_Isend`); the caller may reuse `values` at once.
    public func isend<T: MPIElement>(_ values: [T], to destination: Int, tag: Int = 0) throws -> SendRequest<T> {
        try values.withUnsafeBufferPointer { try SendRequest(copying: $0, to: destination, tag: tag, on: handle) }
    }

    /// Starts a synchronous-mode send of a copy of `values` (`MPI_Issend`): it completes only once
    /// `destination` has matched it, which is what lets `sparseExchange` know its messages arrived.
    public func issend<T: MPIElement>(_ values: [T], to destination: Int, tag: Int = 0) throws -> SendRequest<T> {
        try values.withUnsafeBufferPointer {
            try SendRequest(copying: $0, to: destination, tag: tag, on: handle, synchronous: true)
        }
    }

    /// Receives a message if one matching (`source`, `tag`) has arrived, nil otherwise, without
    /// blocking (`MPI_Improbe`, then `MPI_Mrecv` of exactly its size).
    public func receiveIfPresent<T: MPIElement>(
        _ type: T.Type = T.self, from source: Int = MPI.anySource, tag: Int = MPI.anyTag
    ) throws -> (values: [T], status: Status)? {
        var message = cmpi_message_null()
        var status = MPI_Status()
        var flag: Int32 = 0
        try check(MPI_Improbe(Int32(source), Int32(tag), handle, &flag, &message, &status), "MPI_Improbe")
        guard flag != 0 else { return nil }
        return try receiveMatched(&message, status: status)
    }

    /// Starts a reduction of one value over every rank (`MPI_Iallreduce`).
    public func iallreduce<T: MPIReducible>(_ value: T, _ operation: ReductionOperation) throws
        -> ReductionRequest<T>
    {
        try ReductionRequest(value, operation, on: handle)
    }

    /// Starts receiving up to `capacity` elements (`MPI_Irecv`).
    public func irecv<T: MPIElement>(
        _ type: T.Type = T.self, capacity: Int, from source: Int = MPI.anySource,
        tag: Int = MPI.anyTag
    ) throws -> ReceiveRequest<T> {
        try ReceiveRequest(capacity: capacity, from: source, tag: tag, on: handle)
    }
}
