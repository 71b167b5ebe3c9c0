import Foundation
import NIOCore

/// The dashboard's files (HTML, CSS, JavaScript modules), read once from the SwiftPM resource
/// bundle. They are small, and holding them in memory keeps serving free of file-system paths.
public struct DashboardAssets: Sendable {
    public struct Asset: Sendable {
        public var body: ByteBuffer
        public var contentType: String
    }

    private let files: [String: Asset]

    public init(files: [String: Asset]) {
        self.files = files
    }

    /// Loads every file under `directory`, keyed by its path relative to it ("js/app.js").
    public static func load(from directory: URL) throws -> DashboardAssets {
        let root = directory.standardizedFileURL.resolvingSymlinksInPath()
        guard let enumerator = FileManager.default.enumerator(at: root, includingPropertiesForKeys: [.isRegularFileKey]) else {
            throw SpawnError(description: "cannot read dashboard files in \(root.path)")
        }
        var files: [String: Asset] = [:]
        for case let url as URL in enumerator {
            guard (try? url.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true else { continue }
            let path = url.standardizedFileURL.resolvingSymlinksInPath().path
            guard path.hasPrefix(root.path + "/") else { continue }
            let name = String(path.dropFirst(root.path.count + 1))
            let data = try Data(contentsOf: url)
            files[name] = Asset(body: ByteBuffer(bytes: data), contentType: contentType(for: name))
        }
        guard files["index.html"] != nil else {
            throw SpawnError(description: "dashboard files in \(root.path) lack index.html")
        }
        return DashboardAssets(files: files)
    }

    /// The files bundled with the Launcher module (`Sources/Launcher/Dashboard`).
    public static func bundled() throws -> DashboardAssets {
        guard let url = Bundle.module.url(forResource: "Dashboard", withExtension: nil) else {
            throw SpawnError(description: "the Dashboard resource is missing from \(Bundle.module.bundlePath)")
        }
        return try load(from: url)
    }

    public func asset(named name: String) -> Asset? { files[name] }

    public var names: [String] { files.keys.sorted() }

    static func contentType(for name: String) -> String {
        switch name.split(separator: ".").last.map(String.init) ?? "" {
        case "html": "text/html; charset=utf-8"
        case "css": "text/css; charset=utf-8"
        case "js", "mjs": "text/javascript; charset=utf-8"
        case "svg": "image/svg+xml"
        case "json": "application/json"
        case "png": "image/png"
        default: "application/octet-stream"
        }
    }
}
