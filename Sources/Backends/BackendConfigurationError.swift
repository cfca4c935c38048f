/// A configuration value (URL, pool size, setting name) that no connection attempt could fix.
/// Raised when the service is built, before any traffic, so a typo fails fast and loudly.
public struct BackendConfigurationError: Error, Hashable, Sendable, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// `url` with its password (`scheme://user:PASSWORD@host...`) replaced by `***`, for messages.
public func redacted(_ url: String) -> String {
    guard let password = password(in: url) else { return url }
    return url.replacingFirst(password, with: "***")
}

/// `text` (a message that may quote `url`, as libpq's do) with `url`'s password replaced by `***`.
public func redacting(_ url: String, in text: String) -> String {
    guard let password = password(in: url), !password.isEmpty else { return text }
    return text.split(separator: password, omittingEmptySubsequences: false).joined(separator: "***")
}

private func password(in url: String) -> Substring? {
    guard let schemeEnd = url.range(of: "://")?.upperBound, let at = url[schemeEnd...].lastIndex(of: "@") else { return nil }
    let credentials = url[schemeEnd..<at]
    guard let colon = credentials.firstIndex(of: ":") else { return nil }
    return credentials[credentials.index(after: colon)...]
}

extension String {
    fileprivate func replacingFirst(_ part: Substring, with replacement: String) -> String {
        guard let range = range(of: part) else { return self }
        return String(self[..<range.lowerBound]) + replacement + String(self[range.upperBound...])
    }
}
