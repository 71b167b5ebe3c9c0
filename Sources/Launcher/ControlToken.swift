import Foundation

/// Reads `--control-token-file` once, at start. The launcher refuses to start rather than
/// run with a token others can read or with none at all: either would leave the operator
/// believing the control API is closed when it is not.
package enum ControlToken {
    package static func read(path: String) throws -> String {
        var info = stat()
        guard stat(path, &info) == 0 else {
            throw Launcher.StartupError(description: "--control-token-file \(path): \(String(cString: strerror(errno)))")
        }
        guard info.st_mode & 0o077 == 0 else {
            throw Launcher.StartupError(description: "--control-token-file \(path) can be read by other users; chmod 600 it")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw Launcher.StartupError(description: "--control-token-file \(path) cannot be read")
        }
        let token = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard !token.isEmpty else { throw Launcher.StartupError(description: "--control-token-file \(path) is empty") }
        // Sent in a header and compared as bytes: visible ASCII only, no spaces.
        guard token.utf8.allSatisfy({ (0x21...0x7E).contains($0) }) else {
            throw Launcher.StartupError(description: "--control-token-file \(path): the token must be printable ASCII without spaces")
        }
        return token
    }
}
