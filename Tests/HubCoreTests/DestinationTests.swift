import HubCore
import Testing

@Suite struct DestinationTests {
    @Test func aDestinationIsReadBackFromTheNameItsRowCarries() {
        let all: [Destination] = [
            .webhook(institutionId: "ins-1"), .escalation(institutionId: "ins-1"), .peer(hubId: "hub-b:2"), .url,
        ]
        for destination in all {
            #expect(Destination(destination.description) == destination)
        }
        #expect(Destination.webhook(institutionId: "ins-1").description == "webhook:ins-1")
        #expect(Destination.peer(hubId: "hub-b").description == "peer:hub-b")
        // A peer id keeps everything after the first colon.
        #expect(Destination("peer:a:b") == .peer(hubId: "a:b"))
    }

    @Test func aNameNoHubWritesIsNoDestination() {
        #expect(Destination("mailto:someone") == nil)
        #expect(Destination("") == nil)
        #expect(Destination("webhook") == nil)
        #expect(Destination("url:https://example.org") == nil)
    }
}
