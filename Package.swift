// swift-tools-version:6.0
// DistributedLSTM: online LSTM training over MPI, one rank per graph node.
//
// Layers, each a module that imports only the ones below it:
//   CMPI (C shim over Open MPI) -> MPI (Swift binding) -> ... -> dlstm (CLI)
import PackageDescription

// The binding is generic over element types; without this, callers in other modules run its
// unspecialised generic code (witness-table calls per element), several times slower.
let crossModuleOptimization: [SwiftSetting] = [
    .unsafeFlags(["-cross-module-optimization"], .when(configuration: .release))
]

// The particle kernel is SIMD code: x86-64's default target (SSE2) runs it at a quarter of the speed
// of AVX2 with FMA, which every x86 HPC node of the last decade has (x86-64-v3: Haswell, Zen).
// DLSTM_PORTABLE=1 builds for the baseline instead, for machines without AVX2.
// FUSED_MULTIPLY_ADD tells the code that fma is one instruction (x86-64-v3, and every arm64).
let portable = Context.environment["DLSTM_PORTABLE"] == "1"
var vectorSettings: [SwiftSetting] = []
#if arch(x86_64)
    if !portable {
        vectorSettings = [.unsafeFlags(["-Xcc", "-march=x86-64-v3"]), .define("FUSED_MULTIPLY_ADD")]
    }
#elseif arch(arm64)
    vectorSettings = [.define("FUSED_MULTIPLY_ADD")]
#endif

