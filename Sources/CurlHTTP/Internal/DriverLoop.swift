import CCurl
import CCurlShim
import Logging

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// The driver thread's body: owns the multi handle's transfers and runs
/// `curl_multi_perform` / `curl_multi_poll` until shutdown.
///
/// Thread-confined: created and used only on the driver thread, so its
/// tables need no locking.
final class DriverLoop {
    /// Upper bound for one poll. Wakeups and libcurl's own timers end it
    /// sooner; this only bounds the delay if a wakeup ever failed.
    private static let pollTimeoutMilliseconds: Int32 = 1000

    private let driver: CurlDriver
    private let multi: UnsafeMutableRawPointer
    private let logger: Logger
    private let maxPooledHandles: Int
    private var transfers: [UInt64: Transfer] = [:]
    private var transfersByHandle: [UnsafeMutableRawPointer: Transfer] = [:]
    private var idleHandles: [UnsafeMutableRawPointer] = []

    init(driver: CurlDriver) {
        self.driver = driver
        self.multi = driver.multi.raw
        self.logger = driver.logger
        self.maxPooledHandles = max(0, driver.configuration.maxPooledHandles)
    }

    /// Applies the connection-cache limits; runs before the thread starts.
    static func configure(multi: MultiHandle, configuration: CurlHTTPClient.Configuration) throws(CurlHTTPError) {
        let options: [(CURLMoption, Int, String)] = [
            (
                CURLMOPT_MAX_HOST_CONNECTIONS, max(0, configuration.maxConnectionsPerHost),
                "CURLMOPT_MAX_HOST_CONNECTIONS"
            ),
            (CURLMOPT_MAXCONNECTS, max(1, configuration.maxCachedConnections), "CURLMOPT_MAXCONNECTS"),
        ]
        for (option, value, name) in options {
            let code = ccs_multi_setopt_long(multi.raw, option, value)
            guard code == CURLM_OK else {
                throw CurlGlobal.multiError(code, "curl_multi_setopt(\(name))")
            }
        }
    }

    func run() {
        self.logger.debug("curl driver thread started")
        while true {
            let (commands, shuttingDown) = self.driver.drain()
            if shuttingDown {
                for case .start(let job) in commands {
                    job.sink.fail(.shutdown)
                }
                break
            }
            for command in commands {
                self.handle(command)
            }
            self.performAndWait()
        }
        self.terminate()
    }

    // MARK: Commands

    private func handle(_ command: DriverCommand) {
        switch command {
        case .start(let job):
            self.start(job)
        case .cancel(let id):
            guard let transfer = self.transfers[id] else { return }
            self.finish(transfer, with: .failure(.cancelled))
        case .resume(let id):
            guard let transfer = self.transfers[id] else { return }
            do {
                try transfer.easy.unpause()
            } catch {
                self.finish(transfer, with: .failure(error))
            }
        }
    }

    private func start(_ job: TransferJob) {
        guard let raw = self.idleHandles.popLast() ?? curl_easy_init() else {
            job.sink.fail(CurlHTTPError.internalError.with(detail: "curl_easy_init returned NULL"))
            return
        }
        let transfer = Transfer(job: job, easy: EasyHandle(raw: raw))
        do {
            try transfer.configure()
        } catch {
            transfer.complete(.failure(error), totalTime: .zero)
            self.recycle(transfer)
            return
        }
        let code = curl_multi_add_handle(self.multi, raw)
        guard code == CURLM_OK else {
            transfer.complete(.failure(CurlGlobal.multiError(code, "curl_multi_add_handle")), totalTime: .zero)
            self.recycle(transfer)
            return
        }
        self.transfers[job.id] = transfer
        self.transfersByHandle[raw] = transfer
    }

    // MARK: libcurl loop

    private func performAndWait() {
        var running: Int32 = 0
        let performCode = curl_multi_perform(self.multi, &running)
        if performCode != CURLM_OK {
            self.failAll(CurlGlobal.multiError(performCode, "curl_multi_perform"))
        }
        self.collectCompletions()

        var ready: Int32 = 0
        let pollCode = curl_multi_poll(self.multi, nil, 0, Self.pollTimeoutMilliseconds, &ready)
        if pollCode != CURLM_OK {
            self.failAll(CurlGlobal.multiError(pollCode, "curl_multi_poll"))
            // Avoid a hot loop should the multi handle stay broken.
            usleep(10_000)
        }
    }

