import ArgumentParser
import Foundation

/// `-w`: how results are printed. `json` is the stable one for scripts (sorted keys, one
/// document per result, one line per watch event); `simple` reads like etcdctl; `table` aligns
/// columns for people.
enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    case simple
    case json
    case table
}

/// What a command prints, in each format: built once from the result, then rendered.
struct Output {
    var json: JSONValue
    var simple: [String]
    var table: Table?

    func render(_ format: OutputFormat) -> String {
        switch format {
        case .json: json.rendered
        case .simple: simple.joined(separator: "\n")
        case .table: table?.rendered ?? simple.joined(separator: "\n")
        }
    }

    /// Writes straight to file descriptor 1, unbuffered: a watch event or a lock's key must
    /// reach a pipe when it happens, not when a buffer fills.
    func print(_ format: OutputFormat) {
        let text = render(format)
        if !text.isEmpty { FileHandle.standardOutput.write(Data((text + "\n").utf8)) }
    }
}
