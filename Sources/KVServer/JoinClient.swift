import FoundationEssentials
import KVStore
import Logging
import NIOCore
import NIOHTTP1
import NIOSSL
import NodeRuntime
import RaftCore

/// Asks the cluster to admit this node: POSTs `/cluster/join` to the given member every
/// few seconds, following redirects to the leader, until it is admitted.
struct JoinClient {
    let runtime: NodeRuntime
    let target: JoinTarget
    /// Where the requests' connections run (the node's event loop).
    let group: any EventLoopGroup
    let logger: Logger
    var retryInterval: Duration = .seconds(2)
    /// Longest wait for one attempt's answer.
    var attemptTimeout: Duration = .seconds(10)
    /// Largest answer read: a members list, never more than a few kilobytes.
    static let maxAnswerBytes = 1 << 20

    func run() async {
        let tls: NIOSSLContext?
        do {
            tls = target.usesTLS ? try NIOSSLContext(configuration: try target.tlsConfiguration()) : nil
        } catch {
            // Checked at start-up already (kv-node exits 2); a file changed since is reported.
            logger.error("cannot join: the TLS files for --join are unusable", metadata: ["error": "\(error)"])
            return
        }
        await join(using: JoinRequest(group: group, tls: tls, timeout: TimeAmount(attemptTimeout),
                                      maxAnswerBytes: Self.maxAnswerBytes))
    }

    private func join(using client: JoinRequest) async {
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
                guard let endpoint = JoinRequest.Endpoint(url: url) else { throw JoinRequest.Failure.closedBeforeTheAnswer }
                var headers = HTTPHeaders()
                headers.add(name: "Content-Type", value: "application/json")
                if let authorization = target.authorization { headers.add(name: "Authorization", value: authorization) }
                let response = try await client.post(endpoint, headers: headers, body: Array(try JSONEncoder().encode(body)))
                let data = Data(response.body.readableBytesView)
                if response.status == .ok {
                    await runtime.learnPeers(Self.members(in: data))
                    logger.notice("join accepted; catching up as a learner", metadata: ["via": "\(url)"])
                    return
                }
                // To the leader, never from https down to http (the credentials go along).
                if response.status == .temporaryRedirect, let location = response.location,
                   let next = JoinRequest.Endpoint(url: location), next.usesTLS == target.usesTLS {
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
