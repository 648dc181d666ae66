import Crypto
import Foundation
import HubCore
import HubStore
import Testing

@Suite struct BlobStoreTests {
    func store() throws -> (BlobStore, String) {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("hub-blobs-\(UUID().uuidString)").path
        return (try BlobStore(root: root), root)
    }

    func put(_ bytes: [UInt8], in store: BlobStore) async throws -> String {
        let writer = try store.writer(limit: 1 << 20)
        try bytes.withUnsafeBytes { try writer.write($0) }
        return try await writer.finishAndCommit()
    }

    @Test func aBlobLandsUnderItsDigestAndNothingStaysBehind() async throws {
        let (store, root) = try store()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let folders = try FileManager.default.contentsOfDirectory(atPath: root).filter { $0 != "tmp" }
        #expect(folders.count == 256, "the first-level folders are made with the store")
        let bytes = Array("胸部CT平扫 DICOM bytes".utf8) + (0..<5000).map { UInt8($0 % 251) }
        let digest = try await put(bytes, in: store)
        #expect(digest == Hex.encode(SHA256.hash(data: bytes)))
        #expect(store.path(for: digest) == "\(root)/\(digest.prefix(2))/\(digest.dropFirst(2).prefix(2))/\(digest)")
        #expect(FileManager.default.contents(atPath: store.path(for: digest)) == Data(bytes))
        #expect(try FileManager.default.contentsOfDirectory(atPath: root + "/tmp").isEmpty)
    }

    @Test func theSameFileTwiceAtOnceIsOneBlob() async throws {
        let (store, root) = try store()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let bytes = (0..<20_000).map { UInt8(($0 * 7) % 256) }
        async let first = put(bytes, in: store)
        async let second = put(bytes, in: store)
        let (a, b) = try await (first, second)
        #expect(a == b)
        #expect(FileManager.default.contents(atPath: store.path(for: a)) == Data(bytes))
    }

    @Test func aMissingFirstLevelFolderIsMadeAgain() async throws {
        let (store, root) = try store()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let bytes = Array("a blob whose folder an operator removed".utf8)
        let digest = Hex.encode(SHA256.hash(data: bytes))
        try FileManager.default.removeItem(atPath: "\(root)/\(digest.prefix(2))")
        #expect(try await put(bytes, in: store) == digest)
        #expect(FileManager.default.contents(atPath: store.path(for: digest)) == Data(bytes))
    }

    @Test func aSmallUploadIsHeldInMemoryAndMakesNoFile() async throws {
        let (store, root) = try store()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let bytes = (0..<3000).map { UInt8(($0 * 13) % 256) }
        let writer = try store.writer(limit: 1 << 20, keepInMemory: 4096)
        for chunk in stride(from: 0, to: bytes.count, by: 1000) {
            try bytes[chunk..<min(chunk + 1000, bytes.count)].withUnsafeBytes { try writer.write($0) }
        }
        #expect(writer.isWhollyInMemory)
        #expect(try FileManager.default.contentsOfDirectory(atPath: root + "/tmp").isEmpty, "no temporary file")
        #expect(writer.finishInMemory() == Hex.encode(SHA256.hash(data: bytes)))
        #expect(writer.head == bytes)
        writer.abort()
        #expect(try FileManager.default.contentsOfDirectory(atPath: root + "/tmp").isEmpty)
    }

    @Test func anUploadThatOutgrowsMemoryGoesToAFileWithEveryByte() async throws {
        let (store, root) = try store()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let bytes = (0..<10_000).map { UInt8(($0 * 31) % 256) }
        let writer = try store.writer(limit: 1 << 20, keepInMemory: 4096)
        for chunk in stride(from: 0, to: bytes.count, by: 1500) {
            try bytes[chunk..<min(chunk + 1500, bytes.count)].withUnsafeBytes { try writer.write($0) }
        }
        #expect(!writer.isWhollyInMemory)
        #expect(writer.head.isEmpty, "the bytes held in memory went to the file")
        #expect(FileManager.default.contents(atPath: writer.temporaryPath)?.count == bytes.count)
        let digest = try await writer.finishAndCommit()
        #expect(digest == Hex.encode(SHA256.hash(data: bytes)))
        #expect(FileManager.default.contents(atPath: store.path(for: digest)) == Data(bytes))
        #expect(try FileManager.default.contentsOfDirectory(atPath: root + "/tmp").isEmpty)
    }

    @Test func aSmallUploadBecomesAFileWhenCommitted() async throws {
        let (store, root) = try store()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let bytes = Array("a small report kept as a file".utf8)
        let writer = try store.writer(limit: 1 << 20, keepInMemory: 4096)
        try bytes.withUnsafeBytes { try writer.write($0) }
        let digest = try await writer.finishAndCommit()
        #expect(FileManager.default.contents(atPath: store.path(for: digest)) == Data(bytes))
    }

    @Test func anUploadPastTheLimitOrAbortedAfterItsFileWasMadeLeavesNoFile() async throws {
        let (store, root) = try store()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let chunk = [UInt8](repeating: 7, count: 600)
        let tooLarge = try store.writer(limit: 1500, keepInMemory: 1000)
        try chunk.withUnsafeBytes { try tooLarge.write($0) }
        try chunk.withUnsafeBytes { try tooLarge.write($0) }
        #expect(FileManager.default.fileExists(atPath: tooLarge.temporaryPath), "past keepInMemory: a file")
        #expect(throws: HubError.self) { try chunk.withUnsafeBytes { try tooLarge.write($0) } }
        #expect(!FileManager.default.fileExists(atPath: tooLarge.temporaryPath))
        let dropped = try store.writer(limit: 1 << 20, keepInMemory: 1000)
        for _ in 0..<3 { try chunk.withUnsafeBytes { try dropped.write($0) } }
        dropped.abort()
        #expect(try FileManager.default.contentsOfDirectory(atPath: root + "/tmp").isEmpty)
        // Nothing in memory: the file is made by the first byte, not before.
        let streamed = try store.writer(limit: 1 << 20)
        #expect(!FileManager.default.fileExists(atPath: streamed.temporaryPath))
        try chunk.withUnsafeBytes { try streamed.write($0) }
        #expect(FileManager.default.fileExists(atPath: streamed.temporaryPath))
        #expect(streamed.head.isEmpty)
        streamed.abort()
        #expect(try FileManager.default.contentsOfDirectory(atPath: root + "/tmp").isEmpty)
    }

    @Test func anUploadPastTheLimitLeavesNoFile() async throws {
        let (store, root) = try store()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let writer = try store.writer(limit: 100)
        #expect(throws: HubError.self) {
            try Array(repeating: UInt8(1), count: 101).withUnsafeBytes { try writer.write($0) }
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: root + "/tmp").isEmpty)
    }
}
