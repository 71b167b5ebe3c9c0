import Glibc
import Launcher
import Testing

@Suite struct PortPlanTests {
    @Test func followsTheDesignLayout() {
        let plan = PortPlan(basePort: 9000)
        #expect(plan.apiPort(slot: 1) == 9000)
        #expect(plan.raftPort(slot: 1) == 9001)
        #expect(plan.apiPort(slot: 3) == 9020)
        #expect(plan.raftPort(slot: 3) == 9021)
        #expect(plan.apiPort(slot: 5) == 9040)
    }

    @Test func nextFreeSlotSkipsUsedSlotsAndBusyPorts() {
        let plan = PortPlan(basePort: 19000)
        #expect(plan.nextFreeSlot(used: [1, 2, 3], isFree: { _ in true }) == 4)
        #expect(plan.nextFreeSlot(used: [1, 3], isFree: { _ in true }) == 2)
        // Slot 4's API port and slot 5's Raft port are taken by something else.
        let busy: Set<Int> = [19030, 19041]
        #expect(plan.nextFreeSlot(used: [1, 2, 3], isFree: { !busy.contains($0) }) == 6)
    }

    @Test func runsOutBelowPort65536() {
        let plan = PortPlan(basePort: 65_500)
        #expect(plan.maxSlot == 4)
        #expect(plan.raftPort(slot: plan.maxSlot) <= 65_535)
        #expect(plan.nextFreeSlot(used: [1, 2, 3, 4], isFree: { _ in true }) == nil)
    }

    @Test func probeSeesABoundPort() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #expect(fd >= 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        inet_pton(AF_INET, "127.0.0.1", &address.sin_addr)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(fd, pointer, length) == 0 && listen(fd, 1) == 0 && getsockname(fd, pointer, &length) == 0
            }
        }
        #expect(bound)
        let port = Int(UInt16(bigEndian: address.sin_port))
        #expect(!PortProbe.isFree(port))
        close(fd)
        #expect(PortProbe.isFree(port))
    }

    @Test func probeRefusesNonsense() {
        #expect(!PortProbe.isFree(0))
        #expect(!PortProbe.isFree(70_000))
    }
}
