import Foundation
import HubCore
import HubFederation
import HubStore
import Synchronization
import Testing

/// A resolver the test controls: what each name resolves to now.
final class ScriptedResolver: Sendable {
    private let answers = Mutex<[String: [String]]>([:])

    func set(_ host: String, _ addresses: [String]) { answers.withLock { $0[host] = addresses } }

    var resolver: OutboundAddressPolicy.Resolver {
        { host in
            guard let found = self.answers.withLock({ $0[host] }) else {
                throw OutboundNameUnresolved(host: host, detail: "not in the test's table")
            }
            return found
        }
    }
}

/// Webhook, escalation and peer URLs that reach the hub's own machine or internal network are refused when saved and
/// at every delivery; only admins and an institution's integration administrators set its webhook.
@Suite struct OutboundAddressTests {
    /// Every internal form, with the kind the refusal names.
    static let internalURLs: [(String, String)] = [
        ("http://127.0.0.1:9/hook", "loopback"),
        ("http://127.8.9.10/hook", "loopback"),
        ("http://[::1]:8080/hook", "loopback"),
        ("http://169.254.169.254/latest/meta-data/", "cloud metadata"),
        ("http://169.254.10.20/hook", "link-local"),
        ("http://[fe80::1]/hook", "link-local"),
        ("http://[febf::1]/hook", "link-local"),
        ("http://10.1.2.3/hook", "private (10.0.0.0/8)"),
        ("http://172.16.0.1/hook", "private (172.16.0.0/12)"),
        ("http://172.31.255.255/hook", "private (172.16.0.0/12)"),
        ("http://192.168.1.1/hook", "private (192.168.0.0/16)"),
        ("http://[fc00::1]/hook", "private (fc00::/7)"),
        ("http://[fd12:3456::1]/hook", "private (fc00::/7)"),
        ("http://[fd00:ec2::254]/hook", "cloud metadata"),
        ("http://100.64.0.1/hook", "shared (100.64.0.0/10, CGNAT)"),
        ("http://100.127.255.254/hook", "shared (100.64.0.0/10, CGNAT)"),
        ("http://100.100.100.200/latest/meta-data/", "cloud metadata"),
        ("http://0.0.0.0:8080/hook", "unspecified"),
        ("http://[::]/hook", "unspecified"),
        ("http://224.0.0.1/hook", "multicast"),
        ("http://[ff02::1]/hook", "multicast"),
        ("http://255.255.255.255/hook", "broadcast"),
        ("http://[::ffff:127.0.0.1]/hook", "loopback"),
        ("http://[::ffff:7f00:1]/hook", "loopback"),
        ("http://[::ffff:169.254.169.254]/hook", "cloud metadata"),
        ("http://[::ffff:10.0.0.1]/hook", "private (10.0.0.0/8)"),
        ("http://[::ffff:192.168.0.1]/hook", "private (192.168.0.0/16)"),
        ("https://[0:0:0:0:0:ffff:100.64.1.1]/hook", "shared (100.64.0.0/10, CGNAT)"),
        // Names, resolved by the system: localhost, and numeric forms getaddrinfo reads as 127.0.0.1.
        ("http://localhost:8080/hook", "loopback"),
        ("HTTP://LocalHost./hook", "loopback"),
        ("http://2130706433/hook", "loopback"),
        ("http://127.1/hook", "loopback"),
    ]

    /// Neighbours of the ranges, which are public.
    static let publicURLs = [
        "https://203.0.113.10/hook", "http://172.32.0.1/hook", "http://172.15.255.255/hook", "http://100.128.0.1/hook",
        "http://100.63.255.255/hook", "http://192.169.0.1/hook", "http://11.0.0.1/hook", "https://[2001:db8::1]/hook",
        "http://[::ffff:203.0.113.10]/hook",
    ]

    func closedHub() throws -> TestHub {
        var hub = try fastOutboxHub()
        hub.config.outboundAllowInternalAddresses = false
        return hub
    }

    @Test func internalAddressesAreRefusedWhenAWebhookIsSaved() async throws {
        let hub = try closedHub()
        defer { hub.remove() }
        try await hub.run { hub in
            try await hub.institution("clinic")
            let secret = "s3cret-shared-with-the-clinic"
            for (url, kind) in Self.internalURLs {
                let reply = try await hub.call(
                    .put, "/v1/institutions/clinic/webhook", token: hub.admin, json: ["url": url, "secret": secret])
                #expect(reply.status == 422, "\(url): \(reply.text)")
                #expect(reply["field"] == "url", "\(url)")
                #expect(reply.text.contains(kind), "\(url) is named \(kind): \(reply.text)")
                let escalation = try await hub.call(
                    .put, "/v1/institutions/clinic/webhook", token: hub.admin,
                    json: ["url": "https://203.0.113.10/hook", "escalation_url": url, "secret": secret])
                #expect(escalation.status == 422, "\(url): \(escalation.text)")
                #expect(escalation["field"] == "escalation_url", "\(url)")
            }
            let none = try await hub.get("/v1/institutions/clinic/webhook", token: hub.admin)
            #expect(none.status == 404, "nothing was saved")
            for url in Self.publicURLs {
                let reply = try await hub.call(
                    .put, "/v1/institutions/clinic/webhook", token: hub.admin, json: ["url": url, "secret": secret])
                #expect(reply.status == 200, "\(url): \(reply.text)")
            }
        }
    }

