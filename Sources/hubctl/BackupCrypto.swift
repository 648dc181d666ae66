import Crypto
import Foundation
import HubCore
import _CryptoExtras

/// How an encrypted backup's files were sealed, as `manifest.json` records it (never the key itself).
///
/// Every file is AES-256-GCM in chunks, under a key of its own (HKDF-SHA256 from the backup's key, with the file's
/// path): the nonce is the chunk's number and the last chunk says it is the last, so a chunk moved, changed, dropped
/// or cut off fails to open. The backup's key comes from a passphrase through scrypt, or from a key file through
/// HKDF-SHA256, with a random salt per backup.
struct BackupEncryption: Codable, Equatable {
    static let algorithm = "aes-256-gcm-chunked"
    static let defaultChunkBytes = 1 << 20
    /// scrypt's cost: 2^15 rounds of 8 blocks (32 MiB of memory, a fraction of a second), OWASP's minimum.
    static let scryptRounds = 1 << 15
    static let scryptBlockSize = 8
    static let scryptParallelism = 1

    var algorithm: String
    /// `scrypt` (a passphrase) or `hkdf-sha256` (a key file).
    var kdf: String
    var salt: String
    var scryptRounds: Int?
    var scryptBlockSize: Int?
    var scryptParallelism: Int?
    var chunkBytes: Int
    /// A known text sealed with the backup's key: a wrong passphrase is told apart from a damaged file.
    var check: String

    enum CodingKeys: String, CodingKey {
        case algorithm, kdf, salt, check
        case scryptRounds = "scrypt_rounds"
        case scryptBlockSize = "scrypt_block_size"
        case scryptParallelism = "scrypt_parallelism"
        case chunkBytes = "chunk_bytes"
    }

    static let checkText = Data("AllianceHub backup key check".utf8)
}

/// What the operator gives `backup` and `restore` to encrypt and decrypt: a passphrase file or a key file.
enum BackupSecret {
    case passphrase(Data)
    case keyFile(Data)

    /// From the command's options; nil when neither is given. Both at once is a mistake.
    static func load(passphraseFile: String?, keyFile: String?) throws -> BackupSecret? {
        switch (passphraseFile, keyFile) {
        case (nil, nil): return nil
        case (.some, .some): throw CLIError("pass --passphrase-file or --key-file, not both")
        case (let path?, nil):
            guard let data = FileManager.default.contents(atPath: path) else {
                throw CLIError("cannot read the passphrase file \(path)")
            }
            // A trailing line break is the editor's, not the passphrase's.
            var text = data
            while let last = text.last, last == 10 || last == 13 { text.removeLast() }
            guard text.count >= 12 else {
                throw CLIError("the passphrase in \(path) is shorter than 12 bytes; use a longer one")
            }
            return .passphrase(text)
        case (nil, let path?):
            guard let data = FileManager.default.contents(atPath: path) else {
                throw CLIError("cannot read the key file \(path)")
            }
            guard data.count >= 32 else {
                throw CLIError("the key file \(path) holds \(data.count) bytes; it needs at least 32 random bytes")
            }
            return .keyFile(data)
        }
    }
}

/// The key of one backup, and the per-file keys derived from it.
struct BackupKey {
    let master: SymmetricKey
    let encryption: BackupEncryption

    /// A new key for a backup about to be written: a fresh salt, and the check sealed with it.
    static func new(_ secret: BackupSecret) throws -> BackupKey {
        var salt = [UInt8](repeating: 0, count: 16)
        var generator = SystemRandomNumberGenerator()
        for i in salt.indices { salt[i] = UInt8.random(in: 0...255, using: &generator) }
        var encryption = BackupEncryption(
            algorithm: BackupEncryption.algorithm, kdf: "", salt: Data(salt).base64EncodedString(), scryptRounds: nil,
            scryptBlockSize: nil, scryptParallelism: nil, chunkBytes: BackupEncryption.defaultChunkBytes, check: "")
        switch secret {
        case .passphrase:
            encryption.kdf = "scrypt"
            encryption.scryptRounds = BackupEncryption.scryptRounds
            encryption.scryptBlockSize = BackupEncryption.scryptBlockSize
            encryption.scryptParallelism = BackupEncryption.scryptParallelism
        case .keyFile: encryption.kdf = "hkdf-sha256"
        }
        let master = try derive(secret, encryption)
        let sealed = try AES.GCM.seal(BackupEncryption.checkText, using: checkKey(master, encryption))
        encryption.check = sealed.combined!.base64EncodedString()
        return BackupKey(master: master, encryption: encryption)
    }

