// swift-tools-version:6.0
// libFuzzer harness for every parser of user input: data files (CSV, JSON Lines, labelled text, word
// vectors), adjacency matrices and --config files. A package of its own because it is built with
// `-sanitize=fuzzer,address`, which the main build must not get. Build and run it with scripts/fuzz.
import PackageDescription

let package = Package(
    name: "DLSTMFuzz",
    dependencies: [.package(name: "DistributedLSTM", path: "..")],
    targets: [
        // The declaration of LLVMFuzzerRunDriver (the library is linked by -sanitize=fuzzer).
        .systemLibrary(name: "CLibFuzzer"),
        .executableTarget(
            name: "fuzz-parsers",
            dependencies: [
                "CLibFuzzer",
                .product(name: "LSTM", package: "DistributedLSTM"),
                .product(name: "DataSources", package: "DistributedLSTM"),
                .product(name: "Distributed", package: "DistributedLSTM"),
                .product(name: "ConfigFiles", package: "DistributedLSTM"),
            ]
        ),
    ]
)
