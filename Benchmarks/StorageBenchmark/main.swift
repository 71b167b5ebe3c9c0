// Storage benchmark: synced appends of 100-byte entries at batch sizes 1, 16 and 256 next
// to this disk's own floor (append 100 bytes + fdatasync), and point reads.
// Usage: swift run -c release StorageBenchmark [seconds per phase, default 2] [directory]
import Foundation
import KVStore
import RaftCore

let seconds = CommandLine.arguments.count > 1 ? Double(CommandLine.arguments[1]) ?? 2 : 2
let base = CommandLine.arguments.count > 2 ? CommandLine.arguments[2] : NSTemporaryDirectory()
let root = base + "/storage-benchmark-\(getpid())"
try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
defer { try? FileManager.default.removeItem(atPath: root) }

func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }

/// Runs `body` repeatedly for `seconds`; returns calls per second.
func rate(_ body: () async throws -> Void) async rethrows -> Double {
    let start = now()
    var calls = 0
    while now() - start < seconds {
        try await body()
        calls += 1
    }
    return Double(calls) / (now() - start)
}

func floorSyncsPerSecond() async -> Double {
    let path = root + "/floor"
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    precondition(fd >= 0, "cannot open \(path)")
    defer { close(fd) }
    let record = [UInt8](repeating: 0x42, count: 100)
    var offset: off_t = 0
    return await rate {
        _ = record.withUnsafeBytes { pwrite(fd, $0.baseAddress, 100, offset) }
        offset += 100
        fdatasync(fd)
    }
}

func appendsPerSecond(batch: Int) async throws -> Double {
    let store = try DurableStore(directory: root + "/append-\(batch)")
    defer { store.close() }
    let payload = [UInt8](repeating: 0x42, count: 100)
    var next: UInt64 = 1
    let batches = try await rate {
        let entries = (0..<UInt64(batch)).map { Entry(term: 1, index: next + $0, data: payload) }
        next += UInt64(batch)
        try await store.log.persist(hardState: HardState(term: 1, commit: next - 1), entries: entries)
    }
    return batches
}

func pointReadsPerSecond(keys: Int) async throws -> Double {
    let store = try DurableStore(directory: root + "/reads")
    defer { store.close() }
    let value = [UInt8](repeating: 0x42, count: 100)
    for start in stride(from: 0, to: keys, by: 1000) {
        let entries = (start..<min(start + 1000, keys)).map {
            Entry(term: 1, index: UInt64($0 + 1), data: KVCommand.put("key-\($0)", value).encoded())
        }
        _ = try await store.stateMachine.apply(entries)
    }
    var generator = SystemRandomNumberGenerator()
    var found = 0
    let reads = try await rate {
        if try store.stateMachine.get("key-\(Int.random(in: 0..<keys, using: &generator))") != nil { found += 1 }
    }
    precondition(found > 0)
    return reads
}

let floor = await floorSyncsPerSecond()
print("directory: \(root), \(seconds) s per phase")
print("")
print("| measurement | batches (syncs)/s | entries/s | of the floor's syncs/s |")
print("| --- | ---: | ---: | ---: |")
print(String(format: "| disk floor: write 100 B + fdatasync | %.0f | %.0f | 100%% |", floor, floor))
for batch in [1, 16, 256] {
    let batches = try await appendsPerSecond(batch: batch)
    print(String(format: "| LMDB append, batch %d | %.0f | %.0f | %.0f%% |", batch, batches, batches * Double(batch), 100 * batches / floor))
}
let reads = try await pointReadsPerSecond(keys: 10_000)
print(String(format: "\npoint reads (10k keys, one thread, one read transaction each): %.0f/s", reads))
