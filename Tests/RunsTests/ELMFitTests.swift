import Distributed
import Foundation
import RunTestSupport
import Testing

@testable import Runs

/// Batch ELM over K nodes: the same rows dealt to 1 to 8 nodes give the same readout (TSQR).
@Suite("elm fit, in-process")
struct ELMFitTests {
    func fit(nodes: Int, topology: String = "ring") throws -> ELMFit.Report {
        let configuration = teacherRun(.elm, samples: 120 / nodes) {
            ($0.hidden, $0.partition, $0.ridge, $0.topology) = (16, .blocks, 0, topology)
        }
        var fit = ELMFit(configuration: configuration)
        fit.testFraction = 0
        return try fit.run(on: InProcessNetwork(topology: try Topology.named(topology, nodes: nodes)))!
    }

    @Test("the readout of 120 rows is the same on 1, 2, 3, 5 and 8 nodes, on a ring and a line")
    func sameOnAnyNodeCount() throws {
        let reference = try fit(nodes: 1)
        #expect(reference.trainRows == 120 && reference.beta.count == 17)
        for (nodes, topology) in [(2, "ring"), (3, "ring"), (5, "line"), (8, "ring"), (8, "star")] {
            let report = try fit(nodes: nodes, topology: topology)
            let scale = reference.beta.map(abs).max()!
            let error = zip(report.beta, reference.beta).map { abs($0 - $1) }.max()!
            #expect(error <= 1e-10 * scale, "\(nodes) nodes, \(topology)")
            #expect(report.trainRows == 120)
            // |rho| is the residual norm: the training RMSE times the root of the row count.
            #expect(abs(report.residual - report.trainRMSE * 120.0.squareRoot()) <= 1e-9 * report.residual)
        }
    }

    @Test("fewer rows than features and no ridge: status 3 naming the fix")
    func rankDeficient() throws {
        var fit = ELMFit(configuration: teacherRun(.elm, samples: 5) { ($0.hidden, $0.ridge) = (16, 0) })
        fit.testFraction = 0
        let error = #expect(throws: RunError.self) {
            _ = try fit.run(on: InProcessNetwork(topology: try Topology.ring(2)))
        }
        #expect(error?.status == .data && error?.message.contains("add a ridge") == true)
    }
}
