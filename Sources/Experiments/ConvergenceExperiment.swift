import Distributed
import Foundation
import Plots
import Runs

/// Theorem 1 of Ergen & Kozat as a figure: as the walk's moves s grow, the DPF's predictions
/// approach the centralized PF's (same data, same seed, the same network-wide particle budget, K N),
/// at a rate the walk's mixing sets: the distance of an s-move walk from its stationary law shrinks
/// like SLEM^s. Runs in one process (every run is bit-identical to its mpirun twin), on a synthetic
/// teacher small enough (n = p = 1, n_theta = 13) that N particles can learn it, so the gap measured
/// is the walk's approximation, not a starved filter.
public struct ConvergenceExperiment: Sendable {
    public var nodes = 9
    public var topologies = ["ring", "torus"]
    public var walks: [WalkKind] = [.simple, .lazy, .metropolis]
    public var moves = [1, 2, 3, 5, 10, 20]
    public var particles = [80, 320]
    public var samples = 300
    public var seed: UInt64 = 1

    public init() {}

    public static let title = "Theorem 1: the DPF against the centralized PF as the walk's moves s grow"

    /// One DPF setting against the centralized PF with the same budget.
    public struct Point: Sendable {
        public var topology: String
        public var walk: WalkKind
        public var particles: Int
        public var moves: Int
        public var slem: Double
        /// Mean over nodes and steps of |d_hat DPF - d_hat CPF|.
        public var distance: Double
        public var dpfMSE: Double
        public var cpfMSE: Double
        /// DPF's final MSE over the centralized PF's, minus one.
        public var gap: Double { dpfMSE / cpfMSE - 1 }
    }

    func configuration(_ algorithm: Algorithm, topology: String, particles: Int) -> TrainingConfiguration {
        var c = TrainingConfiguration()
        (c.algorithm, c.topology, c.samples, c.seed, c.particles) = (algorithm, topology, samples, seed, particles)
        (c.hidden, c.teacherInput, c.teacherNoise) = (1, 1, 0.01)
        return c
    }

    func run(_ configuration: TrainingConfiguration) throws -> RunReport {
        let topology = try Topology.named(configuration.topology, nodes: nodes, seed: configuration.seed)
        return try TrainingRun(configuration: configuration, control: RunControl()).run(
            on: InProcessNetwork(topology: topology))!
    }

    /// Every (topology, walk, N, s), in that order; `progress` hears of each topology and N.
    public func measure(progress: (String) -> Void = { _ in }) throws -> [Point] {
        var points = [Point]()
        for topologyName in topologies {
            let topology = try Topology.named(topologyName, nodes: nodes, seed: seed)
            for n in particles {
                progress("\(topologyName), N = \(n)")
                let centralized = try run(configuration(.cpf, topology: topologyName, particles: n))
                for walk in walks {
                    let slem = RandomWalk(topology: topology, kind: walk).slem
                    for s in moves {
                        var c = configuration(.dpf, topology: topologyName, particles: n)
                        (c.walk, c.walkSteps) = (walk, s)
                        let dpf = try run(c)
                        var total = 0.0, count = 0
                        for (a, b) in zip(dpf.records, centralized.records) {
                            for (x, y) in zip(a.predictions, b.predictions) {
                                total += abs(x - y)
                                count += 1
                            }
                        }
                        points.append(
                            Point(
                                topology: topologyName, walk: walk, particles: n, moves: s, slem: slem,
                                distance: total / Double(count), dpfMSE: dpf.finalMSE, cpfMSE: centralized.finalMSE))
                    }
                }
            }
        }
        return points
    }

    /// The smallest s at which DPF's final MSE is within 10% of the centralized PF's, per topology,
    /// walk and N (nil: at no s measured).
    public static func smallestWithin10Percent(_ points: [Point]) -> [(String, WalkKind, Int, Int?)] {
        var seen = [(String, WalkKind, Int, Int?)]()
        for point in points
        where !seen.contains(where: { $0.0 == point.topology && $0.1 == point.walk && $0.2 == point.particles }) {
            let first = points.filter {
                $0.topology == point.topology && $0.walk == point.walk && $0.particles == point.particles
                    && $0.gap <= 0.1
            }.map(\.moves).min()
            seen.append((point.topology, point.walk, point.particles, first))
        }
        return seen
    }

