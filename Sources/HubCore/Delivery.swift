/// Where a delivery stands. `pending` waits for its next attempt, `in_flight` is being sent, `delivered` got a 2xx,
/// `dead` failed for good (permanent refusal or out of attempts) and waits for an operator to replay it.
public enum DeliveryState: String, Sendable, Codable, CaseIterable, ClosedSet {
    case pending
    case inFlight = "in_flight"
    case delivered
    case dead
}

/// What one attempt's answer means for the delivery.
public enum AttemptVerdict: Sendable, Equatable {
    case delivered
    /// Worth trying again later (network failure, 5xx, 408, 425, 429).
    case retry
    /// The receiver refused it for good (other 4xx): retrying would only repeat the refusal.
    case refused
}

/// Exponential backoff with full jitter, and the rule for which answers are retried.
public struct RetryPolicy: Sendable, Equatable {
    /// Attempts before a delivery is dead.
    public var maxAttempts: Int
    /// Delay before the second attempt, before jitter.
    public var baseDelayMilliseconds: Int64
    /// Longest delay between two attempts.
    public var maxDelayMilliseconds: Int64

    public init(maxAttempts: Int = 12, baseDelayMilliseconds: Int64 = 1000, maxDelayMilliseconds: Int64 = 600_000) {
        self.maxAttempts = maxAttempts
        self.baseDelayMilliseconds = baseDelayMilliseconds
        self.maxDelayMilliseconds = maxDelayMilliseconds
    }

    /// The wait after failed attempt number `attempt` (1-based): uniformly random in [cap/2, cap] where
    /// cap = min(max, base·2^(attempt-1)). Half the window is kept so retries never bunch at zero.
    public func delay(afterAttempt attempt: Int, unit: Double) -> Int64 {
        var ceiling = min(baseDelayMilliseconds, maxDelayMilliseconds)
        var doublings = attempt - 1
        while doublings > 0 && ceiling < maxDelayMilliseconds {
            ceiling = min(maxDelayMilliseconds, ceiling * 2)
            doublings -= 1
        }
        let half = ceiling / 2
        return half + Int64((Double(ceiling - half) * min(max(unit, 0), 1)).rounded())
    }

    public static func verdict(status: Int?) -> AttemptVerdict {
        guard let status else { return .retry }
        switch status {
        case 200..<300: return .delivered
        case 408, 425, 429: return .retry
        case 400..<500: return .refused
        default: return .retry
        }
    }
}

/// A per-destination circuit breaker: after `threshold` consecutive failures the destination is skipped for
/// `cooldown`, then one probe is let through; its success closes the circuit, its failure opens it again.
public struct CircuitBreaker: Sendable, Equatable {
    public enum State: String, Sendable, Codable {
        case closed, open
        case halfOpen = "half_open"
    }

    public var threshold: Int
    public var cooldownMilliseconds: Int64
    public private(set) var consecutiveFailures = 0
    public private(set) var openedAt: Int64?
    public private(set) var probing = false

    public init(threshold: Int = 5, cooldownMilliseconds: Int64 = 30_000) {
        self.threshold = threshold
        self.cooldownMilliseconds = cooldownMilliseconds
    }

    public func state(at now: Int64) -> State {
        guard let openedAt else { return .closed }
        return now - openedAt >= cooldownMilliseconds ? .halfOpen : .open
    }

    /// Whether an attempt may start now; in half-open state only one probe at a time.
    public mutating func allows(at now: Int64) -> Bool {
        switch state(at: now) {
        case .closed: return true
        case .open: return false
        case .halfOpen:
            if probing { return false }
            probing = true
            return true
        }
    }

    public mutating func recordSuccess() {
        consecutiveFailures = 0
        openedAt = nil
        probing = false
    }

    public mutating func recordFailure(at now: Int64) {
        consecutiveFailures += 1
        probing = false
        if openedAt != nil || consecutiveFailures >= threshold { openedAt = now }
    }
}
