import HubUseCases
import ServiceLifecycle

/// Writes refusals held back once their minute has passed, and every one left at shutdown.
struct RefusalAuditService: Service {
    let refusals: Refusals

    func run() async throws {
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try await Task.sleep(for: .seconds(5))
                await refusals.flush()
            }
        }
        await refusals.flush(all: true)
    }
}
