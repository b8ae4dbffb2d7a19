import Foundation
import Testing

@testable import Distributed

@Suite("Topologies and walks")
struct TopologyTests {
    @Test("a 4-ring: |E| = 4, bipartite, simple walk periodic (SLEM 1), lazy and Metropolis walks mix")
    func ring() throws {
        let ring = try Topology.ring(4)
        #expect(ring.edgeCount == 4)
        #expect(ring.neighbors == [[1, 3], [0, 2], [1, 3], [0, 2]])
        #expect(ring.isBipartite)
        let simple = RandomWalk(topology: ring, kind: .simple)
        #expect(simple.isPeriodic)
        #expect(abs(simple.slem - 1) < 1e-12)
        let lazy = RandomWalk(topology: ring, kind: .lazy)
        #expect(!lazy.isPeriodic)
        #expect(abs(lazy.slem - 0.5) < 1e-12)  // (1 + cos(pi/2)) / 2
        let metropolis = RandomWalk(topology: ring, kind: .metropolis)
        #expect(!metropolis.isPeriodic)
        #expect(abs(metropolis.slem - 1.0 / 3) < 1e-12)  // |1/3 + 2/3 cos(pi)|
    }

    @Test("odd rings are not bipartite; the complete graph's simple walk has SLEM 1/(K-1)")
    func spectra() throws {
        let ring5 = try Topology.ring(5)
        #expect(!ring5.isBipartite)
        #expect(!RandomWalk(topology: ring5, kind: .simple).isPeriodic)
        #expect(abs(RandomWalk(topology: ring5, kind: .simple).slem - cos(Double.pi / 5)) < 1e-12)
        let complete = try Topology.complete(5)
        #expect(complete.edgeCount == 10)
        #expect(abs(RandomWalk(topology: complete, kind: .simple).slem - 0.25) < 1e-12)
    }

    @Test(
        "Metropolis weights: symmetric, rows and columns sum to 1",
        arguments: ["star", "line", "torus", "erdos-renyi:0.4:7", "complete"])
    func metropolisWeights(spec: String) throws {
        let graph = try Topology.named(spec, nodes: 6)
        let c = graph.metropolisWeights
        for k in 0..<6 {
            #expect(abs(c[k].reduce(0, +) - 1) < 1e-12)
            #expect(abs(c.map { $0[k] }.reduce(0, +) - 1) < 1e-12)
            for l in 0..<6 {
                #expect(c[k][l] == c[l][k])
                #expect(c[k][l] >= 0)
                if l != k && !graph.neighbors[k].contains(l) { #expect(c[k][l] == 0) }
            }
        }
    }

    @Test("walk transitions sum to 1; the DPF exponent is 2|E| / (s eta_j) for the simple walk")
    func exponents() throws {
        let star = try Topology.star(5)
        let walk = RandomWalk(topology: star, kind: .simple)
        for row in walk.transitions { #expect(abs(row.map(\.probability).reduce(0, +) - 1) < 1e-12) }
        #expect(abs(walk.exponent(node: 0, steps: 3) - 8.0 / 12) < 1e-12)
        #expect(abs(walk.exponent(node: 2, steps: 3) - 8.0 / 3) < 1e-12)
        // pi P = pi for every walk.
        for kind in WalkKind.allCases {
            let w = RandomWalk(topology: star, kind: kind)
            for j in 0..<5 {
                let flow = (0..<5).map { i in
                    w.stationary[i] * (w.transitions[i].first { $0.node == j }?.probability ?? 0)
                }.reduce(0, +)
                #expect(abs(flow - w.stationary[j]) < 1e-12)
            }
        }
    }

    @Test("a 2x3 torus has 6 nodes; torus is the most nearly square one")
    func torus() throws {
        let t = try Topology.named("torus:2x3", nodes: 6)
        #expect(t.nodeCount == 6)
        #expect(try Topology.named("torus", nodes: 9).degrees == [Int](repeating: 4, count: 9))
    }

    @Test(
        "bad adjacency matrices are rejected with the line and the reason",
        arguments: [
            ("0 1\n1 0 1\n", "m.txt:2: 3 entries, but line 1 has 2"),
            ("0 1 0\n1 0 1\n", "2 rows of 3 entries"),
            ("0 1\n0 0\n", "not symmetric"),
            ("1 1\n1 0\n", "self loop"),
            ("0 1 0 0\n1 0 0 0\n0 0 0 1\n0 0 1 0\n", "not connected"),
            ("0 2\n2 0\n", "m.txt:1: '2' is not 0 or 1"),
            ("# nothing\n\n", "no matrix rows"),
        ])
    func badMatrices(text: String, expected: String) {
        do {
            _ = try Topology.parse(text, name: "m.txt")
            Issue.record("accepted \(text.debugDescription)")
        } catch {
            #expect("\(error)".contains(expected), "\(error)")
        }
    }

    @Test("comments, commas and tabs are accepted; a file's size must match the rank count")
    func goodFile() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("adj-\(UUID().uuidString).txt").path
        try "# a triangle\n0,1,1\n1\t0 1\n1 1 0\n".write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(try Topology.named(path, nodes: 3).edgeCount == 3)
        #expect(throws: TopologyError.self) { try Topology.named(path, nodes: 4) }
        #expect(throws: TopologyError.self) { try Topology.named("/nonexistent/adjacency.txt", nodes: 3) }
    }

    // Found by scripts/fuzz: "\r\n" is one Character in Swift, and splitting on "\n" read a file
    // saved on Windows as a single line ("'1\r\n1' is not 0 or 1", a message of two lines).
    @Test("CRLF and CR line ends read like LF")
    func windowsLineEnds() throws {
        for text in ["0 1 1\r\n1 0 1\r\n1 1 0\r\n", "0 1 1\r1 0 1\r1 1 0"] {
            let triangle = try Topology.parse(text, name: "m.txt")
            #expect(triangle.nodeCount == 3 && triangle.edgeCount == 3)
        }
        #expect(throws: TopologyError.self) { try Topology.parse("0 1\r\n1 0 1\r\n", name: "m.txt") }
    }
}
