import Foundation

/// A command's output file could not be written: `description` names the file (and the option).
public struct OutputFileError: Error, CustomStringConvertible {
    public let description: String
    public init(description: String) { self.description = description }
}

/// Writes what `sweep --output`, `merge --output` and the `--junit` options ask for.
public enum SweepRecordFile {
    public static func write(_ record: SweepRecord, to path: String) throws {
        let url = URL(fileURLWithPath: path)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(try record.json()).write(to: url, options: .atomic)
    }

    /// Writes the JUnit XML `xml` to `path`, then says where on `emit`.
    public static func writeJUnit(_ xml: String, to path: String, emit: (String) -> Void) throws(OutputFileError) {
        do {
            let url = URL(fileURLWithPath: path)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try xml.write(to: url, atomically: true, encoding: .utf8)
        } catch {
            throw OutputFileError(description: "cannot write --junit \(path): \(error.localizedDescription)")
        }
        emit("junit: \(path)")
    }

    /// Reads the shard files `files` and merges them (`SweepRecord.merge`).
    public static func merge(_ files: [String]) throws -> SweepRecord {
        var records: [(file: String, record: SweepRecord)] = []
        for file in files {
            guard let data = FileManager.default.contents(atPath: file) else { throw SweepMergeError(["cannot read \(file)"]) }
            records.append((file, try SweepRecord(json: Array(data), file: file)))
        }
        return try SweepRecord.merge(records)
    }
}
