import AsyncHTTPClient
import FoundationEssentials
import KVStore
import Logging
import NIOCore
import NIOHTTP1
import NodeRuntime
import RaftCore

/// Asks the cluster to admit this node: POSTs `/cluster/join` to the given member every
/// few seconds, following redirects to the leader, until it is admitted.
struct JoinClient {
    let runtime: NodeRuntime
    let target: JoinTarget
    let logger: Logger
    var retryInterval: Duration = .seconds(2)
    /// Longest wait for one attempt's answer.
    var attemptTimeout: Duration = .seconds(10)
    /// Largest answer read: a members list, never more than a few kilobytes.
    static let maxAnswerBytes = 1 << 20

    func run() async {
        let client: HTTPClient
        do {
            var configuration = HTTPClient.Configuration(tlsConfiguration: try target.tlsConfiguration(),
                                                         redirectConfiguration: .disallow)
            configuration.timeout = .init(connect: .seconds(5), read: .seconds(10))
            client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        } catch {
            // Checked at start-up already (kv-node exits 2); a file changed since is reported.
            logger.error("cannot join: the TLS files for --join are unusable", metadata: ["error": "\(error)"])
            return
        }
        await join(using: client)
        try? await client.shutdown()
    }

    private func join(using client: HTTPClient) async {
        let config = runtime.config
        let body: [String: String] = ["id": config.id.rawValue, "raft_addr": config.address.raft.description,
                                      "api_addr": config.address.api.description]
        let first = "\(target.scheme)://\(target.address)/cluster/join"
        var url = first
        while !Task.isCancelled {
            if await runtime.status().isMember {
                logger.notice("admitted to the cluster")
                return
            }
            do {
                var request = HTTPClientRequest(url: url)
                request.method = .POST
                request.headers.add(name: "Content-Type", value: "application/json")
                if let authorization = target.authorization { request.headers.add(name: "Authorization", value: authorization) }
                request.body = .bytes(ByteBuffer(bytes: try JSONEncoder().encode(body)))
                let response = try await client.execute(request, timeout: .init(attemptTimeout))
                let answer = try await response.body.collect(upTo: Self.maxAnswerBytes)
                let data = Data(answer.readableBytesView)
                if response.status == .ok {
                    await runtime.learnPeers(Self.members(in: data))
                    logger.notice("join accepted; catching up as a learner", metadata: ["via": "\(url)"])
                    return
                }
                if response.status == .temporaryRedirect, let location = response.headers.first(name: "Location"),
                   location.hasPrefix("http://") || location.hasPrefix("https://") {
                    url = location
                    continue
                }
                logger.warning("join refused; retrying", metadata: ["status": "\(response.status.code)",
                                                                    "body": "\(String(decoding: data, as: UTF8.self))"])
            } catch {
                logger.info("join attempt failed; retrying", metadata: ["target": "\(url)", "error": "\(error)"])
                url = first
            }
            try? await Task.sleep(for: retryInterval)
        }
    }

    static func members(in data: Data) -> [NodeRuntime.MemberInfo] {
        guard let object = JSONDocument.object(data),
              let list = object["members"] as? [[String: Any]] else { return [] }
        return list.compactMap { item in
            guard let id = item["id"] as? String,
                  let raft = (item["raft_addr"] as? String).flatMap(HostPort.init(parsing:)),
                  let api = (item["api_addr"] as? String).flatMap(HostPort.init(parsing:)) else { return nil }
            return NodeRuntime.MemberInfo(id: NodeID(id), address: MemberAddress(raft: raft, api: api))
        }
    }
}
