import Foundation

/// A stand-in kv-node executable for supervisor tests: a shell script that prints its
/// arguments, exits 0 on SIGTERM like the real node, and exits with the code written to
/// `<data-dir>/exit-code` when that file appears (a crash on demand). It also exits once the
/// test's data directory is gone: a test that throws before it stops its launcher still
/// removes its directory, and its nodes then end instead of looping for ever.
enum FakeKVNode {
    static let script = """
        #!/bin/sh
        echo "fake-kv-node $*"
        dir=""
        while [ $# -gt 0 ]; do
          if [ "$1" = "--data-dir" ]; then dir="$2"; fi
          shift
        done
        root=$(dirname "$dir")
        trap 'echo "fake-kv-node: SIGTERM"; exit 0' TERM
        while :; do
          if [ -f "$dir/exit-code" ]; then code=$(cat "$dir/exit-code"); rm -f "$dir/exit-code"; exit "$code"; fi
          if [ ! -d "$root" ]; then exit 0; fi
          sleep 0.05
        done

        """

    /// Writes the script into `directory` and returns its path. The file is opened
    /// close-on-exec: a write descriptor inherited by a process another test is forking at
    /// that moment would make exec of the script fail with ETXTBSY.
    static func install(in directory: URL) throws -> String {
        let path = directory.appendingPathComponent("fake-kv-node").path
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o755)
        guard fd >= 0 else { throw CocoaError(.fileWriteUnknown) }
        defer { close(fd) }
        let bytes = Array(script.utf8)
        guard write(fd, bytes, bytes.count) == bytes.count else { throw CocoaError(.fileWriteUnknown) }
        return path
    }
}
