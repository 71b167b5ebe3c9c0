import HTTPTypes
import Hummingbird

/// `GET /api/events`: Server-Sent Events for the dashboard. The first event (`hello`) replays
/// the timeline, the throughput history and the latest snapshot; then `nodes` snapshots,
/// `timeline` entries and `throughput` samples follow as they happen.
enum EventRoutes {
    static func register(on router: Router<some RequestContext>, events: EventHub) {
        router.get("api/events") { _, _ in
            let stream = events.subscribe()
            return Response(
                status: .ok,
                headers: [
                    .contentType: "text/event-stream", .cacheControl: "no-cache",
                    HTTPField.Name("X-Accel-Buffering")!: "no",
                ],
                body: ResponseBody { writer in
                    // Tell EventSource to reconnect quickly after the launcher restarts.
                    try await writer.write(ByteBuffer(string: "retry: 1500\n\n"))
                    for await event in stream {
                        try await writer.write(ByteBuffer(string: event.encoded()))
                    }
                    try await writer.finish(nil)
                })
        }

        router.get("api/cluster") { _, _ in
            JSONResponse.make(events.latestSnapshot)
        }
        router.get("api/timeline") { _, _ in
            JSONResponse.make(events.timeline)
        }
    }
}
