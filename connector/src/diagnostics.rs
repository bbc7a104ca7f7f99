//! Diagnostics, as the licensing guide's troubleshooting runs them: ping the default gateway,
//! the DNS servers and the licensing server (the portal), from where the agent runs. The
//! portal asks (a heartbeat answers `run_diagnostics`); a LoadMaster's administrator can also
//! run them through the local API (`POST /v1/diagnostics`).
//!
//! A ping is an ICMP echo (`surge-ping`: an unprivileged ICMP socket where the system allows
//! one, else a raw socket, which needs root or CAP_NET_RAW). Where the agent may send no ICMP
//! at all, the DNS servers and the portal are tried with a TCP connection instead (port 53,
//! the portal's port), and the gateway's line says why it could not be pinged.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use bandpool_domain::connector::{
    DiagnosticCheck, DiagnosticMethod, DiagnosticTarget, DiagnosticsReport,
};

/// How long one check waits for an answer.
const WAIT: Duration = Duration::from_secs(2);

/// Run every check at once; `portal_url` is the portal the agent relays to.
pub async fn run(portal_url: &str) -> DiagnosticsReport {
    let gateway = std::fs::read_to_string("/proc/net/route")
        .ok()
        .and_then(|table| default_gateway(&table));
    let dns = std::fs::read_to_string("/etc/resolv.conf")
        .map(|conf| dns_servers(&conf))
        .unwrap_or_default();
    let mut checks = Vec::new();
    checks.push(match gateway {
        Some(ip) => probe(DiagnosticTarget::DefaultGateway, ip, None).await,
        None => untried(
            DiagnosticTarget::DefaultGateway,
            "no default route is configured",
        ),
    });
    if dns.is_empty() {
        checks.push(untried(
            DiagnosticTarget::DnsServer,
            "no DNS server is configured (/etc/resolv.conf names none)",
        ));
    }
    for ip in dns.iter().take(4) {
        checks.push(probe(DiagnosticTarget::DnsServer, *ip, Some(53)).await);
    }
    checks.push(portal(portal_url).await);
    DiagnosticsReport { checks }
}

fn untried(target: DiagnosticTarget, why: &str) -> DiagnosticCheck {
    DiagnosticCheck {
        target,
        address: "—".to_string(),
        method: DiagnosticMethod::None,
        ok: false,
        round_trip_micros: None,
        message: format!("not checked: {why}"),
    }
}

/// The portal's host, resolved, pinged; its port tried over TCP where ICMP is not allowed.
async fn portal(portal_url: &str) -> DiagnosticCheck {
    let target = DiagnosticTarget::Portal;
    let Ok(url) = reqwest::Url::parse(portal_url) else {
        return untried(target, "the portal's address is not a URL");
    };
    let (Some(host), Some(port)) = (url.host_str(), url.port_or_known_default()) else {
        return untried(target, "the portal's address names no host");
    };
    let shown = format!("{host}:{port}");
    let resolved = tokio::time::timeout(WAIT, tokio::net::lookup_host((host, port))).await;
    let ip = match resolved {
        Ok(Ok(mut addresses)) => match addresses.next() {
            Some(address) => address.ip(),
            None => return failed(target, shown, "its name resolves to no address"),
        },
        Ok(Err(e)) => return failed(target, shown, &format!("its name does not resolve: {e}")),
        Err(_) => return failed(target, shown, "its name did not resolve in time"),
    };
    let mut check = probe(target, ip, Some(port)).await;
    check.address = if host == ip.to_string() {
        shown
    } else {
        format!("{shown} ({ip})")
    };
    check
}

fn failed(target: DiagnosticTarget, address: String, why: &str) -> DiagnosticCheck {
    DiagnosticCheck {
        target,
        address,
        method: DiagnosticMethod::None,
        ok: false,
        round_trip_micros: None,
        message: format!("failed: {why}"),
    }
}

