import HubCore

/// The one place a failure's kind becomes an HTTP status.
extension HubError.Kind {
    var httpStatus: Int {
        switch self {
        case .invalid: 422
        case .malformed: 400
        case .notFound: 404
        case .unauthenticated: 401
        case .forbidden: 403
        case .conflict: 409
        case .tooLarge: 413
        case .unsupportedFormat: 415
        case .notAcceptable: 406
        case .notYet: 425
        case .unavailable: 503
        case .peerFailed: 502
        case .internal: 500
        }
    }
}

extension HubError {
    /// The HTTP status of this failure.
    var status: Int { kind.httpStatus }
}
