import HubFederation
import NIOCore

/// What a registered host (a DICOM node's, an HL7 application's) stands for when a connection arrives: an IP address
/// stands for itself, a name for every address it resolves to now.
public enum HostAddresses {
    @Sendable public static func of(_ host: String) async -> Set<String> {
        if let address = try? SocketAddress(ipAddress: host, port: 0), let text = address.ipAddress {
            return [text]
        }
        return Set((try? await OutboundAddressPolicy.systemResolver(host)) ?? [])
    }
}