    /// The key of an existing backup; a wrong passphrase or key file fails here, clearly, before anything is read.
    static func open(_ secret: BackupSecret, _ encryption: BackupEncryption) throws -> BackupKey {
        guard encryption.algorithm == BackupEncryption.algorithm else {
            throw CLIError("the backup is encrypted with \(encryption.algorithm), which this hubctl does not know")
        }
        switch (secret, encryption.kdf) {
        case (.passphrase, "scrypt"), (.keyFile, "hkdf-sha256"): break
        case (.passphrase, _): throw CLIError("this backup was encrypted with a key file: pass --key-file")
        case (.keyFile, _): throw CLIError("this backup was encrypted with a passphrase: pass --passphrase-file")
        }
        let master = try derive(secret, encryption)
        guard let box = Data(base64Encoded: encryption.check).flatMap({ try? AES.GCM.SealedBox(combined: $0) }),
            let opened = try? AES.GCM.open(box, using: checkKey(master, encryption)),
            opened == BackupEncryption.checkText
        else {
            throw CLIError("the passphrase or key file is wrong for this backup (its key check does not open)")
        }
        return BackupKey(master: master, encryption: encryption)
    }

    private static func derive(_ secret: BackupSecret, _ encryption: BackupEncryption) throws -> SymmetricKey {
        guard let salt = Data(base64Encoded: encryption.salt), salt.count >= 16 else {
            throw CLIError("the manifest's encryption salt is not valid")
        }
        switch secret {
        case .passphrase(let passphrase):
            guard let rounds = encryption.scryptRounds, let blockSize = encryption.scryptBlockSize,
                let parallelism = encryption.scryptParallelism, (1 << 10...1 << 20).contains(rounds),
                (1...32).contains(blockSize), (1...16).contains(parallelism)
            else { throw CLIError("the manifest's scrypt parameters are missing or out of range") }
            do {
                return try KDF.Scrypt.deriveKey(
                    from: passphrase, salt: salt, outputByteCount: 32, rounds: rounds, blockSize: blockSize,
                    parallelism: parallelism, maxMemory: 128 * rounds * blockSize * parallelism + (1 << 20))
            } catch {
                throw CLIError("cannot derive the backup key with scrypt: \(error)")
            }
        case .keyFile(let material):
            return HKDF<SHA256>.deriveKey(
                inputKeyMaterial: SymmetricKey(data: material), salt: salt,
                info: Data("AllianceHub backup".utf8), outputByteCount: 32)
        }
    }

    private static func checkKey(_ master: SymmetricKey, _ encryption: BackupEncryption) -> SymmetricKey {
        HKDF<SHA256>.deriveKey(
            inputKeyMaterial: master, salt: Data(base64Encoded: encryption.salt) ?? Data(),
            info: Data("check".utf8), outputByteCount: 32)
    }

    /// The key of the file at `path` inside the backup.
    func fileKey(_ path: String) -> SymmetricKey {
        HKDF<SHA256>.deriveKey(
            inputKeyMaterial: master, salt: Data(base64Encoded: encryption.salt) ?? Data(),
            info: Data("file:\(path)".utf8), outputByteCount: 32)
    }
}

/// The chunked AES-GCM layout of an encrypted file: a magic line, then for each chunk its plaintext length (4 bytes,
/// big-endian), its ciphertext and its 16-byte tag.
enum SealedFile {
    static let magic = Data("AHBKENC1".utf8)

    private static func nonce(_ index: UInt64) throws -> AES.GCM.Nonce {
        var bytes = [UInt8](repeating: 0, count: 12)
        for i in 0..<8 { bytes[4 + i] = UInt8(truncatingIfNeeded: index >> (56 - 8 * UInt64(i))) }
        return try AES.GCM.Nonce(data: bytes)
    }

