/// A text table with a header row, columns padded to their widest cell, as etcdctl's `-w table`.
struct Table {
    var header: [String]
    var rows: [[String]]

    var rendered: String {
        let widths = header.indices.map { column in
            ([header[column]] + rows.map { column < $0.count ? $0[column] : "" }).map(\.count).max() ?? 0
        }
        let rule = "+" + widths.map { String(repeating: "-", count: $0 + 2) }.joined(separator: "+") + "+"
        func line(_ cells: [String]) -> String {
            "|" + widths.indices.map { column in
                let cell = column < cells.count ? cells[column] : ""
                return " " + cell + String(repeating: " ", count: widths[column] - cell.count) + " "
            }.joined(separator: "|") + "|"
        }
        return ([rule, line(header.map { $0.uppercased() }), rule] + rows.map(line) + [rule]).joined(separator: "\n")
    }
}
