#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Counts heap allocations through ordo-one's malloc-interposer when it is in the process
/// (`scripts/bench-pf` preloads `libMallocInterposerSwift.so`, which the package builds for its
/// allocation test). dlstm does not link it: found at run time, it leaves every other run's
/// allocations to libc, and without it the benchmark says how to count instead of a number.
struct AllocationCounter {
    private typealias Toggle = @convention(c) () -> Void
    private typealias Statistics =
        @convention(c) (
            UnsafeMutablePointer<Int64>, UnsafeMutablePointer<Int64>, UnsafeMutablePointer<Int64>,
            UnsafeMutablePointer<Int64>, UnsafeMutablePointer<Int64>, UnsafeMutablePointer<Int64>
        ) -> Void
    private let enable: Toggle, disable: Toggle, reset: Toggle
    private let statistics: Statistics

    /// nil when the interposer is not loaded.
    init?() {
        func symbol<T>(_ name: String, as type: T.Type) -> T? {
            guard let address = dlsym(UnsafeMutableRawPointer(bitPattern: 0), name) else { return nil }
            return unsafeBitCast(address, to: type)
        }
        guard let enable = symbol("malloc_interposer_enable", as: Toggle.self),
            let disable = symbol("malloc_interposer_disable", as: Toggle.self),
            let reset = symbol("malloc_interposer_reset", as: Toggle.self),
            let statistics = symbol("malloc_interposer_get_stats", as: Statistics.self)
        else { return nil }
        (self.enable, self.disable, self.reset, self.statistics) = (enable, disable, reset, statistics)
    }

    func start() {
        reset()
        enable()
    }

    /// Allocations (malloc, calloc, realloc, posix_memalign, ...) since `start()`.
    func stop() -> Int {
        disable()
        var count: Int64 = 0, bytes: Int64 = 0, small: Int64 = 0, large: Int64 = 0, frees: Int64 = 0
        var freedBytes: Int64 = 0
        statistics(&count, &bytes, &small, &large, &frees, &freedBytes)
        return Int(count)
    }
}