/// Ping `ip`; where ICMP is not allowed and a `tcp_port` is given, connect to it instead.
async fn probe(target: DiagnosticTarget, ip: IpAddr, tcp_port: Option<u16>) -> DiagnosticCheck {
    let address = ip.to_string();
    let answered = |method: DiagnosticMethod, took: Duration| DiagnosticCheck {
        target,
        address: address.clone(),
        method,
        ok: true,
        round_trip_micros: Some(took.as_micros() as u64),
        message: format!(
            "answered in {:.1} ms ({})",
            took.as_secs_f64() * 1000.0,
            match method {
                DiagnosticMethod::Icmp => "ICMP echo".to_string(),
                _ => format!("TCP connection to port {}", tcp_port.unwrap_or_default()),
            }
        ),
    };
    let silent = |method: DiagnosticMethod, why: String| DiagnosticCheck {
        target,
        address: address.clone(),
        method,
        ok: false,
        round_trip_micros: None,
        message: format!("no answer: {why}"),
    };
    match ping(ip).await {
        Ping::Answered(took) => answered(DiagnosticMethod::Icmp, took),
        Ping::Silent(why) => silent(DiagnosticMethod::Icmp, why),
        Ping::NotAllowed(why) => match tcp_port {
            Some(port) => {
                let started = Instant::now();
                match tokio::time::timeout(
                    WAIT,
                    tokio::net::TcpStream::connect(SocketAddr::new(ip, port)),
                )
                .await
                {
                    Ok(Ok(_)) => answered(DiagnosticMethod::Tcp, started.elapsed()),
                    Ok(Err(e)) => silent(
                        DiagnosticMethod::Tcp,
                        format!("TCP connection to port {port}: {e} (ICMP: {why})"),
                    ),
                    Err(_) => silent(
                        DiagnosticMethod::Tcp,
                        format!("TCP connection to port {port} timed out (ICMP: {why})"),
                    ),
                }
            }
            None => DiagnosticCheck {
                target,
                address: address.clone(),
                method: DiagnosticMethod::None,
                ok: false,
                round_trip_micros: None,
                message: format!("not checked: {why}"),
            },
        },
    }
}

enum Ping {
    Answered(Duration),
    Silent(String),
    /// This process may open no ICMP socket.
    NotAllowed(String),
}

async fn ping(ip: IpAddr) -> Ping {
    use surge_ping::{Client, Config, PingIdentifier, PingSequence, ICMP};
    let config = match ip {
        IpAddr::V4(_) => Config::default(),
        IpAddr::V6(_) => Config::builder().kind(ICMP::V6).build(),
    };
    // An unprivileged ICMP socket first, then a raw one (`surge-ping` tries both).
    let client = match Client::new(&config) {
        Ok(client) => client,
        Err(e) => {
            return Ping::NotAllowed(format!(
                "this agent may not send ICMP ({e}); run it with CAP_NET_RAW or allow its group \
                 in net.ipv4.ping_group_range"
            ))
        }
    };
    let mut pinger = client.pinger(ip, PingIdentifier(rand::random())).await;
    pinger.timeout(WAIT);
    match pinger.ping(PingSequence(0), &[0u8; 16]).await {
        Ok((_, took)) => Ping::Answered(took),
        Err(surge_ping::SurgeError::Timeout { .. }) => {
            Ping::Silent(format!("no echo reply within {} s", WAIT.as_secs()))
        }
        Err(e) => Ping::Silent(e.to_string()),
    }
}

/// The default route's gateway in Linux's `/proc/net/route` (little-endian hex addresses).
pub fn default_gateway(table: &str) -> Option<IpAddr> {
    table.lines().skip(1).find_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let (destination, gateway, mask) = (fields.get(1)?, fields.get(2)?, fields.get(7)?);
        if *destination != "00000000" || *mask != "00000000" {
            return None;
        }
        let raw = u32::from_str_radix(gateway, 16).ok()?;
        (raw != 0).then(|| IpAddr::V4(Ipv4Addr::from(raw.swap_bytes())))
    })
}

/// The `nameserver` lines of `/etc/resolv.conf`.
pub fn dns_servers(conf: &str) -> Vec<IpAddr> {
    conf.lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            (words.next()? == "nameserver").then_some(())?;
            // A scoped IPv6 address (fe80::1%eth0) is tried without its scope.
            words.next()?.split('%').next()?.parse().ok()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_gateway_and_dns_servers_are_read_from_the_system_files() {
        let table =
            "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n\
                     eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n\
                     eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n";
        assert_eq!(default_gateway(table), Some("192.0.2.1".parse().unwrap()));
        assert_eq!(default_gateway("Iface\tDestination\n"), None);
        let conf = "# generated\nsearch example.test\nnameserver 10.0.0.2\nnameserver fe80::1%eth0\nnameserver bogus\n";
        assert_eq!(
            dns_servers(conf),
            vec![
                "10.0.0.2".parse::<IpAddr>().unwrap(),
                "fe80::1".parse().unwrap()
            ]
        );
    }

    #[tokio::test]
    async fn a_local_portal_answers_and_every_check_has_a_line() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let report = run(&format!("http://127.0.0.1:{port}")).await;
        let portal = report
            .checks
            .iter()
            .find(|c| c.target == DiagnosticTarget::Portal)
            .unwrap();
        // By ICMP where this process may send it, else by TCP to the listener above.
        assert!(portal.ok, "{portal:?}");
        assert_eq!(portal.address, format!("127.0.0.1:{port}"));
        assert!(report
            .checks
            .iter()
            .any(|c| c.target == DiagnosticTarget::DefaultGateway));
        assert!(report.checks.iter().all(|c| !c.message.is_empty()));
        assert!(report.checks.len() <= bandpool_domain::connector::MAX_DIAGNOSTIC_CHECKS);
    }
}
