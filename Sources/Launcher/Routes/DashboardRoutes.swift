import Hummingbird

/// Serves the dashboard's files. Only names found in the bundle at start-up are served, so no
/// request path is ever joined onto a file-system path.
enum DashboardRoutes {
    static func register(on router: Router<some RequestContext>, assets: DashboardAssets) {
        let serve: @Sendable (String) -> Response = { name in
            guard let asset = assets.asset(named: name) else {
                return JSONResponse.error(.notFound("no such file: \(name)"))
            }
            return Response(
                status: .ok,
                headers: [.contentType: asset.contentType, .cacheControl: "no-cache"],
                body: ResponseBody(byteBuffer: asset.body))
        }
        router.get("/") { _, _ in serve("index.html") }
        router.get("index.html") { _, _ in serve("index.html") }
        router.get("favicon.svg") { _, _ in serve("favicon.svg") }
        router.get("css/{file}") { _, context in serve("css/" + (context.parameters.get("file") ?? "")) }
        router.get("js/{file}") { _, context in serve("js/" + (context.parameters.get("file") ?? "")) }
    }
}
