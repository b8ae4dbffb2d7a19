import Foundation

/// Faults a test injects into a run (hidden options of `dlstm train`), passed in as a value.
public struct FaultInjection: Sendable {
    /// A node that fails, or hangs, at a step (`--inject-failure NODE:STEP[:hang]`).
    public var failure: InjectedFailure?
    /// The process kills itself (SIGKILL, as `kill -9` or a node failure would) halfway through
    /// writing its (K+1)-th results file (`--inject-kill-while-writing K`).
    public var killWhileWritingFile: Int?
    /// The process running node 0 asks for a stop, as a signal would, on reaching this step
    /// (`--signal-at-step T`).
    public var stopAtStep: Int?

    public init() {}
}

/// Node `node` fails (or hangs) when it reaches step `step`, to check that the job then ends
/// promptly instead of hanging.
public struct InjectedFailure: Sendable {
    public let node: Int
    public let step: Int
    public let hang: Bool

    /// From NODE:STEP or NODE:STEP:hang.
    public init?(_ text: String) {
        let parts = text.split(separator: ":")
        guard parts.count == 2 || (parts.count == 3 && parts[2] == "hang"), let node = Int(parts[0]),
            let step = Int(parts[1])
        else { return nil }
        (self.node, self.step, hang) = (node, step, parts.count == 3)
    }

    func check(node: Int, step: Int) throws {
        guard node == self.node, step == self.step else { return }
        if hang {
            while true { Thread.sleep(forTimeInterval: 3600) }
        }
        throw RunError("injected failure at node \(node), step \(step) (--inject-failure)", status: .failure)
    }
}
