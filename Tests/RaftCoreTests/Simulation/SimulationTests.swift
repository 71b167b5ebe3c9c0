import RaftCore
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Seeded whole-cluster simulations. `RAFT_SIM_SEEDS=N` sets how many seeds each scenario
/// runs; `RAFT_SIM_SEED=S` replays one seed.
@Suite("Simulation")
struct SimulationTests {
    static func seeds(default count: Int) -> [UInt64] {
        if let one = environment("RAFT_SIM_SEED").flatMap(UInt64.init) { return [one] }
        let total = environment("RAFT_SIM_SEEDS").flatMap(Int.init) ?? count
        return (1...max(1, total)).map { UInt64($0) }
    }

    static func environment(_ name: String) -> String? {
        guard let value = getenv(name) else { return nil }
        return String(cString: value)
    }

    static func runSeeds(_ seeds: [UInt64], scenario: String, options: ClusterSimulation.Options) {
        runSeeds(seeds, scenario: scenario) { seed throws(SimulationFailure) in
            var simulation = ClusterSimulation(seed: seed, options: options)
            try simulation.run()
            // Most forged messages are refused by `step`'s checks; the rest (an answer to a
            // node that is no longer leader, say) fall to the role handlers and change nothing.
            if options.hostileTraffic && simulation.hostileDropped * 10 < simulation.hostileSent * 8 {
                throw SimulationFailure("only \(simulation.hostileDropped) of \(simulation.hostileSent) hostile messages were dropped")
            }
        }
    }

    /// Runs `simulate` for each seed; the first failure is recorded with how to replay it.
    static func runSeeds(_ seeds: [UInt64], scenario: String, filter: String = "Simulation",
                         _ simulate: (UInt64) throws(SimulationFailure) -> Void) {
        for seed in seeds {
            do {
                try simulate(seed)
            } catch {
                Issue.record("""
                    \(scenario) failed with seed \(seed): \(error)
                    replay: RAFT_SIM_SEED=\(seed) swift test --filter "\(filter)"
                    """)
                return
            }
        }
    }

    @Test("3 nodes: elections and replication under faults")
    func threeNodesCore() {
        var options = ClusterSimulation.Options()
        options.voters = 3
        options.snapshots = false
        options.membershipChanges = false
        options.leadershipTransfers = false
        Self.runSeeds(Self.seeds(default: 150), scenario: "3-node core", options: options)
    }

    @Test("5 nodes: elections and replication under faults")
    func fiveNodesCore() {
        var options = ClusterSimulation.Options()
        options.voters = 5
        options.snapshots = false
        options.membershipChanges = false
        options.leadershipTransfers = false
        Self.runSeeds(Self.seeds(default: 100), scenario: "5-node core", options: options)
    }

    @Test("3 nodes: snapshots, membership changes, transfers and reads under faults")
    func threeNodesAllFeatures() {
        var options = ClusterSimulation.Options()
        options.voters = 3
        Self.runSeeds(Self.seeds(default: 150), scenario: "3-node full", options: options)
    }

    @Test("5 nodes: heavy churn of crashes and partitions")
    func fiveNodesHeavyChurn() {
        var options = ClusterSimulation.Options()
        options.voters = 5
        options.churn = 5
        options.membershipChanges = false
        Self.runSeeds(Self.seeds(default: 100), scenario: "5-node churn", options: options)
    }

    @Test("5 nodes: snapshots, membership changes, transfers and reads under faults")
    func fiveNodesAllFeatures() {
        var options = ClusterSimulation.Options()
        options.voters = 5
        Self.runSeeds(Self.seeds(default: 100), scenario: "5-node full", options: options)
    }

    @Test("3 nodes: every feature under faults, with hostile messages from strangers and members")
    func threeNodesHostile() {
        var options = ClusterSimulation.Options()
        options.voters = 3
        options.hostileTraffic = true
        Self.runSeeds(Self.seeds(default: 100), scenario: "3-node hostile", options: options)
    }

    @Test("5 nodes: churn of crashes and partitions, with hostile messages")
    func fiveNodesHostile() {
        var options = ClusterSimulation.Options()
        options.voters = 5
        options.churn = 3
        options.hostileTraffic = true
        Self.runSeeds(Self.seeds(default: 60), scenario: "5-node hostile", options: options)
    }

    @Test("3 nodes: after each heal of a packet-dropping partition, writes resume, a cut-off leader stepped down in time, and catching up costs little")
    func threeNodesPartitionLiveness() {
        Self.runPartitionSeeds(Self.seeds(default: 40), voters: 3)
    }

    @Test("5 nodes: liveness after partitions that hold messages and release them in one burst")
    func fiveNodesPartitionLiveness() {
        Self.runPartitionSeeds(Self.seeds(default: 20), voters: 5)
    }

    static func runPartitionSeeds(_ seeds: [UInt64], voters: Int) {
        var options = PartitionLivenessSimulation.Options()
        options.voters = voters
        runSeeds(seeds, scenario: "\(voters)-node partition liveness", filter: "PartitionLiveness") { seed throws(SimulationFailure) in
            var simulation = PartitionLivenessSimulation(seed: seed, options: options)
            try simulation.run()
        }
    }
}
