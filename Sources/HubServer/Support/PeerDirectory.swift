import Crypto
import CurlHTTP
import Foundation
import HubConfig
import HubCore
import HubFederation
import HubStorage
import HubUseCases
import Logging
import ServiceLifecycle
import Synchronization

/// Fetches every active peer's directory every `federation.directory_refresh_seconds`, and at once when asked
/// (a peer added or changed, an operator's refresh).
struct PeerDirectoryService: Service {
    let env: HubEnvironment
    let readiness: Readiness
    var directory: PeerDirectory { env.peerDirectory }

    func run() async throws {
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                // Until the next peer is due (or a peer is added or refreshed by hand), nothing is read.
                var pause = Duration.seconds(1)
                if readiness.isReady {
                    do {
                        pause = try await directory.refreshDue()
                    } catch is CancellationError {
                        return
                    } catch {
                        env.logger.error("peer directory refresh failed", metadata: ["error.message": "\(error)"])
                    }
                }
                await env.directorySignal.wait(timeout: pause)
            }
        }
    }
}
