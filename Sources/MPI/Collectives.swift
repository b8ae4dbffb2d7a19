import CMPI

extension Communicator {
    /// Blocks until every rank has called it (`MPI_Barrier`).
    @inlinable
    public func barrier() throws {
        try check(MPI_Barrier(handle), "MPI_Barrier")
    }

    // MARK: Broadcast

    /// Broadcasts `root`'s `buffer` into every rank's `buffer`, which must already have the same
    /// length everywhere (`MPI_Bcast`): the allocation-free form.
    @inlinable
    public func broadcast<T: MPIElement>(_ buffer: inout [T], root: Int) throws {
        let count = try mpiCount(buffer.count, of: T.self, call: "MPI_Bcast")
        let rc = buffer.withUnsafeMutableBufferPointer {
            MPI_Bcast($0.baseAddress, count, T.mpiDatatype.handle, Int32(root), handle)
        }
        try check(rc, "MPI_Bcast from rank \(root)")
    }

    /// Returns `root`'s array on every rank; other ranks' arguments are ignored. The length is
    /// broadcast first, so ranks need not know it.
    public func broadcast<T: MPIElement>(_ values: [T], root: Int) throws -> [T] {
        let count = try broadcast(values.count, root: root)
        var result = rank == root ? values : [T](unsafeUninitializedCapacity: count) { _, n in n = count }
        try broadcast(&result, root: root)
        return result
    }

    /// Returns `root`'s value on every rank.
    public func broadcast<T: MPIElement>(_ value: T, root: Int) throws -> T {
        var buffer = [value]
        try broadcast(&buffer, root: root)
        return buffer[0]
    }

    // MARK: Reductions

    /// Element-wise reduction of every rank's `values` to `root` (`MPI_Reduce`); nil off-root.
    public func reduce<T: MPIReducible>(_ values: [T], _ operation: ReductionOperation, root: Int) throws -> [T]? {
        let count = try mpiCount(values.count, of: T.self, call: "MPI_Reduce")
        var result = [T](unsafeUninitializedCapacity: values.count) { _, n in n = values.count }
        let rc = values.withUnsafeBufferPointer { send in
            result.withUnsafeMutableBufferPointer { receive in
                MPI_Reduce(
                    send.baseAddress, receive.baseAddress, count, T.mpiDatatype.handle, operation.handle,
                    Int32(root), handle)
            }
        }
        try check(rc, "MPI_Reduce to rank \(root)")
        return rank == root ? result : nil
    }

    public func reduce<T: MPIReducible>(_ value: T, _ operation: ReductionOperation, root: Int) throws -> T? {
        try reduce([value], operation, root: root)?[0]
    }

    /// Element-wise reduction of every rank's `values`, returned on every rank (`MPI_Allreduce`).
    @inlinable
    public func allreduce<T: MPIReducible>(_ values: [T], _ operation: ReductionOperation) throws -> [T] {
        let count = try mpiCount(values.count, of: T.self, call: "MPI_Allreduce")
        var result = [T](unsafeUninitializedCapacity: values.count) { _, n in n = values.count }
        let rc = values.withUnsafeBufferPointer { send in
            result.withUnsafeMutableBufferPointer { receive in
                MPI_Allreduce(
                    send.baseAddress, receive.baseAddress, count, T.mpiDatatype.handle, operation.handle, handle)
            }
        }
        try check(rc, "MPI_Allreduce")
        return result
    }

    @inlinable
    public func allreduce<T: MPIReducible>(_ value: T, _ operation: ReductionOperation) throws -> T {
        try allreduce([value], operation)[0]
    }

    // MARK: Gathers

    /// Concatenates every rank's `values` (same length everywhere) at `root` in rank order
    /// (`MPI_Gather`); nil off-root.
    public func gather<T: MPIElement>(_ values: [T], root: Int) throws -> [T]? {
        let count = try mpiCount(values.count, of: T.self, call: "MPI_Gather")
        let total = rank == root ? values.count * size : 0
        var result = [T](unsafeUninitializedCapacity: total) { _, n in n = total }
        let rc = values.withUnsafeBufferPointer { send in
            result.withUnsafeMutableBufferPointer { receive in
                MPI_Gather(
                    send.baseAddress, count, T.mpiDatatype.handle,
                    receive.baseAddress, count, T.mpiDatatype.handle, Int32(root), handle)
            }
        }
        try check(rc, "MPI_Gather to rank \(root)")
        return rank == root ? result : nil
    }

