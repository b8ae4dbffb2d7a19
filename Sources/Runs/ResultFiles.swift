import Foundation

/// `--out DIR`, created with its parents if missing.
public func createOutputDirectory(_ directory: String) throws {
    do {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    } catch {
        throw RunError(
            "--out \(directory): cannot create the directory (\(error.localizedDescription))", status: .output)
    }
}

/// Fails now rather than after the run: the output directory can be created and written.
func checkWritable(directory: String) throws {
    try createOutputDirectory(directory)
    try writeAtomically(Data(), to: directory + "/.write-test")
    unlink(directory + "/.write-test")
}

/// The exact double, so that runs can be compared bit for bit.
public func exact(_ x: Double) -> String { String(format: "%.17g", x) }

/// A whole number as an integer, anything else (fractions, infinities) as `exact`: trace files'
/// counts and flags read as counts.
public func wholeOrExact(_ x: Double) -> String {
    x.isFinite && x == x.rounded() && abs(x) < 1e15 ? String(Int(x)) : exact(x)
}

/// Writes to a temporary file in the same directory, fsyncs it, renames it over `path`, and
/// fsyncs the directory: a reader sees the old file or the new one, never half of one, and after
/// a crash of the machine the rename has happened or not. `killHalfway` (a test's injected fault)
/// kills the process with SIGKILL halfway through the temporary file.
public func writeAtomically(_ data: Data, to path: String, killHalfway: Bool = false) throws {
    let temporary = path + ".tmp.\(getpid())"
    let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    guard fd >= 0 else {
        throw RunError("\(path): cannot write (\(String(cString: strerror(errno))))", status: .output)
    }
    let bytesToWrite = killHalfway ? data.count / 2 : data.count
    var failed = false
    data.withUnsafeBytes { (bytes: UnsafeRawBufferPointer) in
        var offset = 0
        while offset < bytesToWrite {
            let written = Foundation.write(fd, bytes.baseAddress! + offset, bytesToWrite - offset)
            if written <= 0 {
                failed = true
                break
            }
            offset += written
        }
    }
    if killHalfway { kill(getpid(), SIGKILL) }
    if fsync(fd) != 0 { failed = true }
    close(fd)
    guard !failed, rename(temporary, path) == 0 else {
        unlink(temporary)
        throw RunError("\(path): cannot write (\(String(cString: strerror(errno))))", status: .output)
    }
    let parent = (path as NSString).deletingLastPathComponent
    let directory = open(parent.isEmpty ? "." : parent, O_RDONLY)
    if directory >= 0 {
        fsync(directory)
        close(directory)
    }
}
