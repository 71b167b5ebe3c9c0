import FoundationEssentials
import Hummingbird

/// Bodies of one whole-number field (`{"ttl_seconds":10}`, `{"revision":42}`), read with
/// `JSONDecoder` so `10.5`, `"10"`, `true` and numbers out of range are refused rather
/// than rounded or reinterpreted.
enum JSONIntegerBody {
    /// Such bodies are a few bytes: anything larger is not one (413).
    static let maxBytes = 4 << 10

    static func field<T: FixedWidthInteger & Decodable>(_ name: String, of type: T.Type, from request: Request,
                                                        meaning: String) async -> Result<T, APIFailure> {
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: maxBytes)
        } catch let error as HTTPResponseError where error.status == .contentTooLarge {
            return .failure(JSON.tooLarge(limit: maxBytes))
        } catch {
            return .failure(APIFailure(400, "the request body could not be read: \(error)"))
        }
        guard buffer.readableBytes > 0 else { return .failure(APIFailure(400, "send {\"\(name)\": \(meaning)}")) }
        let decoder = JSONDecoder()
        guard let nameKey = OneField<T>.nameKey else { return .failure(APIFailure(500, "no user info key")) }
        decoder.userInfo[nameKey] = name
        do {
            return .success(try decoder.decode(OneField<T>.self, from: Data(buffer.readableBytesView)).value)
        } catch let unknown as UnknownField {
            return .failure(APIFailure(400, "unknown field \"\(unknown.name)\": send {\"\(name)\": \(meaning)}"))
        } catch DecodingError.keyNotFound {
            return .failure(APIFailure(400, "the body needs a \"\(name)\" field: \(meaning)"))
        } catch DecodingError.typeMismatch(_, let context) where context.codingPath.isEmpty {
            return .failure(APIFailure(400, "the request body must be a JSON object: {\"\(name)\": \(meaning)}"))
        } catch DecodingError.typeMismatch, DecodingError.valueNotFound {
            return .failure(APIFailure(400, "\"\(name)\" must be \(meaning)"))
        } catch DecodingError.dataCorrupted(let context) where !context.codingPath.isEmpty {
            // A number out of range, such as a negative one for an unsigned field.
            return .failure(APIFailure(400, "\"\(name)\" must be \(meaning)"))
        } catch {
            return .failure(APIFailure(400, "the request body is not valid JSON"))
        }
    }

    private struct UnknownField: Error {
        var name: String
    }

    private struct OneField<T: FixedWidthInteger & Decodable>: Decodable {
        static var nameKey: CodingUserInfoKey? { CodingUserInfoKey(rawValue: "field") }
        var value: T

        init(from decoder: any Decoder) throws {
            let name = Self.nameKey.flatMap { decoder.userInfo[$0] as? String } ?? ""
            let fields = try decoder.container(keyedBy: Key.self)
            // Strict, as `POST /txn` is: a misspelt or extra field is a mistake to name, not to ignore.
            if let extra = fields.allKeys.first(where: { $0.stringValue != name }) { throw UnknownField(name: extra.stringValue) }
            value = try fields.decode(T.self, forKey: Key(stringValue: name))
        }

        struct Key: CodingKey {
            var stringValue: String
            var intValue: Int? { nil }
            init(stringValue: String) { self.stringValue = stringValue }
            init?(intValue: Int) { nil }
        }
    }
}
