/// A small typed HTML/SVG builder. Every piece of text and every attribute value goes through
/// `escape` when rendered; the only unescaped content is `HTML.trusted`, which takes a
/// `StaticString` so that nothing computed at run time can reach the page unescaped.
public struct HTML: Sendable {
    enum Storage: Sendable {
        case element(name: String, attributes: [(String, String)], children: [HTML])
        case text(String)
        case trusted(String)
        case fragment([HTML])
    }

    let storage: Storage

    init(_ storage: Storage) { self.storage = storage }

    /// Text content, escaped when rendered.
    public static func text(_ text: String) -> HTML { HTML(.text(text)) }

    /// Markup written in this module's source (style sheet, script), never data.
    public static func trusted(_ markup: StaticString) -> HTML { HTML(.trusted(markup.description)) }

    public static func fragment(_ children: [HTML]) -> HTML { HTML(.fragment(children)) }

    public static let empty = HTML(.fragment([]))

    /// The whole document, with its doctype.
    public func document() -> String {
        var output = "<!DOCTYPE html>\n"
        output.reserveCapacity(64 * 1024)
        render(into: &output)
        output += "\n"
        return output
    }

    public func render() -> String {
        var output = ""
        render(into: &output)
        return output
    }

    /// HTML elements that never have content or an end tag.
    static let voidElements: Set<String> = ["meta", "br", "hr", "img", "input", "link", "wbr", "col"]

    func render(into output: inout String) {
        switch storage {
        case .text(let text):
            escape(text, into: &output)
        case .trusted(let markup):
            output += markup
        case .fragment(let children):
            for child in children { child.render(into: &output) }
        case .element(let name, let attributes, let children):
            output += "<"
            output += name
            for (key, value) in attributes {
                output += " "
                output += key
                output += "=\""
                escape(value, into: &output)
                output += "\""
            }
            if Self.voidElements.contains(name) {
                output += ">"
            } else if children.isEmpty && SVG.elements.contains(name) {
                output += "/>"
            } else {
                output += ">"
                for child in children { child.render(into: &output) }
                output += "</"
                output += name
                output += ">"
            }
        }
    }
}

/// Escapes `&`, `<`, `>`, `"` and `'`, which makes text safe both as content and as a quoted
/// attribute value.
public func escape(_ text: String, into output: inout String) {
    var pending = text.unicodeScalars.startIndex
    let scalars = text.unicodeScalars
    var index = pending
    while index != scalars.endIndex {
        let replacement: String?
        switch scalars[index] {
        case "&": replacement = "&amp;"
        case "<": replacement = "&lt;"
        case ">": replacement = "&gt;"
        case "\"": replacement = "&quot;"
        case "'": replacement = "&#39;"
        default: replacement = nil
        }
        if let replacement {
            output.unicodeScalars.append(contentsOf: scalars[pending..<index])
            output += replacement
            pending = scalars.index(after: index)
        }
        index = scalars.index(after: index)
    }
    output.unicodeScalars.append(contentsOf: scalars[pending..<scalars.endIndex])
}

public func escape(_ text: String) -> String {
    var output = ""
    escape(text, into: &output)
    return output
}

/// Builds children lists: plain strings become escaped text, `nil` and `if` without `else` add
/// nothing, `for` loops splice their results.
@resultBuilder
public enum HTMLBuilder {
    public static func buildExpression(_ node: HTML) -> [HTML] { [node] }
    public static func buildExpression(_ nodes: [HTML]) -> [HTML] { nodes }
    public static func buildExpression(_ text: String) -> [HTML] { [.text(text)] }
    public static func buildExpression(_ node: HTML?) -> [HTML] { node.map { [$0] } ?? [] }
    public static func buildBlock(_ parts: [HTML]...) -> [HTML] { parts.flatMap { $0 } }
    public static func buildOptional(_ part: [HTML]?) -> [HTML] { part ?? [] }
    public static func buildEither(first: [HTML]) -> [HTML] { first }
    public static func buildEither(second: [HTML]) -> [HTML] { second }
    public static func buildArray(_ parts: [[HTML]]) -> [HTML] { parts.flatMap { $0 } }
    public static func buildLimitedAvailability(_ part: [HTML]) -> [HTML] { part }
}

/// Attributes in the order written; a `nil` value leaves the attribute out.
public typealias Attributes = KeyValuePairs<String, String?>

/// `<name attributes>children</name>`.
public func el(_ name: String, _ attributes: Attributes = [:], @HTMLBuilder _ children: () -> [HTML] = { [] }) -> HTML {
    var pairs: [(String, String)] = []
    pairs.reserveCapacity(attributes.count)
    for (key, value) in attributes {
        if let value { pairs.append((key, value)) }
    }
    return HTML(.element(name: name, attributes: pairs, children: children()))
}

/// The same with attributes computed as an array (for SVG shapes built in loops).
func element(_ name: String, _ attributes: [(String, String)], _ children: [HTML] = []) -> HTML {
    HTML(.element(name: name, attributes: attributes, children: children))
}

/// `el(name, attributes) { text }` for the common case of an element holding only text.
public func el(_ name: String, _ attributes: Attributes = [:], text: String) -> HTML {
    el(name, attributes) { text }
}

enum SVG {
    /// SVG elements, which may self-close when empty.
    static let elements: Set<String> = [
        "svg", "g", "rect", "line", "polyline", "polygon", "path", "circle", "text", "title", "tspan", "defs", "pattern", "marker", "use",
    ]
}
