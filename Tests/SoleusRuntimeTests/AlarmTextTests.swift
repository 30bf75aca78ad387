import Testing
import SoleusCore
@testable import SoleusRuntime

/// The operator's alarm text says which of a condition's checks fired, from the detail's `check`,
/// not from the size of the numbers.
@Suite struct AlarmTextTests {

    @Test func riseInletClosedNamesItsCause() {
        let trims = describeAlarm(.riseInletClosed, AlarmDetail(chamber: 1, value: 10, limit: 10, check: 1), names: ["ankle", "calf"])
        #expect(trims == "rise-inlet-closed — calf needed 10 exhaust trims in the window while holding (limit 10)")
        let rise = describeAlarm(.riseInletClosed, AlarmDetail(chamber: 0, value: 12.5, limit: 10), names: ["ankle", "calf"])
        #expect(rise == "rise-inlet-closed — ankle rose 12.5 mmHg with both valves closed (limit 10.0 mmHg)")
        // A small closed-rise limit is still a rise, whatever its size.
        let small = describeAlarm(.riseInletClosed, AlarmDetail(chamber: 0, value: 3.5, limit: 3), names: ["ankle", "calf"])
        #expect(small.contains("rose 3.5 mmHg"))
    }
}
