import Foundation
import Testing
import SoleusCore
import SoleusSimulation
@testable import SoleusConfig

/// Issue 7, item 6: one bounded table of safety thresholds; profiles outside it are rejected, and
/// `docs/safety.md` lists the same rows.
@Suite struct SafetyBoundsTests {
    func with(_ extra: String) -> String { profileText + "\n" + extra }

    @Test(arguments: [
        ("[safety]\nstale_after_s = 600", "safety.stale_after_s"),
        ("[safety]\nover_target_band_mmHg = 300", "safety.over_target_band_mmHg"),
        ("[safety]\nsensor_max_mmHg = 1000", "safety.sensor_max_mmHg"),
        ("[safety]\nhold_trims = 40", "safety.hold_trims"),
        ("[safety]\nleak_duty = 0.3\nunexplained_air_duty = 0.2", "safety.unexplained_air_duty"),
        ("[safety]\noverrun_after_s = 0.05\nstale_after_s = 0.04", "safety.overrun_after_s"),
    ])
    func aThresholdOutsideItsRangeIsRejectedNamingTheKey(extra: String, key: String) {
        let issues = profileIssues(with(extra))
        #expect(issues.contains { $0.keyPath == key }, "\(issues)")
    }

    @Test func theRejectionSaysTheRangeAndWhy() {
        let issue = profileIssues(with("[safety]\nstale_after_s = 600")).first { $0.keyPath == "safety.stale_after_s" }
        #expect(issue?.message.contains("between 0.020 and 0.250 s") == true)
        #expect(issue?.message.contains("unwatched") == true)
    }

    @Test(arguments: [
        ("actuator_delay_s", "1"), ("sensor_latency_s", "0.2"), ("sensor_full_scale_mmHg", "140"),
    ])
    func hardwareTheSupervisorReliesOnIsBounded(key: String, value: String) {
        let text = profileText.replacingOccurrences(of: "seed = 7", with: "seed = 7\n\(key) = \(value)")
        #expect(profileIssues(text).contains { $0.keyPath == "simulation.\(key)" })
    }

    @Test func aThresholdInsideItsRangeIsApplied() throws {
        let p = try HardwareProfileFile.parse(with("[safety]\nover_target_band_mmHg = 8\nhold_trims = 6"), file: "hw.toml")
        #expect(p.safety.overTargetBand == 8)
        #expect(p.safety.holdTrims == 6)
    }

    @Test func rateLimitsFollowThePumpAndGarment() throws {
        let slow = try HardwareProfileFile.parse(profileText, file: "hw.toml")
        let fast = try HardwareProfileFile.parse(profileText.replacingOccurrences(of: "seed = 7", with: "seed = 7\npump_max_flow_nl_s = 1.5"), file: "hw.toml")
        #expect(fast.safety.maxRiseRate > 4 * slow.safety.maxRiseRate)
        // The ankle (V0 0.2 L, C 0.008 L/mmHg) with the default 0.3 NL/s pump: 2 × 36 mmHg/s.
        #expect(abs(slow.safety.maxRiseRate - 72.6) < 1)
        #expect(slow.safety.maxFallRate > 50)
        // Explicit values win.
        let set = try HardwareProfileFile.parse(with("[safety]\nmax_rise_rate_mmHg_s = 500"), file: "hw.toml")
        #expect(set.safety.maxRiseRate == 500)
    }

    @Test func noisySensorsGetTheQuietFrozenCheck() throws {
        let p = try HardwareProfileFile.parse(profileText, file: "hw.toml")
        #expect(p.safety.frozenQuiet == PressureRateRule.frozenQuietSeconds)
        let quiet = try HardwareProfileFile.parse(profileText.replacingOccurrences(of: "seed = 7", with: "seed = 7\nsensor_noise_mmHg = 0"), file: "hw.toml")
        #expect(quiet.safety.frozenQuiet == 0)
    }

    @Test func aProfileWithoutSafetyHardwareIsAcceptedWithWarningsNamingTheHazards() throws {
        let bare = try HardwareProfileFile.parse(profileText, file: "hw.toml")
        #expect(bare.warnings.count == 3)
        #expect(bare.warnings.contains { $0.contains("safety_relay") && $0.contains("welded") })
        #expect(bare.warnings.contains { $0.contains("emergency_stop") && $0.contains("link") })
        #expect(bare.warnings.contains { $0.contains("redundant_sensors") && $0.contains("drifting") })
        let full = try HardwareProfileFile.parse(with("[protection]\nsafety_relay = true\nemergency_stop = \"direct\"\nredundant_sensors = true"), file: "hw.toml")
        #expect(full.warnings.isEmpty)
        guard case .simulated(let params) = full.backend else { return }
        #expect(params.safetyRelay && params.directEmergencyStop && params.redundantSensors)
        #expect(profileIssues(with("[protection]\nemergency_stop = \"button\"")).contains { $0.keyPath == "protection.emergency_stop" })
    }

    /// docs/safety.md's threshold table has one row per ``SafetyThreshold`` with the same key,
    /// unit, default and range.
    @Test func docsListEveryThresholdWithItsRange() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let doc = try String(contentsOf: url.appendingPathComponent("docs/safety.md"), encoding: .utf8)
        let rows = doc.split(separator: "\n").filter { $0.hasPrefix("| `") }
        for t in SafetyThreshold.table {
            let decimals = t.integer ? 0 : 3
            let range = "\(formatFixed(t.range.lowerBound, decimals: decimals)) – \(formatFixed(t.range.upperBound, decimals: decimals))"
            let row = rows.first { $0.hasPrefix("| `\(t.key)` |") }
            #expect(row != nil, "docs/safety.md has no row for \(t.key)")
            #expect(row?.contains("| \(t.unit) |") == true, "\(t.key): unit")
            #expect(row?.contains("| \(range) |") == true, "\(t.key): range \(range)")
        }
        for b in HardwareBound.table {
            let range = "\(formatFixed(b.range.lowerBound, decimals: 3)) – \(formatFixed(b.range.upperBound, decimals: 3))"
            #expect(rows.contains { $0.hasPrefix("| `\(b.key)` |") && $0.contains("| \(range) |") }, "docs/safety.md: \(b.key) \(range)")
        }
    }
}

/// docs/safety.md, "Loop lateness": the medium loop-overrun threshold follows the garment's rise
/// limit (10 mmHg of overshoot), short of the stale-readings limit, unless the profile sets it.
@Suite struct OverrunThresholdTests {
    func profile(_ name: String) throws -> HardwareProfile {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return try HardwareProfileFile.load(path: root.appendingPathComponent("hardware/\(name)").path)
    }

    @Test func theThresholdIsTheTimeToOvershootTenMmHgAtTheRiseLimit() throws {
        let dvt = try profile("sim-3-dvt.toml").safety
        // 10 mmHg at the DVT garment's 73 mmHg/s is 137 ms: capped at 0.9 × 100 ms.
        #expect(dvt.maxRiseRate < 100)
        #expect(abs(dvt.overrunAfter - 0.09) < 1e-9)
        let foot = try profile("sim-1-foot.toml").safety
        #expect(foot.maxRiseRate > 300)
        #expect(abs(foot.overrunAfter - 10 / foot.maxRiseRate) < 1e-9)
        #expect(foot.overrunAfter < foot.staleAfter)
    }
}
