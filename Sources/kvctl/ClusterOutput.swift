import ClusterAPI
import Foundation
import KVClient

/// Members and endpoints: the table columns etcdctl operators know (endpoint, id, role, term,
/// commit, applied, lag, db size).
enum ClusterOutput {
    static func members(_ members: [MemberStatus]) -> Output {
        let sorted = members.sorted { $0.id < $1.id }
        return Output(
            json: .object(["members": .array(sorted.map { member in
                .object(["id": .string(member.id), "raft_addr": .optional(member.raftAddress), "api_addr": .optional(member.apiAddress),
                         "voter": .bool(member.voter)])
            })]),
            simple: sorted.map { "\($0.id), \($0.voter ? "voter" : "learner"), \($0.raftAddress ?? "-"), \($0.apiAddress ?? "-")" },
            table: Table(header: ["id", "status", "raft addr", "api addr"],
                         rows: sorted.map { [$0.id, $0.voter ? "voter" : "learner", $0.raftAddress ?? "", $0.apiAddress ?? ""] })
        )
    }

    /// One row per endpoint. `lag` (entries behind the leader's log) is known to the leader
    /// only, so it is taken from the leader's answer when the leader is among the endpoints.
    static func statuses(_ statuses: [EndpointStatus]) -> Output {
        let leaderView = statuses.compactMap { try? $0.result.get() }.first { $0.isLeader }
        var rows: [[String]] = []
        var json: [JSONValue] = []
        var lines: [String] = []
        for entry in statuses {
            switch entry.result {
            case .success(let status):
                let lag = status.isLeader ? 0 : leaderView?.members.first { $0.id == status.id }?.lag
                let cells = [entry.endpoint.description, status.id, status.role, String(status.term), String(status.commitIndex),
                             String(status.appliedIndex), lag.map(String.init) ?? "-", status.dbSizeBytes.map(byteSize) ?? "-"]
                rows.append(cells)
                lines.append(cells.joined(separator: ", "))
                json.append(.object([
                    "endpoint": .string(entry.endpoint.description), "id": .string(status.id), "role": .string(status.role),
                    "term": .number(status.term), "commit_index": .number(status.commitIndex),
                    "applied_index": .number(status.appliedIndex), "lag": .optional(lag), "db_size_bytes": .optional(status.dbSizeBytes),
                    "leader": .optional(status.leader),
                ]))
            case .failure(let error):
                json.append(.object(["endpoint": .string(entry.endpoint.description), "error": .string(error.description)]))
            }
        }
        return Output(json: .object(["endpoints": .array(json)]), simple: lines,
                      table: Table(header: ["endpoint", "id", "role", "term", "commit", "applied", "lag", "db size"], rows: rows))
    }

    static func healths(_ healths: [EndpointHealth]) -> Output {
        var json: [JSONValue] = []
        var lines: [String] = []
        var rows: [[String]] = []
        for entry in healths {
            switch entry.result {
            case .success(let health):
                lines.append("\(entry.endpoint) is \(health.isHealthy ? "healthy" : "unhealthy"): \(health.status)")
                rows.append([entry.endpoint.description, health.isHealthy ? "true" : "false", ""])
                json.append(.object(["endpoint": .string(entry.endpoint.description), "health": .bool(health.isHealthy),
                                     "id": .optional(health.id), "leader": .optional(health.leader)]))
            case .failure(let error):
                lines.append("\(entry.endpoint) is unhealthy: \(error)")
                rows.append([entry.endpoint.description, "false", error.description])
                json.append(.object(["endpoint": .string(entry.endpoint.description), "health": .bool(false),
                                     "error": .string(error.description)]))
            }
        }
        return Output(json: .array(json), simple: lines, table: Table(header: ["endpoint", "health", "error"], rows: rows))
    }

    static func transferred(_ transfer: LeaderTransfer) -> Output {
        Output(json: .object(["leader": .string(transfer.leader), "term": .number(transfer.term)]),
               simple: ["Leadership transferred to \(transfer.leader) (term \(transfer.term))"], table: nil)
    }

    /// Bytes as people read them (`1.2 MB`), decimal units as etcdctl prints them.
    static func byteSize(_ bytes: UInt64) -> String {
        let units = ["B", "kB", "MB", "GB", "TB", "PB", "EB"]
        var value = Double(bytes)
        var unit = 0
        while value >= 1_000 && unit < units.count - 1 {
            value /= 1_000
            unit += 1
        }
        return unit == 0 ? "\(bytes) B" : String(format: "%.1f %@", value, units[unit])
    }
}
