import CCurl
import CCurlShim

/// The C callbacks libcurl invokes on the driver thread while it performs a
/// transfer. Each receives the ``Transfer`` as unretained userdata.
enum TransferCallbacks {
    static func install(on transfer: Transfer) throws(CurlHTTPError) {
        let easy = transfer.easy
        let userdata = transfer.userdata
        try easy.setWriteFunction(writeCallback)
        try easy.set(CURLOPT_WRITEDATA, pointer: userdata)
        try easy.setHeaderFunction(headerCallback)
        try easy.set(CURLOPT_HEADERDATA, pointer: userdata)
        try easy.setPrereqFunction(prereqCallback)
        try easy.set(CURLOPT_PREREQDATA, pointer: userdata)
        if transfer.upload != nil {
            try easy.setReadFunction(readCallback)
            try easy.set(CURLOPT_READDATA, pointer: userdata)
            try easy.setSeekFunction(seekCallback)
            try easy.set(CURLOPT_SEEKDATA, pointer: userdata)
        }
    }

    private static func transfer(_ userdata: UnsafeMutableRawPointer?) -> Transfer {
        Unmanaged<Transfer>.fromOpaque(userdata!).takeUnretainedValue()
    }

    /// Body bytes. Returning anything but the full count makes libcurl fail the
    /// transfer with CURLE_WRITE_ERROR; `callbackError` says why.
    private static let writeCallback: ccs_write_callback = { data, size, count, userdata in
        let transfer = TransferCallbacks.transfer(userdata)
        let length = size * count
        if let cap = transfer.request.maxResponseBytes, transfer.receivedBytes + length > cap {
            transfer.callbackError = CurlHTTPError.tooLarge.with(
                detail: "response body exceeds maxResponseBytes (\(cap))"
            )
            return 0
        }
        let chunk = UnsafeRawBufferPointer(start: data, count: length)
        switch transfer.sink {
        case .buffered:
            transfer.body.append(contentsOf: chunk)
        case .streaming(let sink):
            transfer.deliverHeadIfNeeded()
            // Pausing makes libcurl keep this chunk and offer it again after
            // curl_easy_pause(CONT), so it must not be counted or yielded now.
            guard sink.flow.reserve(length) else { return ccs_writefunc_pause() }
            sink.body.yield(Array(chunk))
        }
        transfer.receivedBytes += length
        return length
    }

    /// One header line per call, CRLF included; status lines start each
    /// response (interim 1xx ones too) and an empty line ends its head.
    private static let headerCallback: ccs_write_callback = { data, size, count, userdata in
        let transfer = TransferCallbacks.transfer(userdata)
        let length = size * count
        let line = String(decoding: UnsafeRawBufferPointer(start: data, count: length), as: UTF8.self)
        HeaderParser.consume(line: line, into: transfer)
        return length
    }

    private static let readCallback: ccs_read_callback = { buffer, size, count, userdata in
        let transfer = TransferCallbacks.transfer(userdata)
        guard let upload = transfer.upload else { return 0 }
        do throws(CurlHTTPError) {
            return try upload.read(into: UnsafeMutableRawBufferPointer(start: buffer, count: size * count))
        } catch {
            transfer.callbackError = error
            return ccs_readfunc_abort()
        }
    }

    /// Lets libcurl rewind the body when it resends on a new connection.
    private static let seekCallback: ccs_seek_callback = { userdata, offset, origin in
        let transfer = TransferCallbacks.transfer(userdata)
        guard origin == SEEK_SET, let upload = transfer.upload, upload.seek(to: Int(offset)) else {
            return Int32(CURL_SEEKFUNC_CANTSEEK)
        }
        return Int32(CURL_SEEKFUNC_OK)
    }

    private static let prereqCallback: ccs_prereq_callback = { userdata, _, _, _, _ in
        TransferCallbacks.transfer(userdata).connected = true
        return Int32(CURL_PREREQFUNC_OK)
    }
}

/// Turns raw header lines into status, version and fields.
enum HeaderParser {
    static func consume(line rawLine: String, into transfer: Transfer) {
        var line = Substring(rawLine)
        while let last = line.last, last == "\r\n" || last == "\n" || last == "\r" {
            line.removeLast()
        }
        if line.hasPrefix("HTTP/") {
            // A new response head: a final response after 1xx, or a retry.
            transfer.headers.removeAll()
            transfer.headersComplete = false
            let parts = line.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: true)
            transfer.status = parts.count > 1 ? Int(parts[1]) ?? 0 : 0
            transfer.version = self.version(parts.first ?? "")
            return
        }
        if line.isEmpty {
            guard !transfer.headersComplete, transfer.status >= 200 else { return }
            transfer.headersComplete = true
            transfer.deliverHeadIfNeeded()
            return
        }
        // Lines after the head are trailers; they are not part of `headers`.
        guard !transfer.headersComplete else { return }
        if line.first == " " || line.first == "\t" {
            // Obsolete line folding continues the previous field's value.
            if let last = transfer.headers.fields.last {
                transfer.headers.replaceLast(value: last.value + " " + Self.trim(line))
            }
            return
        }
        guard let colon = line.firstIndex(of: ":") else { return }
        transfer.headers.append(
            name: String(line[..<colon]),
            value: Self.trim(line[line.index(after: colon)...])
        )
    }

    private static func trim(_ text: Substring) -> String {
        var text = text
        while let first = text.first, first == " " || first == "\t" { text.removeFirst() }
        while let last = text.last, last == " " || last == "\t" { text.removeLast() }
        return String(text)
    }

    private static func version(_ token: Substring) -> CurlResponse.HTTPVersion {
        switch token {
        case "HTTP/1.0": return .http1_0
        case "HTTP/1.1": return .http1_1
        case "HTTP/2", "HTTP/2.0": return .http2
        case "HTTP/3": return .http3
        default: return .other(0)
        }
    }
}