    @Test func internalAddressesAreRefusedWhenAPeerIsSaved() async throws {
        let hub = try closedHub()
        defer { hub.remove() }
        try await hub.run { hub in
            let key = try await hub.get("/federation/v1/identity")["public_key"]!
            for (url, kind) in Self.internalURLs.prefix(8) + Self.internalURLs.suffix(4) {
                let reply = try await hub.call(
                    .post, "/v1/peers", token: hub.admin,
                    json: ["id": "hub-other", "url": url, "public_key": key, "region": "420100"])
                #expect(reply.status == 422, "\(url): \(reply.text)")
                #expect(reply["field"] == "url", "\(url)")
                #expect(reply.text.contains(kind), "\(url): \(reply.text)")
            }
            let peers = try await hub.get("/v1/peers", token: hub.admin)
            #expect(peers.items.isEmpty)
        }
    }

    @Test func aNameThatResolvesInternallyAtDeliveryIsRefusedThen() async throws {
        let receiver = TestReceiver()
        try await receiver.start()
        defer { Task { await receiver.stop() } }
        let names = ScriptedResolver()
        var hub = try closedHub()
        hub.outboundResolver = names.resolver
        defer { hub.remove() }
        try await hub.run { hub in
            try await hub.institution("clinic")
            // Public when saved…
            names.set("receiver.rebind.test", ["203.0.113.7"])
            try await hub.registerWebhook("clinic", url: "http://receiver.rebind.test:\(receiver.port)/hook")
            // …loopback (where the receiver is) by the time the delivery leaves.
            names.set("receiver.rebind.test", ["203.0.113.7", "127.0.0.1"])
            let id = try await hub.ping("clinic")
            #expect(try await TestReceiver.eventually { try await hub.delivery(id).state == .dead })
            let delivery = try await hub.delivery(id)
            #expect(delivery.attempts == 1, "refused for its address, not retried as if the network were down")
            let error = try #require(delivery.lastError)
            #expect(error.contains("refused") && error.contains("127.0.0.1") && error.contains("loopback"), "\(error)")
            #expect(receiver.all.isEmpty, "nothing reached the internal address")
        }
    }

    @Test func aDeliveryConnectsOnlyToTheAddressChecked() async throws {
        let receiver = TestReceiver()
        try await receiver.start()
        defer { Task { await receiver.stop() } }
        let names = ScriptedResolver()
        // Loopback is allowed here (the receiver is on it); the name exists only in the test's table, so the
        // delivery arrives only if libcurl connects to the address checked instead of looking the name up itself.
        var hub = try fastOutboxHub()
        hub.outboundResolver = names.resolver
        defer { hub.remove() }
        names.set("receiver.pinned.test", ["127.0.0.1"])
        try await hub.run { hub in
            try await hub.institution("clinic")
            try await hub.registerWebhook("clinic", url: "http://receiver.pinned.test:\(receiver.port)/hook")
            let id = try await hub.ping("clinic")
            #expect(try await TestReceiver.eventually { try await hub.delivery(id).state == .delivered })
            // At least once: an attempt whose answer came too late for a loaded machine is made again, with the same
            // idempotency key.
            #expect(!receiver.all.isEmpty)
            #expect(Set(receiver.all.map(\.idempotencyKey)).count == 1)
        }
    }

    @Test func onlyAdminsAndTheInstitutionsIntegrationAdministratorSetItsWebhook() async throws {
        try await withHub { hub in
            try await hub.institution("clinic")
            try await hub.institution("other")
            let (_, clinicUser) = try await hub.practitioner(at: "clinic", roles: ["clinic"])
            let (_, integration) = try await hub.practitioner(at: "clinic", roles: ["integration_admin"])
            let (_, otherIntegration) = try await hub.practitioner(at: "other", roles: ["integration_admin"])
            let body: [String: Any] = ["url": "https://203.0.113.10/hook", "secret": "s3cret-shared-with-the-clinic"]
            let path = "/v1/institutions/clinic/webhook"

            let byClinic = try await hub.call(.put, path, token: clinicUser, json: body)
            #expect(byClinic.status == 403, "\(byClinic.text)")
            let byOther = try await hub.call(.put, path, token: otherIntegration, json: body)
            #expect(byOther.status == 403, "\(byOther.text)")
            #expect(try await hub.get(path, token: hub.admin).status == 404, "refused attempts saved nothing")

            let byIntegration = try await hub.call(.put, path, token: integration, json: body)
            #expect(byIntegration.status == 200, "\(byIntegration.text)")
            #expect(try await hub.get(path, token: clinicUser).status == 200, "clinic staff still see where it goes")

            #expect(try await hub.call(.delete, path, token: clinicUser).status == 403)
            #expect(try await hub.call(.delete, path, token: otherIntegration).status == 403)
            #expect(try await hub.get(path, token: hub.admin).status == 200)
            #expect(try await hub.call(.delete, path, token: integration).status == 204)
            #expect(try await hub.get(path, token: hub.admin).status == 404)
            #expect(try await hub.call(.delete, path, token: integration).status == 404)

            #expect(try await hub.call(.put, path, token: hub.admin, json: body).status == 200)
            #expect(try await hub.call(.delete, path, token: hub.admin).status == 204)
        }
    }

    @Test func addressKinds() {
        #expect(InternalAddress.kind("8.8.8.8") == nil)
        #expect(InternalAddress.kind("2001:4860:4860::8888") == nil)
        #expect(InternalAddress.kind("::ffff:8.8.8.8") == nil)
        #expect(InternalAddress.kind("fe80::1%eth0") == "link-local")
        #expect(InternalAddress.kind("::127.0.0.1") == "loopback")
        #expect(InternalAddress.kind("not an address") == nil)
        #expect(URLAuthority("http://[::1]:8080/x") == URLAuthority("http://[::1]:8080"))
        #expect(URLAuthority("https://Example.ORG./a")?.host == "example.org")
        #expect(URLAuthority("https://example.org/a")?.port == 443)
        #expect(URLAuthority("http://example.org:0/") == nil)
    }
}
