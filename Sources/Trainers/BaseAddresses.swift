/// Runs `body` with the base address of each of `arrays` (an empty array's is a valid pointer never
/// read): the DPF's assembly reads several neighbours' messages at once. The addresses live on the stack
/// and each array is borrowed by a nested `withUnsafeBufferPointer`, so none outlives its borrow.
public func withBaseAddresses<R>(of arrays: [[Double]], _ body: (UnsafePointer<UnsafePointer<Double>>) -> R) -> R {
    withUnsafeTemporaryAllocation(of: UnsafePointer<Double>.self, capacity: max(1, arrays.count)) { bases in
        var empty = 0.0
        return withUnsafePointer(to: &empty) { empty in
            func borrow(_ b: Int) -> R {
                if b == arrays.count { return body(UnsafePointer(bases.baseAddress!)) }
                return arrays[b].withUnsafeBufferPointer {
                    bases[b] = $0.baseAddress ?? empty
                    return borrow(b + 1)
                }
            }
            return borrow(0)
        }
    }
}

/// `withBaseAddresses` with every array writable at once (`ParticleStore.pack` fills several
/// messages): each array is moved out into a local of its own while borrowed (two elements of one
/// array cannot be borrowed together), and put back after. An empty array's address is a valid
/// pointer never read or written.
public func withMutableBaseAddresses<R>(
    of arrays: inout [[Double]], _ body: (UnsafePointer<UnsafeMutablePointer<Double>>) -> R
) -> R {
    let count = arrays.count
    return withUnsafeTemporaryAllocation(of: UnsafeMutablePointer<Double>.self, capacity: max(1, count)) { bases in
        var empty = 0.0
        return withUnsafeMutablePointer(to: &empty) { empty in
            func borrow(_ b: Int) -> R {
                if b == count { return body(UnsafePointer(bases.baseAddress!)) }
                var local: [Double] = []
                swap(&local, &arrays[b])
                defer { swap(&local, &arrays[b]) }
                return local.withUnsafeMutableBufferPointer {
                    bases[b] = $0.baseAddress ?? empty
                    return borrow(b + 1)
                }
            }
            return borrow(0)
        }
    }
}