let package = Package(
    name: "DistributedLSTM",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "dlstm", targets: ["dlstm"]),
        .library(name: "MPI", targets: ["MPI"]),
        // For Fuzz/, the libFuzzer harness of the parsers (scripts/fuzz).
        .library(name: "LSTM", targets: ["LSTM"]),
        .library(name: "DataSources", targets: ["DataSources"]),
        .library(name: "Distributed", targets: ["Distributed"]),
        .library(name: "ConfigFiles", targets: ["ConfigFiles"]),
        .library(name: "Runs", targets: ["Runs"]),
        // ordo-one's malloc-interposer, built as libMallocInterposerSwift.so for `dlstm bench pf` to
        // count heap allocations under LD_PRELOAD (scripts/bench-pf). Nothing of dlstm links it.
        .library(name: "AllocationCounting", type: .dynamic, targets: ["AllocationCounting"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        // --config FILE.toml (a C++ TOML parser, toml++, behind a Swift API).
        .package(url: "https://github.com/LebJe/TOMLKit", from: "0.6.0"),
        // Counting the particle filters' heap allocations per step (one C file and one Swift file).
        .package(url: "https://github.com/ordo-one/malloc-interposer", from: "1.6.1"),
    ],
    targets: [
        // Open MPI's C API plus static-inline getters for the handle macros Swift cannot import.
        .systemLibrary(
            name: "CMPI",
            pkgConfig: "ompi-c",
            providers: [.apt(["libopenmpi-dev", "openmpi-bin"])]
        ),
        // The only module that touches the C API.
        .target(name: "MPI", dependencies: ["CMPI"], swiftSettings: crossModuleOptimization),
        // OpenBLAS (CBLAS) and LAPACKE for dense linear algebra.
        .systemLibrary(
            name: "CBLAS",
            pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev", "liblapacke-dev"])]
        ),
        // OpenSSL's libcrypto, for SHA-256 checksums of checkpoints: the system's, so it costs the
        // clean build nothing (swift-crypto would compile BoringSSL).
        .systemLibrary(name: "COpenSSL", pkgConfig: "libcrypto", providers: [.apt(["libssl-dev"])]),
        // Random numbers, linear algebra, log-weights: no MPI.
        // Vector settings too: the random streams' Philox blocks are generated eight at a time.
        .target(name: "Numerics", dependencies: ["CBLAS"], swiftSettings: crossModuleOptimization + vectorSettings),
        // The LSTM regression model, its derivatives and the batched particle kernel: no MPI.
        .target(
            name: "LSTM", dependencies: ["Numerics", "CBLAS"], swiftSettings: crossModuleOptimization + vectorSettings),
        // Data layer: CSV time series, labelled text with word vectors, JSON Lines, a synthetic teacher.
        .target(name: "DataSources", dependencies: ["LSTM", "Numerics"]),
        // Local online trainers (SGD, EKF, PF) and the filters they are built on: no MPI.
        .target(
            name: "Trainers", dependencies: ["LSTM", "Numerics", "CBLAS"],
            swiftSettings: crossModuleOptimization + vectorSettings),
        // Distributed trainers (DPF, DEKF, diffusion SGD, centralized PF), topologies, and the two
        // transports they run on: MPI (one node per rank) and in-process (all nodes in turn).
        .target(
            name: "Distributed", dependencies: ["MPI", "LSTM", "Numerics", "Trainers"],
            swiftSettings: crossModuleOptimization),
        // --config FILE.toml|.json expanded into command-line options: no MPI.
        .target(name: "ConfigFiles", dependencies: [.product(name: "TOMLKit", package: "TOMLKit")]),
        // SVG line and bar charts for results: no MPI, no dependencies.
        .target(name: "Plots"),
        // A training run end to end (typed configuration, data wiring, checkpoints, the online loop,
        // the report and summary.json, the model files, elm fit), on any transport: the CLI is a thin
        // wrapper over it, and tests drive it in-process.
        .target(
            name: "Runs",
            dependencies: [
                "MPI", "LSTM", "Numerics", "Trainers", "Distributed", "DataSources", "ConfigFiles", "COpenSSL",
            ],
            swiftSettings: crossModuleOptimization
        ),
        // The experiments of the sources (the paper's, the synchronisation protocols', Theorem 1's),
        // the scaling study, their plans, tables and figures: runs of `Runs`, compared.
        .target(
            name: "Experiments", dependencies: ["Runs", "Distributed", "Trainers", "LSTM", "Plots"],
            swiftSettings: crossModuleOptimization),
        // The binding against the same calls made through the C API (`dlstm bench mpi`).
        .target(name: "MPIBenchmark", dependencies: ["MPI", "CMPI"]),
        // The benchmarks of `dlstm bench`: each measures and prints its raw figures.
        .target(
            name: "Benchmarks",
            dependencies: [
                "MPI", "MPIBenchmark", "LSTM", "Numerics", "Trainers", "Distributed", "DataSources", "Runs", "CBLAS",
            ],
            swiftSettings: crossModuleOptimization
        ),
        // A failed allocation anywhere in dlstm as one line and status 2, not a crash trace (C: the
        // allocation functions themselves, which only an executable can define). dlstm links it.
        .target(name: "OutOfMemory"),
        // Multi-rank checks of the binding, run under mpirun by the test suite.
        .executableTarget(name: "MPIScenarios", dependencies: ["MPI"]),
        .executableTarget(
            name: "dlstm",
            dependencies: [
                "MPI",
                "MPIBenchmark",
                "Benchmarks",
                "LSTM",
                "Numerics",
                "Trainers",
                "Distributed",
                "DataSources",
                "Plots",
                "ConfigFiles",
                "Runs",
                "Experiments",
                "OutOfMemory",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // Launching a program (dlstm, MPIScenarios) under scripts/mpirun-local or alone, for the tests
        // that exercise a transport, the CLI or exit statuses.
        .target(name: "ProcessTestSupport", path: "Tests/ProcessTestSupport"),
        // Only so that the build makes the interposer's library; see the AllocationCounting product.
        .target(
            name: "AllocationCounting",
            dependencies: [.product(name: "MallocInterposerSwift", package: "malloc-interposer")]),
        .testTarget(name: "MPITests", dependencies: ["MPIScenarios", "ProcessTestSupport"]),
        // golden/ holds the numpy script that made LeastSquaresGolden.swift: kept with it, not built.
        .testTarget(name: "ModelTests", dependencies: ["LSTM", "Numerics"], exclude: ["golden"]),
        .testTarget(name: "TrainerTests", dependencies: ["Trainers", "LSTM", "Numerics", "DataSources"]),
        .testTarget(name: "DataTests", dependencies: ["DataSources", "LSTM"]),
        .testTarget(
            name: "DistributedTests", dependencies: ["Distributed", "Trainers", "LSTM", "Numerics", "DataSources"]),
        // A run through the library, in-process, as the CLI runs it: for RunsTests and ExperimentsTests.
        .target(name: "RunTestSupport", dependencies: ["Runs", "Distributed"], path: "Tests/RunTestSupport"),
        // The run through the library, in-process: resume, checkpoints, metrics, the configuration.
        .testTarget(
            name: "RunsTests",
            dependencies: ["Runs", "RunTestSupport", "Distributed", "Trainers", "LSTM", "DataSources", "ConfigFiles"]),
        // The experiments, the scaling study's tables and the figures, in-process.
        .testTarget(
            name: "ExperimentsTests",
            dependencies: ["Experiments", "RunTestSupport", "Runs", "Distributed", "LSTM", "Trainers"]),
        // dlstm itself under mpirun and alone: transports, the CLI, exit statuses.
        .testTarget(name: "CommandTests", dependencies: ["ProcessTestSupport"]),
        .testTarget(name: "PlotTests", dependencies: ["Plots"]),
    ]
)
