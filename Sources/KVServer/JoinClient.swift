import Foundation
import NodeRuntime
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import KVStore
import Logging
import RaftCore

/// Asks the cluster to admit this node: POSTs `/cluster/join` to the given member every
/// few seconds, following redirects to the leader, until it is admitted.
struct JoinClient {
    let runtime: NodeRuntime
    let target: HostPort
    let logger: Logger
    var retryInterval: Duration = .seconds(2)
    /// Longest wait for one attempt's answer, whatever URLSession does with its own timeout.
    var attemptTimeout: Duration = .seconds(10)

    func run() async {
        let config = runtime.config
        let body: [String: String] = ["id": config.id.rawValue, "raft_addr": config.address.raft.description,
                                      "api_addr": config.address.api.description]
        var url = URL(string: "http://\(target)/cluster/join")!
        while !Task.isCancelled {
            if await runtime.status().isMember {
                logger.notice("admitted to the cluster")
                return
            }
            do {
                var request = URLRequest(url: url, timeoutInterval: TimeInterval(attemptTimeout.components.seconds))
                request.httpMethod = "POST"
                request.setValue("application/json", forHTTPHeaderField: "Content-Type")
                request.httpBody = try JSONSerialization.data(withJSONObject: body)
                let (data, response) = try await Deadline.run(within: attemptTimeout) { [request] in
                    try await Self.session.data(for: request)
                }
                let status = (response as? HTTPURLResponse)?.statusCode ?? 0
                if status == 200 {
                    await runtime.learnPeers(Self.members(in: data))
                    logger.notice("join accepted; catching up as a learner", metadata: ["via": "\(url)"])
                    return
                }
                if status == 307, let location = (response as? HTTPURLResponse)?.value(forHTTPHeaderField: "Location"),
                   let next = URL(string: location) {
                    url = next
                    continue
                }
                logger.warning("join refused; retrying", metadata: ["status": "\(status)", "body": "\(String(decoding: data, as: UTF8.self))"])
            } catch {
                logger.info("join attempt failed; retrying", metadata: ["target": "\(url)", "error": "\(error.localizedDescription)"])
                url = URL(string: "http://\(target)/cluster/join")!
            }
            try? await Task.sleep(for: retryInterval)
        }
    }

    /// A session that hands redirects back to us: URLSession would re-send a redirected
    /// POST without its body.
    static let session = URLSession(configuration: .ephemeral, delegate: RedirectRefuser(), delegateQueue: nil)

    static func members(in data: Data) -> [NodeRuntime.MemberInfo] {
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let list = object["members"] as? [[String: Any]] else { return [] }
        return list.compactMap { item in
            guard let id = item["id"] as? String,
                  let raft = (item["raft_addr"] as? String).flatMap(HostPort.init(parsing:)),
                  let api = (item["api_addr"] as? String).flatMap(HostPort.init(parsing:)) else { return nil }
            return NodeRuntime.MemberInfo(id: NodeID(id), address: MemberAddress(raft: raft, api: api))
        }
    }
}

private final class RedirectRefuser: NSObject, URLSessionTaskDelegate, Sendable {
    func urlSession(_ session: URLSession, task: URLSessionTask, willPerformHTTPRedirection response: HTTPURLResponse,
                    newRequest request: URLRequest, completionHandler: @escaping @Sendable (URLRequest?) -> Void) {
        completionHandler(nil)
    }
}
