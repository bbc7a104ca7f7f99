//! How the simulated LoadMasters are named and numbered. Appliance `n` (counting from 1)
//! is `<name prefix>-<n, 4 digits>`, has serial number `serial base + n`, and an IP address
//! made of the prefix and the octets `n` gives (`10.20` + appliance 1 → `10.20.0.1`;
//! the last octet runs 1..=254), so every appliance of a fleet is distinct.

/// One simulated LoadMaster's identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplianceId {
    /// 1-based number in the fleet.
    pub number: usize,
    pub device_name: String,
    pub serial_no: String,
    pub ip_address: String,
}

/// The Virtual Services appliance `number` runs: one to three, on its own address
/// (`web-443` at `10.20.0.1:443`, ...), so a fleet gives the portal services to map.
pub fn virtual_services(
    number: usize,
    ip_address: &str,
) -> Vec<bandpool_domain::connector::ReportedVirtualService> {
    const SERVICES: [(&str, u16); 3] = [("web", 443), ("mail", 25), ("api", 8443)];
    SERVICES
        .iter()
        .take(1 + number % 3)
        .map(
            |(name, port)| bandpool_domain::connector::ReportedVirtualService {
                name: format!("{name}-{port}"),
                address: format!("{ip_address}:{port}"),
            },
        )
        .collect()
}

/// What metered appliance `number` says about itself when it activates: a VMware-style MAC
/// address made from its number, a current firmware version, the hypervisor (most on
/// VMware, some on Hyper-V, KVM or Azure), and a boot a little before the fleet started.
pub fn identity(
    number: usize,
    fleet_started_at: i64,
) -> bandpool_domain::connector::ApplianceIdentity {
    const HYPERVISORS: [&str; 6] = ["VMWARE", "VMWARE", "VMWARE", "HYPERV", "KVM", "AZURE"];
    let n = number as u32;
    bandpool_domain::connector::ApplianceIdentity {
        mac_address: format!(
            "00:50:56:{:02x}:{:02x}:{:02x}",
            (n >> 16) & 0xff,
            (n >> 8) & 0xff,
            n & 0xff
        ),
        firmware_version: "7.2.59.0.22007.RELEASE".into(),
        booted_at: fleet_started_at - 60 * (number as i64 % 90),
        hypervisor: HYPERVISORS[number % HYPERVISORS.len()].into(),
        licensed_elsewhere: false,
    }
}

/// The device name of appliance `number`.
pub fn device_name(prefix: &str, number: usize) -> String {
    format!("{prefix}-{number:04}")
}

/// The serial number of appliance `number`.
pub fn serial_no(base: u64, number: usize) -> String {
    (base + number as u64).to_string()
}

fn prefix_octets(prefix: &str) -> Option<Vec<u8>> {
    let octets: Option<Vec<u8>> = prefix
        .trim_end_matches('.')
        .split('.')
        .map(|o| o.parse().ok())
        .collect();
    octets.filter(|o| (1..=3).contains(&o.len()))
}

/// How many distinct addresses a prefix of one to three octets leaves (`None`: not such a
/// prefix).
pub fn ip_capacity(prefix: &str) -> Option<usize> {
    let free = 4 - prefix_octets(prefix)?.len();
    Some(254 * 256usize.pow(free as u32 - 1))
}

/// The IP address of appliance `number` (from 1), or `None` if the prefix is not one to
/// three octets or has no room for that many appliances.
pub fn ip_address(prefix: &str, number: usize) -> Option<String> {
    let mut octets = prefix_octets(prefix)?;
    if number == 0 || number > ip_capacity(prefix)? {
        return None;
    }
    let free = 4 - octets.len();
    let mut rest = number - 1;
    let mut tail = vec![(rest % 254 + 1) as u8];
    rest /= 254;
    for _ in 1..free {
        tail.push((rest % 256) as u8);
        rest /= 256;
    }
    tail.reverse();
    octets.extend(tail);
    Some(
        octets
            .iter()
            .map(u8::to_string)
            .collect::<Vec<_>>()
            .join("."),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn names_and_serials_follow_the_number() {
        assert_eq!(device_name("sim", 7), "sim-0007");
        assert_eq!(device_name("edge", 12345), "edge-12345");
        assert_eq!(serial_no(9_000_000, 1), "9000001");
    }

    #[test]
    fn addresses_fill_the_free_octets_and_never_repeat() {
        assert_eq!(ip_address("10.20", 1).unwrap(), "10.20.0.1");
        assert_eq!(ip_address("10.20", 254).unwrap(), "10.20.0.254");
        assert_eq!(ip_address("10.20", 255).unwrap(), "10.20.1.1");
        assert_eq!(ip_address("10.20.", 255).unwrap(), "10.20.1.1");
        assert_eq!(ip_address("192.168.5", 3).unwrap(), "192.168.5.3");
        assert_eq!(ip_address("10", 1).unwrap(), "10.0.0.1");
        let all: HashSet<String> = (1..=20_000)
            .map(|n| ip_address("10.20", n).unwrap())
            .collect();
        assert_eq!(all.len(), 20_000);
        assert!(all
            .iter()
            .all(|ip| !ip.ends_with(".0") && !ip.ends_with(".255")));
    }

    #[test]
    fn prefixes_have_limits() {
        assert_eq!(ip_capacity("10.20"), Some(254 * 256));
        assert_eq!(ip_capacity("10.20.30"), Some(254));
        assert_eq!(ip_address("10.20.30", 255), None);
        assert_eq!(ip_address("10.20", 0), None);
        for bad in ["", "10.300", "a.b", "1.2.3.4", "10..20"] {
            assert_eq!(ip_capacity(bad), None, "{bad}");
        }
    }
}
