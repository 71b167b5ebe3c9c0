import Foundation
import Logging

/// Finds the kv-node executable beside the launcher's own, building it with SwiftPM when it
/// is missing (`swift run kv-launcher` builds only the launcher).
public enum KVNodeLocator {
    public struct NotFound: Error, CustomStringConvertible {
        public var description: String
    }

    /// The directory of the running executable, from /proc/self/exe (argv[0] may be relative or a symlink).
    public static func executableDirectory() -> URL {
        if let path = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            return URL(fileURLWithPath: path).deletingLastPathComponent()
        }
        return URL(fileURLWithPath: CommandLine.arguments[0]).standardizedFileURL.deletingLastPathComponent()
    }

    public static func locate(explicit: String?, logger: Logger) async throws -> String {
        if let explicit {
            guard FileManager.default.isExecutableFile(atPath: explicit) else {
                throw NotFound(description: "--kv-node \(explicit) is not an executable file")
            }
            return URL(fileURLWithPath: explicit).standardizedFileURL.path
        }
        let directory = executableDirectory()
        let candidate = directory.appendingPathComponent("kv-node").path
        if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }

        guard let package = packageRoot(startingAt: [directory, URL(fileURLWithPath: FileManager.default.currentDirectoryPath)]) else {
            throw NotFound(description: "kv-node is not beside \(directory.path) and no Package.swift was found to build it")
        }
        logger.notice("kv-node not found beside the launcher; building it in \(package.path) (this can take a few minutes)")
        var arguments = ["build", "--package-path", package.path, "--product", "kv-node"]
        // Build into the same folder the launcher came from: .build/<triple>/<configuration>/.
        let configuration = directory.lastPathComponent
        if configuration == "release" { arguments += ["-c", "release"] }
        let scratch = directory.deletingLastPathComponent().deletingLastPathComponent()
        if scratch.lastPathComponent.hasPrefix(".build") { arguments += ["--scratch-path", scratch.path] }
        let swift = swiftExecutable()
        let pid = try ProcessSpawner.spawn(executable: swift, arguments: arguments, logPath: nil, ownProcessGroup: false)
        let status = await ProcessSpawner.waitForExit(pid)
        guard status == .exited(0) else {
            throw NotFound(description: "`swift \(arguments.joined(separator: " "))` failed (\(status))")
        }
        if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        throw NotFound(description: "swift build finished but \(candidate) does not exist")
    }

    /// The nearest directory at or above one of `starts` that holds Package.swift.
    static func packageRoot(startingAt starts: [URL]) -> URL? {
        for start in starts {
            var url = start.standardizedFileURL
            while true {
                if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) { return url }
                let parent = url.deletingLastPathComponent()
                if parent.path == url.path { break }
                url = parent
            }
        }
        return nil
    }

    private static func swiftExecutable() -> String {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for directory in path.split(separator: ":") {
            let candidate = "\(directory)/swift"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return "/usr/bin/swift"
    }
}
