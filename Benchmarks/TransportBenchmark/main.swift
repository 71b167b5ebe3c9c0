import Logging
import RaftCore
import Transport

/// Throughput between two transports on loopback: node "a" streams AppendRequests carrying one
/// entry of the given payload size to node "b". The sender keeps at most `window` messages
/// unacknowledged (as Raft's inflight limit would), so what is measured is the transport's
/// steady pace, not how fast an unbounded queue can be filled.
///
///     swift run -c release TransportBenchmark [seconds-per-scenario]

struct Scenario {
    var payloadSize: Int
    var window: Int
    var batch: Int
}

struct Result {
    var messages: Int
    var seconds: Double
    var payloadSize: Int

    var messagesPerSecond: Double { Double(messages) / seconds }
    var megabytesPerSecond: Double { Double(messages * payloadSize) / seconds / 1_000_000 }
}

func run(_ scenario: Scenario, duration: Duration) async throws -> Result {
    var logger = Logger(label: "bench")
    logger.logLevel = .error
    var configuration = TransportConfiguration(localID: "a", clusterID: "bench")
    configuration.outboundQueueLimit = scenario.window * 2
    configuration.outboundQueueByteLimit = 1 << 30
    let sender = try await RaftTransport.start(configuration: configuration, logger: logger)
    configuration.localID = "b"
    let receiver = try await RaftTransport.start(configuration: configuration, logger: logger)
    sender.setPeer("b", address: PeerAddress(host: "127.0.0.1", port: receiver.port!))

    // The receiver reports its count every `batch` messages; the sender waits on these reports
    // whenever its window is full.
    let (progress, progressSink) = AsyncStream.makeStream(of: Int.self, bufferingPolicy: .bufferingNewest(1))
    let consumer = Task {
        var received = 0
        for await event in receiver.events {
            guard case .message = event else { continue }
            received += 1
            if received % scenario.batch == 0 { progressSink.yield(received) }
        }
        progressSink.finish()
    }
    // A drop would leave the sender waiting for acknowledgements that cannot come: stop instead.
    let dropWatch = Task {
        for await event in sender.events {
            if case .unreachable = event {
                print("messages were dropped; the window is larger than the outbound queue")
                progressSink.finish()
            }
        }
    }

    let payload = [UInt8](repeating: 0x5A, count: scenario.payloadSize)
    func batch(from index: Int, count: Int) -> [Message] {
        (index..<(index + count)).map { i in
            let entry = Entry(term: 1, index: UInt64(i + 1), data: payload)
            return Message(from: "a", to: "b", term: 1, body: .append(AppendRequest(
                prevLogIndex: UInt64(i), prevLogTerm: 1, entries: [entry], leaderCommit: UInt64(i))))
        }
    }

    var iterator = progress.makeAsyncIterator()
    // Warm up: the first batch also waits out the connection and handshake.
    sender.send(batch(from: 0, count: scenario.batch))
    var acknowledged = await iterator.next() ?? 0
    var sent = scenario.batch

    let clock = ContinuousClock()
    let start = clock.now
    let startAcknowledged = acknowledged
    while clock.now - start < duration {
        while sent - acknowledged < scenario.window {
            sender.send(batch(from: sent, count: scenario.batch))
            sent += scenario.batch
        }
        guard let count = await iterator.next() else { break }
        acknowledged = count
    }
    // Drain what is in flight so every counted message really arrived.
    while acknowledged < sent, let count = await iterator.next() { acknowledged = count }
    let elapsed = clock.now - start

    await sender.shutdown()
    await receiver.shutdown()
    await consumer.value
    await dropWatch.value
    let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    return Result(messages: acknowledged - startAcknowledged, seconds: seconds, payloadSize: scenario.payloadSize)
}

/// `value` with `digits` decimals, without pulling in Foundation for `String(format:)`.
func fixed(_ value: Double, _ digits: Int) -> String {
    var scale = 1.0
    for _ in 0..<digits { scale *= 10 }
    let scaled = Int((value * scale).rounded())
    let fraction = String(scaled % Int(scale))
    return "\(scaled / Int(scale)).\(String(repeating: "0", count: digits - fraction.count))\(fraction)"
}

let seconds = CommandLine.arguments.dropFirst().first.flatMap(Int.init) ?? 3
let scenarios = [
    Scenario(payloadSize: 100, window: 16_384, batch: 256),
    Scenario(payloadSize: 64 * 1024, window: 256, batch: 16),
]
print("| payload | messages | seconds | messages/s | MB/s (payload) |")
print("| --- | --- | --- | --- | --- |")
for scenario in scenarios {
    let result = try await run(scenario, duration: .seconds(seconds))
    let size = scenario.payloadSize >= 1024 ? "\(scenario.payloadSize / 1024) KiB" : "\(scenario.payloadSize) B"
    print("| \(size) | \(result.messages) | \(fixed(result.seconds, 2)) | \(Int(result.messagesPerSecond)) | \(fixed(result.megabytesPerSecond, 1)) |")
}
