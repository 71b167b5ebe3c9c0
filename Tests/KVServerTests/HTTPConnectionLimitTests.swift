import Foundation
import HTTPTestSupport
import Testing

/// Connections that cost the node without doing anything are closed: the idle ones, the
/// ones beyond the cap, and the backlog a client builds by not reading its answers.
@Suite("HTTP connection limits")
struct HTTPConnectionLimitTests {
    static func keepAliveRequest(_ target: String) -> [UInt8] {
        Array("GET \(target) HTTP/1.1\r\nHost: x\r\n\r\n".utf8)
    }

    @Test("a silent connection and a slowloris request head are closed after the idle timeout; a busy one is not")
    func idleConnectionsAreClosed() async throws {
        // 3 s, fifteen times the busy connection's 200 ms cadence: on a loaded machine this
        // test's own task can stall for a second, which must not look like an idle client.
        try await TestCluster.with(size: 1, arguments: ["--http-idle-timeout-ms", "3000"]) { cluster in
            let node = try await cluster.leader()
            let silent = try HTTPExchange(port: node.apiPort)
            let slowloris = try HTTPExchange(port: node.apiPort)
            let busy = try HTTPExchange(port: node.apiPort)
            let deadline = ContinuousClock.now + .seconds(40)
            // One byte of a request head every 200 ms: each byte arrives well within the
            // timeout, but the head never completes.
            let head = Array("GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: ".utf8) + Array(repeating: UInt8(ascii: "a"), count: 200)
            var sent = 0
            var slowlorisClosed = false
            var busyAnswers = 0
            // Long enough for the busy connection to outlast the timeout twice over.
            let busyUntil = ContinuousClock.now + .milliseconds(7_000)
            while ContinuousClock.now < deadline && (!slowlorisClosed || ContinuousClock.now < busyUntil) {
                if !slowlorisClosed {
                    try await slowloris.write([head[sent % head.count]], deadline: deadline)
                    sent += 1
                    slowlorisClosed = try await slowloris.waitForClose(deadline: .now)
                }
                // The busy connection asks something every 200 ms and is answered each time.
                try await busy.write(Self.keepAliveRequest("/health"), deadline: deadline)
                let answer = try await busy.reply(deadline: deadline)
                #expect(answer.status == 200, "\(answer)")
                busyAnswers += 1
                try await Task.sleep(for: .milliseconds(200))
            }
            #expect(slowlorisClosed, "the node kept a request head trickling for \(sent) bytes open")
            #expect(try await silent.waitForClose(deadline: ContinuousClock.now + .seconds(10)), "a silent connection stayed open")
            // Still the same connection: it was never idle for a whole timeout.
            try await busy.write(Self.keepAliveRequest("/health"), deadline: deadline)
            #expect(try await busy.reply(deadline: deadline).status == 200, "after \(busyAnswers) answers")
        }
    }

    @Test("connections beyond --max-http-connections are closed at once; the node serves again once others close")
    func connectionCap() async throws {
        let cap = 4
        try await TestCluster.with(size: 1, arguments: ["--max-http-connections", "\(cap)", "--http-idle-timeout-ms", "120000"]) { cluster in
            let node = try await cluster.leader()
            // `leader()` used connections of its own: wait until the node has let them go.
            let deadline = ContinuousClock.now + .seconds(30)
            var held: [HTTPExchange] = []
            try await eventually("\(cap) connections admitted") { () async throws -> Bool? in
                held = []
                for _ in 0..<cap {
                    let connection = try HTTPExchange(port: node.apiPort)
                    try await connection.write(Self.keepAliveRequest("/health"), deadline: deadline)
                    guard try await connection.reply(deadline: deadline).status == 200 else { return nil }
                    held.append(connection)
                }
                return true
            }
            for extra in 0..<3 {
                let refused = try HTTPExchange(port: node.apiPort)
                try await refused.write(Self.keepAliveRequest("/health"), deadline: deadline)
                #expect(try await refused.waitForClose(deadline: ContinuousClock.now + .seconds(10)),
                        "connection \(cap + extra + 1) beyond the cap of \(cap) stayed open")
            }
            // The admitted ones still work.
            try await held[0].write(Self.keepAliveRequest("/health"), deadline: deadline)
            #expect(try await held[0].reply(deadline: deadline).status == 200)
            held.removeAll()  // closes them
            try await eventually("a normal request once the held connections closed") { () async throws -> Bool? in
                try await HTTP.send("GET", "http://\(node.apiAddress)/health").status == 200 ? true : nil
            }
        }
    }

    @Test("a client pipelining GETs of a large value without reading cannot grow the node's memory")
    func pipelinedReadsWithoutReadingAnswers() async throws {
        try await TestCluster.with(size: 1) { cluster in
            let node = try await cluster.leader()
            let value = String(repeating: "v", count: 256 << 10)
            _ = try await node.client.putAcknowledged("big", value)
            let pid = try #require(node.pid)
            // Warm up the paths a GET uses, then measure.
            #expect(try await node.client.get("big", stale: true).status == 200)
            let baseline = try Self.residentKilobytes(pid)
            let flood = try HTTPExchange(port: node.apiPort)
            let requests = Array(repeating: Self.keepAliveRequest("/kv/big?consistency=stale"), count: 20_000).flatMap { $0 }
            // 20,000 answers of 256 KiB would be 5 GB; the node may hold a few of them.
            let bound = 200 << 10
            var peak = baseline
            var written = 0
            // Watched for a while after the last request went out: the node answers in the
            // background, and that is when the answers would pile up.
            let end = ContinuousClock.now + .seconds(5)
            while ContinuousClock.now < end {
                if written < requests.count {
                    written += try await flood.writeSome(Array(requests[written...]), until: ContinuousClock.now + .milliseconds(250))
                } else {
                    try await Task.sleep(for: .milliseconds(250))
                }
                peak = max(peak, try Self.residentKilobytes(pid))
                #expect(peak - baseline < bound, "RSS grew by \(peak - baseline) kB after \(written) request bytes")
                if peak - baseline >= bound { break }
            }
            #expect(written > 0)
            // Once the flood stops the node still answers others.
            let other = try await node.client.get("big", stale: true)
            #expect(other.status == 200)
            #expect(other.object?["value"] as? String == value)
            withExtendedLifetime(flood) {}
        }
    }

    /// VmRSS of `pid` in kB, from /proc.
    static func residentKilobytes(_ pid: pid_t) throws -> Int {
        let status = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
        guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
              let kilobytes = line.split(separator: " ").dropFirst().first.flatMap({ Int($0) }) else {
            throw Unexpected("no VmRSS in /proc/\(pid)/status")
        }
        return kilobytes
    }
}