    private func collectCompletions() {
        var remaining: Int32 = 0
        while let message = curl_multi_info_read(self.multi, &remaining) {
            // The message is only valid until the handle is removed: copy first.
            guard message.pointee.msg == CURLMSG_DONE, let raw = message.pointee.easy_handle else { continue }
            let code = message.pointee.data.result
            guard let transfer = self.transfersByHandle[raw] else {
                self.logger.error("libcurl reported an unknown easy handle as done")
                continue
            }
            if code == CURLE_OK, transfer.callbackError == nil {
                self.finish(transfer, with: .success(()))
            } else {
                self.finish(transfer, with: .failure(transfer.callbackError ?? self.error(for: code, of: transfer)))
            }
        }
    }

    private func error(for code: CURLcode, of transfer: Transfer) -> CurlHTTPError {
        let osErrno: Int
        do {
            osErrno = try transfer.easy.getLong(CURLINFO_OS_ERRNO)
        } catch {
            self.logger.warning("reading CURLINFO_OS_ERRNO failed", metadata: ["error": "\(error)"])
            osErrno = 0
        }
        let request = transfer.request
        let context = TransferFailureContext(
            errorBuffer: transfer.errorText,
            osErrno: osErrno,
            connected: transfer.connected,
            connectDeadlineFirst: request.timeout.map { request.connectTimeout < $0 } ?? true
        )
        return ErrorMapping.error(for: code, context: context)
    }

    /// Takes the transfer out of libcurl, delivers its outcome and recycles its handle.
    private func finish(_ transfer: Transfer, with result: Result<Void, CurlHTTPError>) {
        let removeCode = curl_multi_remove_handle(self.multi, transfer.easy.raw)
        if removeCode != CURLM_OK {
            self.logger.error(
                "curl_multi_remove_handle failed", metadata: ["code": "\(CurlGlobal.describe(removeCode))"])
        }
        self.transfers[transfer.id] = nil
        self.transfersByHandle[transfer.easy.raw] = nil
        var totalTime = Duration.zero
        if case .failure(let error) = result {
            // The error carries libcurl's error buffer text, the most useful clue.
            self.logger.debug("transfer failed", metadata: ["transfer": "\(transfer.id)", "error": "\(error)"])
        } else {
            do {
                totalTime = .microseconds(try transfer.easy.getOffset(CURLINFO_TOTAL_TIME_T))
            } catch {
                self.logger.warning("reading CURLINFO_TOTAL_TIME_T failed", metadata: ["error": "\(error)"])
            }
        }
        transfer.complete(result, totalTime: totalTime)
        self.recycle(transfer)
    }

    private func failAll(_ error: CurlHTTPError) {
        self.logger.error("failing all transfers", metadata: ["error": "\(error)"])
        for transfer in Array(self.transfers.values) {
            self.finish(transfer, with: .failure(error))
        }
    }

    /// Resets the handle (dropping its pointers into `transfer`, which is kept
    /// alive by the argument until then) and keeps it for the next request.
    private func recycle(_ transfer: Transfer) {
        let raw = transfer.easy.raw
        curl_easy_reset(raw)
        if self.idleHandles.count < self.maxPooledHandles {
            self.idleHandles.append(raw)
        } else {
            curl_easy_cleanup(raw)
        }
    }

    private func terminate() {
        for transfer in Array(self.transfers.values) {
            self.finish(transfer, with: .failure(.shutdown))
        }
        // After this no other thread calls curl_multi_wakeup, so cleanup is safe.
        let (leftovers, waiters) = self.driver.markTerminated()
        for raw in self.idleHandles {
            curl_easy_cleanup(raw)
        }
        self.idleHandles.removeAll()
        let code = curl_multi_cleanup(self.multi)
        if code != CURLM_OK {
            self.logger.error("curl_multi_cleanup failed", metadata: ["code": "\(CurlGlobal.describe(code))"])
        }
        for case .start(let job) in leftovers {
            job.sink.fail(.shutdown)
        }
        self.logger.debug("curl driver thread stopped")
        for waiter in waiters {
            waiter.resume()
        }
    }
}
