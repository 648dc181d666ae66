import HubFederation
import NIOCore

/// What a registered host (a DICOM node's, an HL7 application's) stands for when a connection arrives: an IP address
/// stands for itself, a name for every address it resolves to now.
public enum HostAddresses {
    @Sendable public static func of(_ host: String) async -> Set<String> {
        if let address = try? SocketAddress(ipAddress: host, port: 0), let text = address.ipAddress {
            return [normalized(text)]
        }
        return Set(((try? await OutboundAddressPolicy.systemResolver(host)) ?? []).map(normalized))
    }

    /// An address as the hub compares it: an IPv4 address that a dual-stack socket reports in its IPv6 form
    /// (`::ffff:10.1.2.3`) is the IPv4 address it stands for.
    public static func normalized(_ address: String) -> String {
        let lowered = address.lowercased()
        for prefix in ["::ffff:", "0:0:0:0:0:ffff:"] where lowered.hasPrefix(prefix) {
            let rest = String(address.dropFirst(prefix.count))
            if let v4 = try? SocketAddress(ipAddress: rest, port: 0), case .v4 = v4 { return rest }
        }
        return address
    }

    /// The address a connection comes from, as the hub compares it.
    public static func peer(of channel: any Channel) -> String {
        channel.remoteAddress?.ipAddress.map(normalized) ?? "unknown"
    }
}
