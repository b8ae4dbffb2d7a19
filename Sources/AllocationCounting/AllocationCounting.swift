// The interposer's library for preloading, built with the package: `dlstm bench pf` finds its
// counters at run time (Benchmarks/AllocationCounter.swift) when scripts/bench-pf or a test sets
// LD_PRELOAD=.build/release/libMallocInterposerSwift.so. Nothing else links this.
@_exported import MallocInterposerSwift
