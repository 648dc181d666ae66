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
            factory.nameAndLabelSanitizer = { name, labels in
                (
                    name.replacingOccurrences(of: ".", with: "_"),
                    labels.map { ($0.0.replacingOccurrences(of: ".", with: "_"), $0.1) }
                )
            }
            MetricsSystem.bootstrap(factory)
            current = registry
            return registry
        }
    }
}
