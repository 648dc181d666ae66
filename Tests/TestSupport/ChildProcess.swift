import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A child process started with `posix_spawnp`, for the tests that run `hubd`, `hubctl`, Python and OpenSSL.
///
/// Not Foundation's `Process`: on Linux its launch copies 256 bytes of every `/proc/self/fd` entry, reading past the
/// end of glibc's directory buffer when the test process has more than about 1,300 descriptors open (many hubs run
/// at once here), which now and then kills the whole test run (swift-corelibs-foundation#5472). Its pipe reads also
/// trap on `EINTR`. Here descriptors past 2 are closed in the child, every signal starts at its default disposition
/// and unblocked, and reads retry on `EINTR`.
public final class ChildProcess: Sendable {
    /// Where a child's standard output or error goes.
    public enum Output: Sendable {
        /// A pipe this process reads with `readAll()` or `readSome()` (standard error may share it).
        case pipe
        /// Appended to a file.
        case file(String)
        /// Discarded.
        case null
    }

    public let pid: pid_t
    /// The read end of the output pipe, when one was asked for.
    private let output: Int32?
    /// The write end of the standard input pipe while it is open.
    private let input: Mutex<Int32?>
    private let exit = Mutex<Int32?>(nil)

    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// Starts `executable` (a path, or a name looked up in `PATH`) with `arguments`. Standard output goes to `stdout`;
    /// standard error to `stderr`, or wherever standard output goes when `stderr` is nil. With `stdinPipe`, standard
    /// input is a pipe kept open until `closeInput()`; otherwise it is `/dev/null`.
    public init(
        _ executable: String, _ arguments: [String], environment: [String: String]? = nil, stdout: Output = .null,
        stderr: Output? = nil, stdinPipe: Bool = false
    ) throws {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var all = sigset_t()
        sigfillset(&all)
        var none = sigset_t()
        sigemptyset(&none)
        posix_spawnattr_setsigdefault(&attributes, &all)
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))

        var parentEnds: [Int32] = []
        var childEnds: [Int32] = []
        func pipeEnds() throws -> (read: Int32, write: Int32) {
            var fds: [Int32] = [-1, -1]
            guard pipe(&fds) == 0 else { throw Failure(description: "pipe: \(Self.lastError())") }
            // Children started meanwhile by other threads close them anyway (everything past 2 is closed).
            for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
            return (fds[0], fds[1])
        }
        func cleanUp() {
            for fd in parentEnds + childEnds { close(fd) }
        }
        do {
            var outputRead: Int32?
            var inputWrite: Int32?
            if stdinPipe {
                let ends = try pipeEnds()
                parentEnds.append(ends.write)
                childEnds.append(ends.read)
                inputWrite = ends.write
                posix_spawn_file_actions_adddup2(&actions, ends.read, 0)
            } else {
                posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
            }
            var pipeWrite: Int32?
            for (target, destination) in [(Int32(1), stdout), (Int32(2), stderr ?? stdout)] {
                switch destination {
                case .pipe:
                    if pipeWrite == nil {
                        let ends = try pipeEnds()
                        parentEnds.append(ends.read)
                        childEnds.append(ends.write)
                        outputRead = ends.read
                        pipeWrite = ends.write
                    }
                    posix_spawn_file_actions_adddup2(&actions, pipeWrite!, target)
                case .file(let path):
                    posix_spawn_file_actions_addopen(&actions, target, path, O_WRONLY | O_CREAT | O_APPEND, 0o644)
                case .null:
                    posix_spawn_file_actions_addopen(&actions, target, "/dev/null", O_WRONLY, 0)
                }
            }
            try Self.closeTheRest(&actions)

            let argv: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { strdup($0) } + [nil]
            defer { for pointer in argv { free(pointer) } }
            let variables = (environment ?? OutsideTools.defaultEnvironment).map { "\($0.key)=\($0.value)" }
            let envp: [UnsafeMutablePointer<CChar>?] = variables.map { strdup($0) } + [nil]
            defer { for pointer in envp { free(pointer) } }
            var pid: pid_t = 0
            let status = posix_spawnp(&pid, executable, &actions, &attributes, argv, envp)
            guard status == 0 else {
                throw Failure(description: "cannot start \(executable): \(String(cString: strerror(status)))")
            }
            for fd in childEnds { close(fd) }
            childEnds = []
            self.pid = pid
            self.output = outputRead
            self.input = Mutex(inputWrite)
        } catch {
            cleanUp()
            throw error
        }
    }

    deinit {
        if let output { close(output) }
        closeInput()
        // Not left running or a zombie when a test ends early.
        if isRunning {
            kill(pid, SIGKILL)
            wait()
        }
    }

    /// Runs a command to its end and returns its status and output (standard output and error together, unless
    /// `stderr` says otherwise).
    public static func run(
        _ executable: String, _ arguments: [String], environment: [String: String]? = nil, stderr: Output? = nil
    ) throws -> (status: Int32, output: Data) {
        let child = try ChildProcess(executable, arguments, environment: environment, stdout: .pipe, stderr: stderr)
        let output = child.readAll()
        return (child.wait(), output)
    }

    /// `run` from an async test: the wait happens off the cooperative pool (see `offPool`).
    public static func run(
        _ executable: String, _ arguments: [String], environment: [String: String]? = nil, stderr: Output? = nil
    ) async throws -> (status: Int32, output: Data) {
        try await offPool {
            let (status, output): (Int32, Data) = try run(
                executable, arguments, environment: environment, stderr: stderr)
            return (status, output)
        }
    }

    /// Everything the child writes to the output pipe, until it closes it.
    public func readAll() -> Data {
        var data = Data()
        while let chunk = readSome() { data.append(chunk) }
        return data
    }

    /// The next bytes from the output pipe, waiting for them; nil at its end.
    public func readSome() -> Data? {
        guard let output else { return nil }
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = read(output, &buffer, buffer.count)
            if count > 0 { return Data(buffer[0..<count]) }
            if count == 0 { return nil }
            if errno != EINTR { return nil }
        }
    }

    /// Closes the child's standard input pipe (its end of file).
    public func closeInput() {
        input.withLock { input in
            if let fd = input { close(fd) }
            input = nil
        }
    }

    /// Sends `signal`, unless the child has already been reaped (its pid may belong to another process by now).
    public func signal(_ signal: Int32) {
        exit.withLock { exit in
            if exit == nil { kill(pid, signal) }
        }
    }

    /// Whether the child has not ended yet (reaps it when it has).
    public var isRunning: Bool {
        exit.withLock { exit in
            if exit != nil { return false }
            var status: Int32 = 0
            let reaped = waitpid(pid, &status, WNOHANG)
            if reaped == pid {
                exit = Self.code(status)
                return false
            }
            return reaped == 0
        }
    }

    /// Waits for the child to end; its exit status, or the number of the signal that ended it.
    @discardableResult
    public func wait() -> Int32 {
        while true {
            if let code = exit.withLock({ $0 }) { return code }
            var status: Int32 = 0
            let reaped = waitpid(pid, &status, 0)
            if reaped == pid {
                let code = Self.code(status)
                exit.withLock { $0 = $0 ?? code }
                return code
            }
            if reaped == -1 && errno == ECHILD {
                // Reaped meanwhile by `isRunning` on another thread.
                if let code = exit.withLock({ $0 }) { return code }
                return -1
            }
        }
    }

    private static func code(_ status: Int32) -> Int32 {
        let signal = status & 0x7F
        return signal == 0 ? (status >> 8) & 0xFF : signal
    }

    private static func lastError() -> String { String(cString: strerror(errno)) }

    /// Closes every descriptor past 2 in the child: glibc's `posix_spawn_file_actions_addclosefrom_np` when there is
    /// one, else each descriptor listed in `/proc/self/fd` (read without copying past each entry's name).
    private static func closeTheRest(_ actions: inout posix_spawn_file_actions_t) throws {
        typealias CloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
        if let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addclosefrom_np") {
            let closeFrom = unsafeBitCast(symbol, to: CloseFrom.self)
            guard closeFrom(&actions, 3) == 0 else { throw Failure(description: "closefrom: \(lastError())") }
            return
        }
        guard let directory = opendir("/proc/self/fd") else { return }
        defer { closedir(directory) }
        let nameOffset = MemoryLayout<dirent>.offset(of: \dirent.d_name)!
        while let entry = readdir(directory) {
            let name = String(
                cString: UnsafeRawPointer(entry).advanced(by: nameOffset).assumingMemoryBound(to: CChar.self))
            if let fd = Int32(name), fd > 2 { posix_spawn_file_actions_addclose(&actions, fd) }
        }
    }
}
