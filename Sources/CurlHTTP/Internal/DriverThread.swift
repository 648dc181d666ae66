#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Starts a detached OS thread, outside Swift concurrency's cooperative pool,
/// so blocking in `curl_multi_poll` never starves async tasks.
enum DriverThread {
    private final class Context {
        let name: String
        let body: @Sendable () -> Void

        init(name: String, body: @escaping @Sendable () -> Void) {
            self.name = name
            self.body = body
        }
    }

    /// Best effort, for `top -H` and debuggers. glibc's pthread_setname_np is
    /// hidden behind _GNU_SOURCE from Swift, so Linux uses procfs instead.
    private static func setCurrentThreadName(_ name: String) {
        #if canImport(Darwin)
            _ = pthread_setname_np(name)
        #elseif os(Linux)
            let descriptor = open("/proc/thread-self/comm", O_WRONLY | O_CLOEXEC)
            guard descriptor >= 0 else { return }
            defer { close(descriptor) }
            let bytes = Array(name.utf8.prefix(15))
            _ = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        #endif
    }

    static func start(name: String, _ body: @escaping @Sendable () -> Void) throws(CurlHTTPError) {
        let context = Unmanaged.passRetained(Context(name: name, body: body)).toOpaque()
        var attributes = pthread_attr_t()
        pthread_attr_init(&attributes)
        defer { pthread_attr_destroy(&attributes) }
        pthread_attr_setdetachstate(&attributes, Int32(PTHREAD_CREATE_DETACHED))

        #if canImport(Darwin)
            var thread: pthread_t? = nil
        #else
            var thread = pthread_t()
        #endif
        let result = pthread_create(
            &thread, &attributes,
            { argument in
                // Optional on Linux, non-optional on Darwin: normalise, then unwrap.
                let raw = (argument as UnsafeMutableRawPointer?)!
                let context = Unmanaged<Context>.fromOpaque(raw).takeRetainedValue()
                DriverThread.setCurrentThreadName(context.name)
                context.body()
                return nil
            }, context)
        guard result == 0 else {
            Unmanaged<Context>.fromOpaque(context).release()
            throw CurlHTTPError.internalError.with(detail: "pthread_create failed: errno \(result)")
        }
    }
}
