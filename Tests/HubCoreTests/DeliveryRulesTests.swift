import HubCore
import Testing

@Suite struct RetryPolicyTests {
    @Test func delaysDoubleUpToTheCapWithJitterInTheUpperHalf() {
        let policy = RetryPolicy(maxAttempts: 10, baseDelayMilliseconds: 1000, maxDelayMilliseconds: 10_000)
        #expect(policy.delay(afterAttempt: 1, unit: 0) == 500)
        #expect(policy.delay(afterAttempt: 1, unit: 1) == 1000)
        #expect(policy.delay(afterAttempt: 3, unit: 1) == 4000)
        #expect(policy.delay(afterAttempt: 3, unit: 0) == 2000)
        #expect(policy.delay(afterAttempt: 9, unit: 1) == 10_000)
        #expect(policy.delay(afterAttempt: 1000, unit: 0.5) == 7500)
    }

    @Test(arguments: [
        (200, AttemptVerdict.delivered), (204, .delivered), (500, .retry), (503, .retry), (429, .retry), (408, .retry),
        (400, .refused), (404, .refused), (410, .refused),
    ])
    func statusDecidesTheVerdict(_ status: Int, _ verdict: AttemptVerdict) {
        #expect(RetryPolicy.verdict(status: status) == verdict)
    }

    @Test func transportFailuresAreRetried() {
        #expect(RetryPolicy.verdict(status: nil) == .retry)
    }
}

@Suite struct CircuitBreakerTests {
    @Test func opensAfterTheThresholdProbesOnceAfterCooldownAndClosesOnSuccess() {
        var breaker = CircuitBreaker(threshold: 3, cooldownMilliseconds: 1000)
        for t in 0..<2 { breaker.recordFailure(at: Int64(t)) }
        let allowedBeforeThreshold = breaker.allows(at: 10)
        #expect(allowedBeforeThreshold)
        breaker.recordFailure(at: 10)
        #expect(breaker.state(at: 11) == .open)
        let allowedWhileOpen = breaker.allows(at: 500)
        #expect(!allowedWhileOpen)
        #expect(breaker.state(at: 1010) == .halfOpen)
        let probe = breaker.allows(at: 1010)
        let secondProbe = breaker.allows(at: 1011)
        #expect(probe)
        #expect(!secondProbe, "only one probe at a time")
        breaker.recordFailure(at: 1020)
        #expect(breaker.state(at: 1500) == .open, "a failed probe opens the circuit again")
        let laterProbe = breaker.allows(at: 2020)
        #expect(laterProbe)
        breaker.recordSuccess()
        #expect(breaker.state(at: 2021) == .closed)
        let first = breaker.allows(at: 2021)
        let second = breaker.allows(at: 2021)
        #expect(first && second)
    }
}

@Suite struct CallbackURLTests {
    @Test(arguments: [
        "ftp://x", "http://", "https://user:pw@host/x", "http://host/ x", "javascript:alert(1)", "host/path",
    ])
    func badURLsAreRefused(_ url: String) {
        #expect(CallbackURL.problem(url, allowPlainHTTP: true) != nil)
        #expect(CallbackURL.problem(url, allowPlainHTTP: false) != nil)
    }

    @Test(arguments: ["https://clinic.example/hooks/hub", "HTTPS://Host:443"])
    func goodURLsPass(_ url: String) {
        #expect(CallbackURL.problem(url, allowPlainHTTP: false) == nil)
    }

    @Test(arguments: ["http://127.0.0.1:9000/hook", "HTTP://Host:80"])
    func plainHTTPPassesOnlyWhereAllowed(_ url: String) {
        #expect(CallbackURL.problem(url, allowPlainHTTP: true) == nil)
        #expect(CallbackURL.problem(url, allowPlainHTTP: false)?.contains("federation.allow_plain_http") == true)
    }
}
