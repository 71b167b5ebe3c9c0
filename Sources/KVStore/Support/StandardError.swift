#if canImport(Glibc)
import Glibc
private let systemWrite = Glibc.write
private let systemExit = Glibc.exit
#else
import Darwin
private let systemWrite = Darwin.write
private let systemExit = Darwin.exit
#endif

/// The last words of a process that stops on purpose (a failed disk, a bad flag), written
/// straight to descriptor 2: they must get out even when logging is what failed.
public enum StandardError {
    /// Writes `line` and ends the process with `status`: a logged exit, not a trap.
    public static func exit(_ line: String, status: Int32) -> Never {
        write(line)
        systemExit(status)
    }

    public static func write(_ line: String) {
        let bytes = Array((line.hasSuffix("\n") ? line : line + "\n").utf8)
        var written = 0
        while written < bytes.count {
            let n = bytes.withUnsafeBytes { buffer in
                // Never empty here: `written < bytes.count`.
                systemWrite(2, buffer.baseAddress.map { $0 + written }, buffer.count - written)
            }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return }
            written += n
        }
    }
}