    /// Every rank's `values`, of any lengths, at `root`, one array per rank (`MPI_Gatherv`, with the
    /// counts gathered first); nil off-root.
    public func gatherv<T: MPIElement>(_ values: [T], root: Int) throws -> [[T]]? {
        let count = try mpiCount(values.count, of: T.self, call: "MPI_Gatherv")
        let counts = try gather([count], root: root)
        let layout = try counts.map { try VariableLayout(unitCounts: $0, of: T.self, call: "MPI_Gatherv") }
        var flat = [T](unsafeUninitializedCapacity: layout?.totalElements ?? 0) { _, n in n = layout?.totalElements ?? 0
        }
        let rc = values.withUnsafeBufferPointer { send in
            flat.withUnsafeMutableBufferPointer { receive in
                MPI_Gatherv(
                    send.baseAddress, count, T.mpiDatatype.handle, receive.baseAddress,
                    layout?.unitCounts ?? [], layout?.unitDisplacements ?? [], T.mpiDatatype.handle,
                    Int32(root), handle)
            }
        }
        try check(rc, "MPI_Gatherv to rank \(root)")
        return layout?.split(flat)
    }

    /// Concatenation of every rank's `values` (same length everywhere), on every rank (`MPI_Allgather`).
    public func allgather<T: MPIElement>(_ values: [T]) throws -> [T] {
        let count = try mpiCount(values.count, of: T.self, call: "MPI_Allgather")
        let total = values.count * size
        var result = [T](unsafeUninitializedCapacity: total) { _, n in n = total }
        let rc = values.withUnsafeBufferPointer { send in
            result.withUnsafeMutableBufferPointer { receive in
                MPI_Allgather(
                    send.baseAddress, count, T.mpiDatatype.handle,
                    receive.baseAddress, count, T.mpiDatatype.handle, handle)
            }
        }
        try check(rc, "MPI_Allgather")
        return result
    }

    /// One value from every rank, in rank order, on every rank.
    public func allgather<T: MPIElement>(_ value: T) throws -> [T] {
        try allgather([value])
    }

    /// Every rank's `values`, of any lengths, on every rank, one array per rank (`MPI_Allgatherv`).
    public func allgatherv<T: MPIElement>(_ values: [T]) throws -> [[T]] {
        let count = try mpiCount(values.count, of: T.self, call: "MPI_Allgatherv")
        let layout = try VariableLayout(unitCounts: try allgather([count]), of: T.self, call: "MPI_Allgatherv")
        var flat = [T](unsafeUninitializedCapacity: layout.totalElements) { _, n in n = layout.totalElements }
        let rc = values.withUnsafeBufferPointer { send in
            flat.withUnsafeMutableBufferPointer { receive in
                MPI_Allgatherv(
                    send.baseAddress, count, T.mpiDatatype.handle, receive.baseAddress,
                    layout.unitCounts, layout.unitDisplacements, T.mpiDatatype.handle, handle)
            }
        }
        try check(rc, "MPI_Allgatherv")
        return layout.split(flat)
    }
}

/// Counts and displacements of a "v" collective, in MPI units, and how to cut the flat result.
struct VariableLayout {
    let unitCounts: [Int32]
    let unitDisplacements: [Int32]
    let elementCounts: [Int]
    let totalElements: Int

    init<T: MPIElement>(unitCounts: [Int32], of _: T.Type, call: String) throws {
        self.unitCounts = unitCounts
        var displacements = [Int32]()
        displacements.reserveCapacity(unitCounts.count)
        var offset = 0
        for count in unitCounts {
            guard offset <= Int(Int32.max) else {
                throw MPIError(
                    errorClass: MPI_ERR_COUNT, call: call,
                    message: "total message size exceeds MPI's int displacement limit")
            }
            displacements.append(Int32(offset))
            offset += Int(count)
        }
        self.unitDisplacements = displacements
        self.elementCounts = try unitCounts.map { try elementCount(units: $0, of: T.self, call: call) }
        self.totalElements = elementCounts.reduce(0, +)
    }

    /// Cuts `flat` into one array per rank, copying raw memory: element types are plain bits.
    func split<T: BitwiseCopyable>(_ flat: [T]) -> [[T]] {
        var parts = [[T]]()
        parts.reserveCapacity(elementCounts.count)
        var start = 0
        flat.withUnsafeBufferPointer { source in
            for count in elementCounts {
                parts.append(
                    [T](unsafeUninitializedCapacity: count) { buffer, initialized in
                        if count > 0 {
                            UnsafeMutableRawPointer(buffer.baseAddress!).copyMemory(
                                from: source.baseAddress! + start, byteCount: count * MemoryLayout<T>.stride)
                        }
                        initialized = count
                    })
                start += count
            }
        }
        return parts
    }
}
