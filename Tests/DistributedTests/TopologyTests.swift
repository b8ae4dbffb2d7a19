import Testing
@testable import Distributed

@Suite("Topologies and walks")
struct TopologyTests {
    @Test("a 4-ring: |E| = 4, bipartite, simple walk periodic (SLEM 1), lazy and Metropolis walks mix")
    func ring() throws {
        let ring = try Topology.ring(4)
        #expect(ring.edgeCount == 4)
        #expect(ring.isBipartite)
        let simple = RandomWalk(topology: ring, kind: .simple)
        #expect(simple.isPeriodic)
        #expect(abs(simple.slem - 1) < 1e-12)
        let lazy = RandomWalk(topology: ring, kind: .lazy)
        #expect(!lazy.isPeriodic)
        #expect(abs(lazy.slem - 0.5) < 1e-12)  // (1 + cos(pi/2)) / 2
        #expect(!RandomWalk(topology: ring, kind: .metropolis).isPeriodic)
    }
}
