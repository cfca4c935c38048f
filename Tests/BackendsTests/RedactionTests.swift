import Backends
import Testing

/// No message built from a URL shows its password, whoever wrote the message.
@Suite struct RedactionTests {
    @Test func aURLLosesItsPasswordAndKeepsItsUser() {
        #expect(redacted("postgresql://overbook:s3cret@127.0.0.1:5432/booking_db") == "postgresql://overbook:***@127.0.0.1:5432/booking_db")
        #expect(redacted("redis://:s3cret@127.0.0.1:6379/0") == "redis://:***@127.0.0.1:6379/0")
        #expect(redacted("postgresql://overbook@127.0.0.1/booking_db") == "postgresql://overbook@127.0.0.1/booking_db")
    }

    @Test func libpqsParseErrorDoesNotLeakThePassword() throws {
        let url = "mysql://overbook:s3cretpw@h/x"
        #expect(throws: BackendConfigurationError.self) { try PostgresConfiguration(url: url) }
        do {
            _ = try PostgresConfiguration(url: url)
        } catch {
            #expect(error.description.contains("invalid PostgreSQL URL"))
            #expect(!error.description.contains("s3cretpw"), "\(error)")
        }
    }

    @Test func aBadRedisURLDoesNotLeakThePassword() {
        do {
            _ = try RedisConfiguration(url: "redis://user:s3cretpw@host:notaport")
            Issue.record("a bad port should be refused")
        } catch {
            #expect(!error.description.contains("s3cretpw"), "\(error)")
        }
    }
}
