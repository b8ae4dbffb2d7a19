import MPI

/// A check that failed: thrown, so `MPI.run` aborts the whole job with this text.
struct ScenarioFailure: Error, CustomStringConvertible {
    let description: String
}

func expect(_ condition: Bool, _ message: @autoclosure () -> String) throws {
    if !condition { throw ScenarioFailure(description: "check failed: \(message())") }
}

/// One multi-rank check of the binding. With `corrupt` set, the last rank perturbs what it
/// contributes, and the scenario must then fail: proof that its checks can fail.
struct Scenario: Sendable {
    let name: String
    let summary: String
    let run: @Sendable (_ world: Communicator, _ corrupt: Bool) throws -> Void
}

/// Values that encode who sent them to whom, so a receiver can tell a misrouted or reordered
/// message from a right one.
func payload(from sender: Int, to receiver: Int, count: Int) -> [Double] {
    (0..<count).map { Double(sender * 10_000 + receiver * 100 + $0) }
}

/// Uneven message lengths, zero included, that differ per pair.
func payloadCount(from sender: Int, to receiver: Int) -> Int {
    (sender * 3 + receiver * 5) % 7
}

/// The star with centre 0.
func starNeighbors(of rank: Int, size: Int) -> [Int] {
    rank == 0 ? Array(1..<size) : [0]
}
