import Foundation

/// This executable's GNU build id (the linker's `.note.gnu.build-id`): two shard files come
/// from the same build exactly when they carry the same one. Read from the ELF file itself
/// (`/proc/self/exe`): its program headers, then the notes of each `PT_NOTE` segment.
public enum BuildIdentity {
    public static let current: String = buildID(ofExecutable: "/proc/self/exe") ?? "unknown (no GNU build id in \(CommandLine.arguments[0]))"

    public static func buildID(ofExecutable path: String) -> String? {
        guard let file = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? file.close() }
        func read(_ offset: UInt64, _ count: Int) -> [UInt8]? {
            guard (try? file.seek(toOffset: offset)) != nil, let data = try? file.read(upToCount: count), data.count == count else { return nil }
            return Array(data)
        }
        func integer<T: FixedWidthInteger>(_ bytes: [UInt8], _ at: Int, _: T.Type) -> T {
            bytes[at..<(at + MemoryLayout<T>.size)].reversed().reduce(T.zero) { $0 << 8 | T($1) }
        }
        // A 64-bit little-endian ELF file, as every executable this builds for is.
        guard let header = read(0, 64), header[0..<4] == [0x7f, 0x45, 0x4c, 0x46], header[4] == 2, header[5] == 1 else { return nil }
        let (programHeaders, entrySize, entries) = (integer(header, 32, UInt64.self), Int(integer(header, 54, UInt16.self)), Int(integer(header, 56, UInt16.self)))
        for entry in 0..<entries {
            guard let program = read(programHeaders + UInt64(entry * entrySize), entrySize), integer(program, 0, UInt32.self) == 4 /* PT_NOTE */,
                  let notes = read(integer(program, 8, UInt64.self), Int(integer(program, 32, UInt64.self))) else { continue }
            var offset = 0
            let aligned = { (size: Int) in (size + 3) & ~3 }
            while offset + 12 <= notes.count {
                let (nameSize, descriptionSize, type) = (Int(integer(notes, offset, UInt32.self)), Int(integer(notes, offset + 4, UInt32.self)),
                                                         integer(notes, offset + 8, UInt32.self))
                let description = offset + 12 + aligned(nameSize)
                guard description + descriptionSize <= notes.count else { break }
                if type == 3 /* NT_GNU_BUILD_ID */, nameSize == 4 {
                    return notes[description..<(description + descriptionSize)].map { String(format: "%02x", $0) }.joined()
                }
                offset = description + aligned(descriptionSize)
            }
        }
        return nil
    }
}
