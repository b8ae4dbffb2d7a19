import CMPI

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Process-wide MPI state: initialisation, finalisation, the world communicator, job abort.
///
/// MPI may be initialised once per process and never again after `finalize()`: tests that need
/// several ranks run an executable under `mpirun` instead of initialising MPI in the test process.
public enum MPI {
    /// Thread support levels of `MPI_Init_thread`, in increasing order.
    public enum ThreadLevel: Int, Comparable, Sendable, CustomStringConvertible {
        case single, funneled, serialized, multiple

        var cValue: Int32 {
            switch self {
            case .single: cmpi_thread_single()
            case .funneled: cmpi_thread_funneled()
            case .serialized: cmpi_thread_serialized()
            case .multiple: cmpi_thread_multiple()
            }
        }

        init(cValue: Int32) {
            switch cValue {
            case cmpi_thread_multiple(): self = .multiple
            case cmpi_thread_serialized(): self = .serialized
            case cmpi_thread_funneled(): self = .funneled
            default: self = .single
            }
        }

        public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }
        public var description: String {
            ["MPI_THREAD_SINGLE", "MPI_THREAD_FUNNELED", "MPI_THREAD_SERIALIZED", "MPI_THREAD_MULTIPLE"][rawValue]
        }
    }

    /// Wildcards and null ranks, for `receive(from:tag:)` and friends.
    public static var anySource: Int { Int(cmpi_any_source()) }
    public static var anyTag: Int { Int(cmpi_any_tag()) }
    public static var processNull: Int { Int(cmpi_proc_null()) }

    public static var isInitialized: Bool {
        var flag: Int32 = 0
        MPI_Initialized(&flag)
        return flag != 0
    }

    public static var isFinalized: Bool {
        var flag: Int32 = 0
        MPI_Finalized(&flag)
        return flag != 0
    }

    /// True between `initialize` and `finalize`: the only time MPI calls are legal.
    static var isActive: Bool { isInitialized && !isFinalized }

    /// Initialises MPI and sets `MPI_ERRORS_RETURN` on the predefined communicators.
    /// - Returns: the thread level the library provides (may be lower than asked).
    @discardableResult
    public static func initialize(threadLevel: ThreadLevel = .funneled) throws -> ThreadLevel {
        if isFinalized {
            throw MPIError(
                errorClass: MPI_ERR_OTHER, call: "MPI.initialize", message: "MPI was already finalised in this process")
        }
        if isInitialized {
            throw MPIError(
                errorClass: MPI_ERR_OTHER, call: "MPI.initialize", message: "MPI is already initialised in this process"
            )
        }
        var provided: Int32 = 0
        try check(MPI_Init_thread(nil, nil, threadLevel.cValue, &provided), "MPI_Init_thread")
        try check(MPI_Comm_set_errhandler(cmpi_comm_world(), cmpi_errors_return()), "MPI_Comm_set_errhandler")
        try check(MPI_Comm_set_errhandler(cmpi_comm_self(), cmpi_errors_return()), "MPI_Comm_set_errhandler")
        return ThreadLevel(cValue: provided)
    }

    /// The thread level in force (`MPI_Query_thread`).
    public static func threadLevel() throws -> ThreadLevel {
        var provided: Int32 = 0
        try check(MPI_Query_thread(&provided), "MPI_Query_thread")
        return ThreadLevel(cValue: provided)
    }

    /// Finalises MPI. Collective over all processes: call it only when every rank got here.
    public static func finalize() throws {
        guard isActive else { return }
        try check(MPI_Finalize(), "MPI_Finalize")
    }

    /// `MPI_COMM_WORLD`, with `MPI_ERRORS_RETURN`.
    public static var world: Communicator { Communicator(predefined: cmpi_comm_world()) }

    /// `MPI_COMM_SELF`, with `MPI_ERRORS_RETURN`.
    public static var selfCommunicator: Communicator { Communicator(predefined: cmpi_comm_self()) }

    /// Seconds since an arbitrary time in the past (`MPI_Wtime`).
    @inline(__always)
    public static func wallTime() -> Double { MPI_Wtime() }

    /// The name of the host this rank runs on (`MPI_Get_processor_name`).
    public static func processorName() throws -> String {
        var buffer = [CChar](repeating: 0, count: Int(cmpi_max_processor_name()) + 1)
        var length: Int32 = 0
        try check(MPI_Get_processor_name(&buffer, &length), "MPI_Get_processor_name")
        return string(from: buffer, length: length)
    }

    /// The MPI library's own version line (`MPI_Get_library_version`), e.g. "Open MPI v4.1.4, ...".
    public static func libraryVersion() throws -> String {
        var buffer = [CChar](repeating: 0, count: Int(cmpi_max_library_version_string()) + 1)
        var length: Int32 = 0
        try check(MPI_Get_library_version(&buffer, &length), "MPI_Get_library_version")
        return string(from: buffer, length: length).trimmingTrailingNewlines()
    }

    /// Writes `message` to standard error and ends the whole job (`MPI_Abort` on the world).
    ///
    /// This is how one rank's failure reaches the others: they may be blocked in a receive that
    /// will never match, and only an abort turns that into a prompt, non-zero end of the job.
    public static func abort(_ message: String, exitCode: Int32 = 1) -> Never {
        if isActive {
            let world = cmpi_comm_world()
            var rank: Int32 = 0, size: Int32 = 0
            MPI_Comm_rank(world, &rank)
            MPI_Comm_size(world, &size)
            writeToStandardError("\(programName): rank \(rank) of \(size): \(message)\n")
            MPI_Abort(world, exitCode)
        }
        writeToStandardError("\(programName): \(message)\n")
        exit(exitCode)
    }

    /// Runs `body` as an MPI program: initialise, run, finalise and exit 0; or, if `body` throws on
    /// any rank, abort the whole job with the error's text and a non-zero status.
    public static func run(threadLevel: ThreadLevel = .funneled, _ body: (Communicator) throws -> Void) -> Never {
        do {
            try initialize(threadLevel: threadLevel)
        } catch {
            abort("\(error)")
        }
        do {
            try body(world)
        } catch {
            abort("\(error)", exitCode: (error as? ErrorWithExitCode)?.exitCode ?? 1)
        }
        do {
            try finalize()
        } catch {
            abort("\(error)")
        }
        exit(0)
    }

    static var programName: String {
        let path = CommandLine.arguments.first ?? "mpi"
        return path.split(separator: "/").last.map(String.init) ?? path
    }

    static func writeToStandardError(_ text: String) {
        var text = text
        text.withUTF8 { bytes in
            var offset = 0
            while offset < bytes.count {
                let written = write(2, bytes.baseAddress! + offset, bytes.count - offset)
                if written <= 0 { break }
                offset += written
            }
        }
    }

    static func string(from buffer: [CChar], length: Int32) -> String {
        String(decoding: buffer.prefix(Int(length)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

extension String {
    fileprivate func trimmingTrailingNewlines() -> String {
        var s = Substring(self)
        while let last = s.last, last.isNewline || last == "\0" { s = s.dropLast() }
        return String(s)
    }
}
