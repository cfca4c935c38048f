import BookingCore

extension StoreError {
    /// Whether the server is down or still starting, so that waiting can mend it: the connection
    /// refused or dropped, 57P03 ("the database system is starting up" / "not yet accepting
    /// connections"), 57P01 (terminated by a shutdown). A refused login (a wrong password, no
    /// such role or database, no pg_hba.conf entry) comes as a lost connection too, but will not
    /// mend by waiting.
    public var isServerUnreachable: Bool {
        switch self {
        case .connectionLost(let detail):
            !["password", "does not exist", "no pg_hba.conf entry"].contains { detail.contains($0) }
        case .server(let sqlstate, _): sqlstate == "57P03" || sqlstate == "57P01"
        default: false
        }
    }
}