    private static func additionalData(_ index: UInt64, final: Bool) -> Data {
        var bytes = [UInt8](repeating: 0, count: 9)
        for i in 0..<8 { bytes[i] = UInt8(truncatingIfNeeded: index >> (56 - 8 * UInt64(i))) }
        bytes[8] = final ? 1 : 0
        return Data(bytes)
    }

    /// Encrypts `source` into `target` (a new file of `mode`); returns the plaintext's and the stored file's size
    /// and SHA-256.
    static func seal(
        _ source: String, to target: String, key: SymmetricKey, chunkBytes: Int, mode: Int
    ) throws -> (plain: (size: Int64, sha256: String), stored: (size: Int64, sha256: String)) {
        guard let input = FileHandle(forReadingAtPath: source) else { throw CLIError("cannot read \(source)") }
        defer { try? input.close() }
        let output = try BackupFiles.create(target, mode: mode)
        defer { try? output.close() }
        var plainHash = SHA256()
        var storedHash = SHA256()
        var plainSize: Int64 = 0
        var storedSize: Int64 = 0
        func emit(_ data: Data) throws {
            storedHash.update(data: data)
            storedSize += Int64(data.count)
            try output.write(contentsOf: data)
        }
        try emit(magic)
        var current = try input.read(upToCount: chunkBytes) ?? Data()
        var index: UInt64 = 0
        while true {
            let next = current.isEmpty ? Data() : (try input.read(upToCount: chunkBytes) ?? Data())
            let final = next.isEmpty
            plainHash.update(data: current)
            plainSize += Int64(current.count)
            let box = try AES.GCM.seal(
                current, using: key, nonce: try nonce(index), authenticating: additionalData(index, final: final))
            let length = UInt32(current.count)
            try emit(
                Data([
                    UInt8(length >> 24), UInt8((length >> 16) & 0xff), UInt8((length >> 8) & 0xff),
                    UInt8(length & 0xff),
                ]))
            try emit(box.ciphertext + box.tag)
            if final { break }
            current = next
            index += 1
        }
        try output.synchronize()
        return (
            (plainSize, plainHash.finalize().withUnsafeBytes(Hex.encode)),
            (storedSize, storedHash.finalize().withUnsafeBytes(Hex.encode))
        )
    }

    /// Decrypts `source` chunk by chunk, handing each plaintext chunk to `sink`; throws naming `name` when a chunk
    /// does not open (changed, moved, dropped or cut off).
    static func open(
        _ source: String, name: String, key: SymmetricKey, chunkBytes: Int, _ sink: (Data) throws -> Void
    )
        throws
    {
        guard let input = FileHandle(forReadingAtPath: source) else { throw CLIError("cannot read \(source)") }
        defer { try? input.close() }
        let damaged = CLIError("\(name): does not decrypt (changed, or not encrypted with this backup's key)")
        guard try input.read(upToCount: magic.count) == magic else { throw damaged }
        var index: UInt64 = 0
        var header = try input.read(upToCount: 4) ?? Data()
        while true {
            guard header.count == 4 else { throw damaged }
            let length = header.reduce(0) { $0 << 8 | Int($1) }
            guard length <= chunkBytes else { throw damaged }
            let body = try input.read(upToCount: length + 16) ?? Data()
            guard body.count == length + 16 else { throw damaged }
            header = try input.read(upToCount: 4) ?? Data()
            let final = header.isEmpty
            let box = try AES.GCM.SealedBox(
                nonce: try nonce(index), ciphertext: body.prefix(length), tag: body.suffix(16))
            guard
                let plain = try? AES.GCM.open(box, using: key, authenticating: additionalData(index, final: final))
            else { throw damaged }
            try sink(plain)
            if final { return }
            index += 1
        }
    }

    /// The whole plaintext of a small file (a key).
    static func openAll(_ source: String, name: String, key: SymmetricKey, chunkBytes: Int) throws -> Data {
        var data = Data()
        try open(source, name: name, key: key, chunkBytes: chunkBytes) { data.append($0) }
        return data
    }
}
