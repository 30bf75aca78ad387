import Foundation
import Testing
@testable import SoleusConfig

/// The TOML reader's robustness: the shapes that crashed or hung TOMLKit, limits, positions,
/// and concurrent use. Agreement with Python's tomllib on a large corpus is checked by
/// TOMLDifferentialTests.
@Suite struct TOMLParserTests {
    func parseError(_ text: String, file: String = "t.toml") -> ConfigIssue? {
        do {
            _ = try TOMLNode.parse(text, file: file)
            return nil
        } catch {
            #expect(error.file == file)
            return error.issues.first
        }
    }

    @Test(arguments: ["[[[1]]]", "[[[ broken", "x = 1\n[[[ broken\n", "[ [a] ]", "[a]]", "[]", "[a.]", "[.a]", "[a..b]", "[[a]", "[[a] ]"])
    func malformedHeadersAreSyntaxErrorsWithAPosition(text: String) throws {
        let issue = try #require(parseError(text))
        #expect(issue.message.hasPrefix("TOML syntax error: "))
        #expect(issue.line != nil && issue.column != nil)
    }

    @Test func theHeaderThatAbortedTOMLKitIsReportedInEveryKindOfFile() throws {
        let text = "[[[1]]]\n"
        #expect(throws: ConfigError.self) { try ProtocolFile.parse(text, file: "p.toml") }
        #expect(throws: ConfigError.self) { try HardwareProfileFile.parse(text, file: "h.toml") }
        do { _ = try ProtocolFile.parse("name = 1\n[[[ broken", file: "p.toml") } catch {
            #expect(error.description == "p.toml: line 2, column 3: TOML syntax error: expected a key, found '['")
        }
    }

    @Test func nestingTensOfThousandsDeepIsRefusedWithoutOverflowingTheStack() throws {
        let n = 50_000
        let cases = [
            "a" + String(repeating: ".a", count: n) + " = 1\n",
            "[" + Array(repeating: "a", count: n).joined(separator: ".") + "]\n",
            "x = " + String(repeating: "[", count: n) + String(repeating: "]", count: n) + "\n",
            "x = " + String(repeating: "{a=", count: n) + "1" + String(repeating: "}", count: n) + "\n",
            String(repeating: "[[a]]\n[a.b]\n", count: 3) + "[" + Array(repeating: "a", count: 40).joined(separator: ".") + "]\n",
        ]
        for text in cases {
            let issue = try #require(parseError(text))
            #expect(issue.message.hasPrefix("refused: "), "\(issue)")
            #expect(issue.message.contains("32"))
            #expect(issue.line != nil)
        }
    }

    @Test func depthThirtyTwoIsAcceptedAndThirtyThreeRefused() {
        func arrays(_ depth: Int) -> String { "x = " + String(repeating: "[", count: depth) + String(repeating: "]", count: depth) }
        #expect(parseError(arrays(32)) == nil)
        #expect(parseError(arrays(33))?.message.hasPrefix("refused") == true)
        let header32 = "[" + Array(repeating: "t", count: 32).joined(separator: ".") + "]"
        #expect(parseError(header32) == nil)
        #expect(parseError(header32 + "\nx = 1") == nil)
        #expect(parseError(header32 + "\nx = []")?.message.hasPrefix("refused") == true)
    }

    @Test func documentsOverOneMebibyteAreRefused() {
        let big = "# " + String(repeating: "x", count: TOMLLimits.maxBytes) + "\n"
        #expect(parseError(big)?.message.contains("limit is 1048576 bytes") == true)
    }

    @Test func integersBeyondSixtyFourBitsAreRefusedNotWrapped() throws {
        let root = try TOMLNode.parse("a = 9223372036854775807\nb = -9223372036854775808\nc = 0x7fffffffffffffff", file: "t")
        #expect(root["a"] == .int(.max))
        #expect(root["b"] == .int(.min))
        #expect(root["c"] == .int(.max))
        for text in ["a = 9223372036854775808", "a = -9223372036854775809", "a = 0xffffffffffffffff", "a = 99999999999999999999999"] {
            #expect(parseError(text)?.message.contains("outside the 64-bit range") == true, "\(text)")
        }
    }