    /// table.md, table.csv and convergence.svg in `directory`; returns the Markdown table.
    public func write(_ points: [Point], to directory: String) throws -> String {
        try createOutputDirectory(directory)
        var table = ResultTable(
            headings: [
                "topology", "walk", "N", "s", "SLEM", "SLEM^s", "mean abs(DPF - CPF)", "DPF final MSE", "CPF final MSE",
                "gap",
            ],
            csvHeadings: [
                "topology", "walk", "particles", "moves", "slem", "slem_power", "distance", "dpf_final_mse",
                "cpf_final_mse", "gap",
            ], textColumns: 2)
        for p in points {
            let power = pow(p.slem, Double(p.moves))
            table.append(
                [
                    p.topology, p.walk.rawValue, "\(p.particles)", "\(p.moves)", short(p.slem), short(power),
                    short(p.distance), short(p.dpfMSE), short(p.cpfMSE), String(format: "%+.1f%%", 100 * p.gap),
                ],
                csv: [
                    p.topology, p.walk.rawValue, "\(p.particles)", "\(p.moves)", exact(p.slem), exact(power),
                    exact(p.distance), exact(p.dpfMSE), exact(p.cpfMSE), exact(p.gap),
                ])
        }
        var markdown = table.markdown + "\n"
        markdown += "\nSmallest s with DPF's final MSE within 10% of the centralized PF's:\n\n"
        for (topology, walk, n, s) in Self.smallestWithin10Percent(points) {
            let smallest = s.map { "s = \($0)" } ?? "none up to s = \(moves.max()!)"
            markdown += "- \(topology), \(walk.rawValue), N = \(n): \(smallest)\n"
        }
        func series(_ value: (Point) -> Double, topology: String) -> [Series] {
            var result = [Series]()
            for walk in walks {
                for (index, n) in particles.enumerated() {
                    let line = points.filter { $0.topology == topology && $0.walk == walk && $0.particles == n }
                    result.append(
                        Series(
                            "\(walk.rawValue), N = \(n)", points: line.map { (x: Double($0.moves), y: value($0)) },
                            style: Style(colour: walkColour(walk), dash: index == 0 ? "6,3" : "")))
                }
            }
            return result
        }
        var panels = [Panel]()
        for topology in topologies {
            panels.append(
                .lines(
                    title: "\(topology) of \(nodes): mean abs(d_hat DPF - d_hat CPF)", x: Axis("walk moves s"),
                    y: Axis("distance", logarithmic: true), series: series(\.distance, topology: topology)))
            panels.append(
                .lines(
                    title: "\(topology) of \(nodes): DPF's final MSE / CPF's - 1", x: Axis("walk moves s"),
                    y: Axis("gap"), series: series(\.gap, topology: topology)))
        }
        let mixing = topologies.flatMap { topology in
            walks.map { walk in
                let line = points.filter { $0.topology == topology && $0.walk == walk && $0.particles == particles[0] }
                return Series(
                    "\(topology), \(walk.rawValue)",
                    points: line.map { (x: Double($0.moves), y: max(pow($0.slem, Double($0.moves)), 1e-12)) },
                    style: Style(colour: walkColour(walk), dash: topology == topologies[0] ? "6,3" : ""))
            }
        }
        panels.append(
            .lines(
                title: "SLEM^s: the walk's distance from its stationary law", x: Axis("walk moves s"),
                y: Axis("SLEM^s", logarithmic: true), series: mixing))
        let title = "\(Self.title) (\(samples) samples per node, seed \(seed))"
        try writeAtomically(Data(Figure(title: title, panels: panels).svg().utf8), to: directory + "/convergence.svg")
        try writeAtomically(Data(markdown.utf8), to: directory + "/table.md")
        try writeAtomically(Data(table.csv.utf8), to: directory + "/table.csv")
        return markdown
    }

    private func walkColour(_ walk: WalkKind) -> String {
        switch walk {
        case .simple: "#D55E00"
        case .lazy: "#009E73"
        case .metropolis: "#CC79A7"
        }
    }

    private func short(_ x: Double) -> String { String(format: "%.4g", x) }
}
