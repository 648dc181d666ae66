import CurlHTTP
import Foundation
import HubStorage

/// How a failed exchange with a peer is described to operators: in a peer's status, a check's evidence, an error.
public enum PeerFailure {
    /// An answer other than the one expected: its HTTP status, and the `detail` of its problem document if it has one.
    public static func status(_ status: Int, body: [UInt8]) -> String {
        "HTTP \(status)\(problemDetail(body).map { ": \($0)" } ?? "")"
    }

    /// What a failure description reads of a problem document (RFC 9457).
    struct Problem: Decodable {
        var detail: String?
    }

    /// The `detail` of a problem document.
    public static func problemDetail(_ body: [UInt8]) -> String? {
        (try? HubJSON.decode(Problem.self, from: body))?.detail
    }

    /// A request that got no usable answer: libcurl's error, or an answer that is not `expected` (the document
    /// asked for, e.g. "a recognition query answer").
    public static func describe(_ error: any Error, expected: String) -> String {
        if let curl = error as? CurlHTTPError { return "\(curl)" }
        if error is DecodingError { return "the answer is not \(expected)" }
        return "\(error)"
    }
}
