import CGPIOD
import CModbus

/// The C libraries the hardware backends are built on, as linked into this binary.
public enum SystemLibraries {
    /// libgpiod's version string (Debian bookworm: 1.6.3, the v1 API).
    public static var gpiodVersion: String { String(cString: gpiod_version_string()) }
    /// True when built against the libgpiod v1 API.
    public static var gpiodIsV1: Bool { soleus_gpio_api_v1 == 1 }
    /// libmodbus's version (Debian bookworm: 3.1.6).
    public static var modbusVersion: String {
        "\(libmodbus_version_major).\(libmodbus_version_minor).\(libmodbus_version_micro)"
    }
}
