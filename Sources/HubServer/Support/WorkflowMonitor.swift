import HubConfig
import HubUseCases
import Logging
import ServiceLifecycle

/// Watches deadlines: every `reading.monitor_interval_ms`, once the hub is ready, it runs the workflow checks (escalating
/// critical values nobody acknowledged in time, routing exams that wait for a center, raising an event for open work
/// past its center's turnaround target).
struct WorkflowMonitor: Service {
    let env: HubEnvironment
    let readiness: Readiness
    let checks: WorkflowChecks

    init(env: HubEnvironment, readiness: Readiness) {
        self.env = env
        self.readiness = readiness
        self.checks = WorkflowChecks(env)
    }

    func run() async throws {
        let interval = Duration.milliseconds(env.config.monitorIntervalMilliseconds)
        // Cancelled at graceful shutdown, so the sleep between checks never holds up a stop.
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                if readiness.isReady {
                    do {
                        try await checks.run()
                    } catch is CancellationError {
                        return
                    } catch {
                        env.logger.error("workflow monitor check failed", metadata: ["error.message": "\(error)"])
                    }
                }
                try await Task.sleep(for: interval)
            }
        }
    }
}
