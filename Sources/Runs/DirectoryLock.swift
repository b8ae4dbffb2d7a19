import Foundation

/// A run's exclusive hold on its results (or checkpoint) directory for its whole life: `flock` on
/// DIR/.dlstm.lock, which names the holder (its host and pid). The kernel releases the lock when
/// the process ends, however it ends, so a crashed or killed run never leaves a stale lock; the
/// file itself stays, and only its lock matters.
public final class DirectoryLock {
    public let directory: String
    private var descriptor: Int32

    public static let fileName = ".dlstm.lock"

    /// Takes the lock, creating the directory if missing, or throws the one line naming the
    /// directory and its holder (status 2): a second run on a directory in use stops before any work.
    public init(directory: String) throws {
        try createOutputDirectory(directory)
        let path = directory + "/" + Self.fileName
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw RunError("\(path): cannot open (\(String(cString: strerror(errno))))", status: .output)
        }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            close(fd)
            let written =
                (try? String(contentsOfFile: path, encoding: .utf8))?
                .trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
            let holder = written.isEmpty ? "which has not written its name yet" : written
            throw RunError(
                "\(directory): in use by another run (\(holder)); give each run its own directory, or wait for "
                    + "that one to end",
                status: .usage)
        }
        let holder = "pid \(getpid()) on \(ProcessInfo.processInfo.hostName)\n"
        _ = ftruncate(fd, 0)
        _ = holder.utf8CString.withUnsafeBufferPointer { pwrite(fd, $0.baseAddress, $0.count - 1, 0) }
        (self.directory, descriptor) = (directory, fd)
    }

    /// Lets go of the directory (also when the value is released, or the process ends).
    public func release() {
        guard descriptor >= 0 else { return }
        close(descriptor)
        descriptor = -1
    }

    deinit { release() }
}
