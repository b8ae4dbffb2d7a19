import Experiments
import Runs
import Testing

@Suite("the paper's experiments")
struct PaperExperimentTests {
    @Test("the paper's presets and the experiment's variants are typed configurations")
    func presets() {
        let fx = TrainingConfiguration.paper(.fx, dataDirectory: "d")
        #expect(fx.data == "d/fx/garch_daily_usd_1980_1987.csv" && fx.column == "bp" && fx.normalize == .minmax)
        #expect(fx.particles == 80 && fx.jitter == 0.0004 && fx.walkSteps == 3)
        let metropolis = ExperimentRun(.dpfMetropolis).applied(to: fx)
        #expect(metropolis.algorithm == .dpf && metropolis.walk == .metropolis)
        #expect(ExperimentRun(.cpf).applied(to: metropolis).walk == .simple)
        let calibrated = ExperimentRun(.dpfMetropolis, estimatesNoise: true).applied(to: fx)
        #expect(calibrated.algorithm == .dpf && calibrated.walk == .metropolis && calibrated.observationNoise == .auto)
        #expect(
            fx.observationNoise == .fixed(0.01)
                && ExperimentRun(.cpf, estimatesNoise: true).applied(to: fx).algorithm == .cpf)
        #expect(TrainingConfiguration.paper(.sentiment).labelScale == 0.25)
        // Names: a base and the suffixes -auto and -direct, in that order; -auto only on a filter.
        let both = ExperimentRun(name: "dpf-metropolis-auto-direct")
        #expect(both == ExperimentRun(.dpfMetropolis, estimatesNoise: true, directLink: true))
        #expect(both?.name == "dpf-metropolis-auto-direct" && both?.applied(to: fx).directLink == true)
        #expect(ExperimentRun(name: "elm-direct")?.applied(to: fx).directLink == true)
        #expect(ExperimentRun(name: "ekf")?.applied(to: both!.applied(to: fx)).directLink == false)
        for wrong in ["sgd-auto", "dpf-direct-auto", "ekf-", "direct", "elm-auto-direct"] {
            #expect(ExperimentRun(name: wrong) == nil, "\(wrong)")
        }
        #expect(ExperimentRun.paperRuns.allSatisfy { ExperimentRun(name: $0.name) == $0 })
        // A lagged series is compared with persistence, the tweets with the running mean.
        #expect(fx.trivialPredictor.kind == .persistence)
    }
}
