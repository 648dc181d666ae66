import Foundation
import Metrics
import Prometheus
import Synchronization

/// The process-wide metrics registry. swift-metrics can be bootstrapped once per process, so every application
/// built in the process (tests build many) shares this one registry.
public enum HubMetrics {
    private static let bootstrapped = Mutex<PrometheusCollectorRegistry?>(nil)

    /// Bootstraps swift-metrics with Prometheus on first call and returns the registry.
    public static func registry() -> PrometheusCollectorRegistry {
        bootstrapped.withLock { current in
            if let current { return current }
            let registry = PrometheusCollectorRegistry()
            var factory = PrometheusMetricsFactory(registry: registry)
            // OpenTelemetry-style dotted names are not valid Prometheus names: dots become underscores.
            // Called for every metric handle made, some per request.
            factory.nameAndLabelSanitizer = { name, labels in
                (underscored(name), labels.map { (underscored($0.0), $0.1) })
            }
            MetricsSystem.bootstrap(factory)
            current = registry
            return registry
        }
    }

    /// `name` with every `.` replaced by `_`.
    static func underscored(_ name: String) -> String {
        guard name.utf8.contains(UInt8(ascii: ".")) else { return name }
        return String(decoding: name.utf8.map { $0 == UInt8(ascii: ".") ? UInt8(ascii: "_") : $0 }, as: UTF8.self)
    }
}
