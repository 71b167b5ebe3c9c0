@testable import kvctl
import Testing

/// Global flags written before the command, as etcdctl users write them.
@Suite("GlobalOptions.hoisted")
struct ArgumentHoistingTests {
    @Test("global flags before the command move after it, before any --")
    func hoisted() {
        #expect(GlobalOptions.hoisted(["--endpoints", "a:1", "-w", "json", "get", "k"]) == ["get", "k", "--endpoints", "a:1", "-w", "json"])
        #expect(GlobalOptions.hoisted(["--endpoints=a:1", "--insecure-skip-hostname-verify", "lock", "n", "--", "sh", "-w"])
                == ["lock", "n", "--endpoints=a:1", "--insecure-skip-hostname-verify", "--", "sh", "-w"])
    }

    @Test("anything else is left as written", arguments: [
        [String](), ["get", "k", "--endpoints", "a:1"], ["--endpoints"], ["--bogus", "--endpoints", "a:1", "get"], ["--", "--endpoints", "x"],
        ["-w"], ["--user=", "--"],
    ])
    func untouched(_ arguments: [String]) {
        #expect(GlobalOptions.hoisted(arguments) == arguments)
    }
}
