import FoundationEssentials
import KVStore

/// `POST /txn`'s body (Docs/API.md, "Transactions"), read strictly: a field, target or
/// operation the API does not know is refused with a message naming where it is and what
/// would be accepted, never skipped, because a skipped comparison would let a transaction
/// apply that its author meant to guard.
struct TxnBody: Decodable {
    var request: TxnRequest

    /// Parses and checks a body: limits, types, keys.
    static func parse(_ data: Data) -> Result<TxnRequest, APIFailure> {
        let body: TxnBody
        do {
            body = try JSONDecoder().decode(TxnBody.self, from: data)
        } catch let failure as APIFailure {
            return .failure(failure)
        } catch let error as DecodingError {
            if case .typeMismatch(_, let context) = error, context.codingPath.isEmpty {
                return .failure(APIFailure(400, "the request body must be a JSON object with compare, success and failure"))
            }
            return .failure(APIFailure(400, "the request body is not valid JSON"))
        } catch {
            return .failure(APIFailure(400, "the request body is not valid JSON"))
        }
        do {
            try body.request.validate()
        } catch {
            return .failure(APIFailure(400, "invalid transaction: \(error)"))
        }
        return .success(body.request)
    }

    init(from decoder: any Decoder) throws {
        let fields = try decoder.container(keyedBy: JSONKey.self)
        try fields.allowOnly(["compare", "success", "failure"], in: "the transaction")
        request = TxnRequest(compare: try fields.list("compare", of: CompareJSON.self).map(\.compare),
                             success: try fields.list("success", of: OperationJSON.self).map(\.operation),
                             failure: try fields.list("failure", of: OperationJSON.self).map(\.operation))
    }
}

/// One entry of `compare`: `{"key","target","op","value"}`.
private struct CompareJSON: Decodable {
    var compare: TxnCompare

    init(from decoder: any Decoder) throws {
        let fields = try decoder.container(keyedBy: JSONKey.self)
        let at = JSONKey.describe(decoder.codingPath)
        try fields.allowOnly(["key", "target", "op", "value"], in: at)
        let key = try fields.string("key", in: at)
        let target: TxnCompare.Target
        let targetName = try fields.string("target", in: at)
        switch targetName {
        case "revision": target = .revision
        case "create_revision": target = .createRevision
        case "version": target = .version
        case "value": target = .value
        case let other:
            throw APIFailure(400, "\(at).target \"\(other)\" is unknown: use revision, create_revision, version or value")
        }
        let relation: TxnCompare.Relation
        switch try fields.string("op", in: at) {
        case "==": relation = .equal
        case "!=": relation = .notEqual
        case "<": relation = .less
        case ">": relation = .greater
        case let other: throw APIFailure(400, "\(at).op \"\(other)\" is unknown: use ==, !=, < or >")
        }
        let operand: TxnCompare.Operand
        if target == .value {
            operand = .bytes(Array(try fields.string("value", in: at).utf8))
        } else {
            guard fields.contains(JSONKey("value")) else { throw APIFailure(400, "\(at) needs a \"value\"") }
            guard let number = try? fields.decode(UInt64.self, forKey: JSONKey("value")) else {
                throw APIFailure(400, "\(at).value must be a whole number for the target \(targetName)")
            }
            operand = .number(number)
        }
        compare = TxnCompare(key: key, target: target, relation: relation, operand: operand)
    }
}

/// One entry of `success` or `failure`: put, delete, delete_prefix or get.
private struct OperationJSON: Decodable {
    var operation: TxnOperation

    init(from decoder: any Decoder) throws {
        let fields = try decoder.container(keyedBy: JSONKey.self)
        let at = JSONKey.describe(decoder.codingPath)
        switch try fields.string("op", in: at) {
        case "put":
            try fields.allowOnly(["op", "key", "value", "lease"], in: at)
            operation = .put(key: try fields.string("key", in: at), value: Array(try fields.string("value", in: at).utf8),
                             lease: try fields.lease(in: at))
        case "delete":
            try fields.allowOnly(["op", "key"], in: at)
            operation = .delete(key: try fields.string("key", in: at))
        case "delete_prefix":
            try fields.allowOnly(["op", "prefix"], in: at)
            operation = .deletePrefix(try fields.string("prefix", in: at))
        case "get":
            try fields.allowOnly(["op", "key"], in: at)
            operation = .get(key: try fields.string("key", in: at))
        case let other:
            throw APIFailure(400, "\(at).op \"\(other)\" is unknown: use put, delete, delete_prefix or get")
        }
    }
}

/// Any field name, so unknown fields can be found and named.
struct JSONKey: CodingKey {
    var stringValue: String
    var intValue: Int?

    init(_ name: String) { stringValue = name }
    init?(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) {
        stringValue = String(intValue)
        self.intValue = intValue
    }

    /// `success[2]` for the path to an entry.
    static func describe(_ path: [any CodingKey]) -> String {
        path.reduce(into: "") { text, key in
            if let index = key.intValue { text += "[\(index)]" } else { text += (text.isEmpty ? "" : ".") + key.stringValue }
        }
    }
}

extension KeyedDecodingContainer where K == JSONKey {
    func allowOnly(_ names: Set<String>, in place: String) throws {
        if let unknown = allKeys.first(where: { !names.contains($0.stringValue) }) {
            throw APIFailure(400, "\(place) has an unknown field \"\(unknown.stringValue)\": allowed are \(names.sorted().joined(separator: ", "))")
        }
    }

    func string(_ name: String, in place: String) throws -> String {
        guard contains(JSONKey(name)) else { throw APIFailure(400, "\(place) needs a \"\(name)\"") }
        guard let text = try? decode(String.self, forKey: JSONKey(name)) else {
            throw APIFailure(400, "\(place).\(name) must be a string")
        }
        return text
    }

    /// An optional list of at most `TxnRequest.maxEntries` entries.
    func list<Entry: Decodable>(_ name: String, of: Entry.Type) throws -> [Entry] {
        guard contains(JSONKey(name)), !((try? decodeNil(forKey: JSONKey(name))) ?? false) else { return [] }
        var entries = try nestedUnkeyedContainerOrFailure(name)
        if let count = entries.count, count > TxnRequest.maxEntries {
            throw APIFailure(400, "\(name) has \(count) entries; at most \(TxnRequest.maxEntries) are allowed")
        }
        var decoded: [Entry] = []
        while !entries.isAtEnd {
            do {
                decoded.append(try entries.decode(Entry.self))
            } catch let error as DecodingError {
                guard case .typeMismatch = error else { throw error }
                throw APIFailure(400, "\(name)[\(decoded.count)] must be a JSON object")
            }
        }
        return decoded
    }

    private func nestedUnkeyedContainerOrFailure(_ name: String) throws -> UnkeyedDecodingContainer {
        do {
            return try nestedUnkeyedContainer(forKey: JSONKey(name))
        } catch {
            throw APIFailure(400, "\(name) must be a list")
        }
    }

    /// A put's `lease`: a decimal string as the API gives ids, or a whole number; 0 or absent: none.
    func lease(in place: String) throws -> UInt64 {
        let key = JSONKey("lease")
        guard contains(key), !((try? decodeNil(forKey: key)) ?? false) else { return 0 }
        if let text = try? decode(String.self, forKey: key), let id = UInt64(text) { return id }
        if let id = try? decode(UInt64.self, forKey: key) { return id }
        throw APIFailure(400, "\(place).lease must be a lease id (a decimal string such as \"42\")")
    }
}
