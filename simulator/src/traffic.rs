//! What a simulated metered LoadMaster reports every five minutes: plausible traffic with a
//! daily shape (quiet at night UTC, busiest mid-afternoon), quieter weekends, short bursts,
//! and about one unit in ten nearly idle. Everything follows from the appliance's number
//! and the time, so a test (or a second run) sees the same figures.

use bandpool_domain::metered::{UsageSample, VirtualServiceBytes};

/// One step of SplitMix64: a well-spread hash of a number.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// A number in [0, 1) from a hash.
fn unit(hash: u64) -> f64 {
    (hash >> 11) as f64 / (1u64 << 53) as f64
}

/// The appliance's busiest throughput in megabits per second (0 for an idle one's base).
fn scale_mbps(number: usize) -> f64 {
    let h = mix(number as u64);
    if h.is_multiple_of(10) {
        // Idle: licensed but carrying next to nothing.
        return 0.05;
    }
    // From 20 Mb/s to about 2 Gb/s, most units at the low end.
    20.0 * (100f64).powf(unit(mix(h)).powi(2))
}

/// The share of its busiest throughput an appliance carries at `at` (Unix seconds UTC).
fn shape(at: i64) -> f64 {
    let hour = (at.rem_euclid(86_400)) as f64 / 3_600.0;
    // A cosine day: lowest at 03:00 UTC, highest at 15:00.
    let day = 0.5 - 0.5 * ((hour - 3.0) / 24.0 * std::f64::consts::TAU).cos();
    // 1970-01-01 was a Thursday: days 2 and 3 of each week are Saturday and Sunday.
    let weekday = (at.div_euclid(86_400)).rem_euclid(7);
    let week = if matches!(weekday, 2 | 3) { 0.55 } else { 1.0 };
    (0.15 + 0.85 * day) * week
}

/// Appliance `number`'s sample at `at`, for `license_id` and `serial_no`.
pub fn sample(
    number: usize,
    ip_address: &str,
    license_id: &str,
    serial_no: &str,
    at: i64,
) -> UsageSample {
    let interval = at.div_euclid(300) as u64;
    let h = mix(mix(number as u64) ^ interval);
    let noise = 0.9 + 0.2 * unit(h);
    // One interval in forty is a burst of two to three times the usual.
    let burst = if h.is_multiple_of(40) {
        2.0 + unit(mix(h))
    } else {
        1.0
    };
    let mbps = scale_mbps(number) * shape(at) * noise * burst;
    let bytes_per_second = (mbps * 1_000_000.0 / 8.0) as i64;
    // Answers are larger than questions: a quarter in, three quarters out.
    let bytes_in = bytes_per_second / 4;
    let bytes_out = bytes_per_second - bytes_in;
    let services = crate::naming::virtual_services(number, ip_address);
    let shares = services.len() as i64;
    let interval_bytes = bytes_per_second * 300;
    UsageSample {
        license_id: license_id.to_string(),
        serial_no: serial_no.to_string(),
        sampled_at: at,
        bytes_in_per_second: bytes_in,
        bytes_out_per_second: bytes_out,
        ssl_tps: (mbps * 2.0) as i64,
        virtual_services: services
            .into_iter()
            .enumerate()
            .map(|(i, vs)| VirtualServiceBytes {
                name: vs.address,
                // The first service carries most of it.
                bytes: if i == 0 {
                    interval_bytes - interval_bytes / (2 * shares) * (shares - 1)
                } else {
                    interval_bytes / (2 * shares)
                },
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Monday 2026-11-23 at `hour`:00 UTC.
    fn monday(hour: i64) -> i64 {
        1_795_392_000 + hour * 3_600
    }

    fn mbps(number: usize, at: i64) -> f64 {
        let s = sample(number, "10.20.0.1", "l", "s", at);
        (s.bytes_in_per_second + s.bytes_out_per_second) as f64 * 8.0 / 1e6
    }

    #[test]
    fn days_are_busier_than_nights_and_weekdays_than_weekends() {
        let busy: Vec<usize> = (1..200)
            .filter(|n| !mix(*n as u64).is_multiple_of(10))
            .collect();
        let total = |at: i64| busy.iter().map(|n| mbps(*n, at)).sum::<f64>();
        assert!(total(monday(15)) > 3.0 * total(monday(3)));
        let saturday = monday(15) + 5 * 86_400;
        assert!(total(saturday) < 0.7 * total(monday(15)));
    }

    #[test]
    fn some_units_idle_and_every_sample_is_valid() {
        let idle = (1..200).filter(|n| mbps(*n, monday(15)) < 1.0).count();
        assert!((5..=40).contains(&idle), "{idle} idle of 199");
        for n in 1..200 {
            for hour in [0, 9, 15, 23] {
                let s = sample(n, "10.20.0.1", "l", "s", monday(hour));
                s.check(monday(hour)).unwrap();
                assert_eq!(
                    s,
                    sample(n, "10.20.0.1", "l", "s", monday(hour)),
                    "repeatable"
                );
            }
        }
    }
}