    @Test func hugeFloatsParseAsNumbersForTheReadersToRangeCheck() throws {
        let root = try TOMLNode.parse("a = 1e19\nb = 1e300\nc = 1e400\nd = -0.0\ne = 5e-324\nf = nan", file: "t")
        #expect(root["a"] == .double(1e19))
        #expect(root["c"] == .double(.infinity))
        #expect(root["c"]?.numberValue == nil)
        if case .double(let d)? = root["d"] { #expect(d == 0 && d.sign == .minus) } else { Issue.record("d is not a float") }
        #expect(root["e"] == .double(.leastNonzeroMagnitude))
        #expect(root["f"]?.numberValue == nil)
    }

    @Test func errorPositionsCountLinesAndCharacters() throws {
        let issue = try #require(parseError("a = 1\r\nb = \"é\" x\n"))
        #expect(issue.line == 2)
        #expect(issue.column == 9)
        let dup = try #require(parseError("[t]\nk = 1\nk = 2\n"))
        #expect(dup.line == 3 && dup.message.contains("duplicate key \"k\""))
    }

    @Test func aByteOrderMarkIsSkippedAndInvalidUTF8Refused() throws {
        #expect(try TOMLNode.parse(Array("\u{FEFF}a = 1".utf8), file: "t")["a"] == .int(1))
        #expect(throws: ConfigError.self) { try TOMLNode.parse([0x61, 0x20, 0x3D, 0x20, 0x22, 0xFF, 0x22], file: "t") }
    }

    @Test func tableRulesOfTOML() {
        #expect(parseError("[a]\n[a]") != nil)
        #expect(parseError("a.b = 1\n[a]") != nil)
        #expect(parseError("a = {b = 1}\na.c = 2") != nil)
        #expect(parseError("a = {}\n[a.b]") != nil)
        #expect(parseError("a = []\n[[a]]") != nil)
        #expect(parseError("[[a]]\n[a]") != nil)
        #expect(parseError("[a.b]\n[a]\nb.c = 1") != nil)
        #expect(parseError("[a.b.c]\n[a]\nb.d = 1") == nil)
        #expect(parseError("[fruit]\napple.color = 1\n[fruit.apple.texture]\nsmooth = true") == nil)
        #expect(parseError("[[a]]\n[a.b]\n[[a]]\n[a.b]") == nil)
    }

    @Test func everyPrefixOfEveryShippedFileParsesOrFailsCleanly() throws {
        for path in shippedTOMLFiles() {
            let bytes = Array(try String(contentsOfFile: path, encoding: .utf8).utf8)
            for end in 0...bytes.count {
                do { _ = try TOMLNode.parse(Array(bytes[0..<end]), file: path) } catch {
                    let issue = try #require(error.issues.first)
                    #expect(issue.line.map { $0 >= 1 } ?? false)
                }
            }
        }
    }

    @Test func manyThreadsParseAtOnce() throws {
        let texts = try shippedTOMLFiles().map { try String(contentsOfFile: $0, encoding: .utf8) }
        let expected = texts.map { try? TOMLNode.parse($0, file: "t") }
        let mismatches = Mutex(0)
        DispatchQueue.concurrentPerform(iterations: 64) { i in
            for (k, text) in texts.enumerated() where (try? TOMLNode.parse(text, file: "t\(i)")) != expected[k] {
                mismatches.withLock { $0 += 1 }
            }
        }
        #expect(mismatches.withLock { $0 } == 0)
        #expect(expected.allSatisfy { $0 != nil })
    }
}

import Synchronization

let repoRoot: String = {
    var url = URL(fileURLWithPath: #filePath)
    for _ in 0..<3 { url.deleteLastPathComponent() }
    return url.path
}()

func shippedTOMLFiles() -> [String] {
    ["protocols", "hardware", "scenarios"].flatMap { dir -> [String] in
        let d = repoRoot + "/" + dir
        return ((try? FileManager.default.contentsOfDirectory(atPath: d)) ?? []).filter { $0.hasSuffix(".toml") }.sorted().map { d + "/" + $0 }
    }
}
