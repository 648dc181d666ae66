import Foundation
import HubConfig
import HubCore
import HubStorage
import HubUseCases
import Hummingbird
import NIOCore
import Prometheus

/// Liveness, readiness, metrics and the API description: the routes that need no token.
struct HealthController {
    let env: HubEnvironment
    let readiness: Readiness
    let registry: PrometheusCollectorRegistry
    let openAPI: Data

    func register(_ routes: Routes) {
        routes.add(.get, "/healthz", public: true) { _, _ in
            try JSONIO.response(["status": "ok"])
        }
        routes.add(.get, "/readyz", public: true) { _, _ in
            guard readiness.isReady, await env.database.isReady() else {
                throw HubError.unavailable("the hub is starting: the database is not open or not migrated yet")
            }
            return try JSONIO.response(["status": "ready", "hub_id": env.config.hubId])
        }
        routes.add(.get, "/metrics", public: true) { _, _ in
            var buffer = [UInt8]()
            registry.emit(into: &buffer)
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(bytes: buffer)))
        }
        routes.add(.get, "/openapi.yaml", public: true) { _, _ in
            Response(
                status: .ok, headers: [.contentType: "application/yaml"],
                body: .init(byteBuffer: ByteBuffer(bytes: openAPI)))
        }
    }
}
