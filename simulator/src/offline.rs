//! One LoadMaster with no route to a connector, licensed offline: it shows its serial number,
//! its access code and the link to the portal's Offline Licensing page (filled in), and it
//! applies the license text pasted back only if the portal's key signed it unaltered and it
//! was made for this unit.

use std::process::ExitCode;

use bandpool_domain::offline::{public_key_from_hex, verify};

/// One LoadMaster licensed offline.
#[derive(clap::Subcommand)]
pub enum Command {
    /// What the LoadMaster's Offline Licensing page shows: its serial number, its access code
    /// and the link that opens the portal's page filled in.
    #[command(name = "offline-link")]
    Link {
        /// The portal's address.
        #[arg(long)]
        portal: String,
        #[arg(long)]
        serial: String,
        /// hardware, virtual, bare-metal or cloud.
        #[arg(long, default_value = "virtual")]
        platform: String,
        /// new-license, update, trial, upgrade-trial or change-owner.
        #[arg(long, default_value = "new-license")]
        action: String,
        #[arg(long, default_value = "vlm-200")]
        license_type: String,
        #[arg(long, default_value = "10.30.0.1")]
        ip: String,
        #[arg(long)]
        name: Option<String>,
        #[arg(long, default_value = "7.2.60.0")]
        firmware: String,
    },
    /// Apply license text (pasted from the portal) to the LoadMaster: checked against the
    /// portal's public key and this unit's serial number and access code. Exits 1 when it is
    /// refused.
    #[command(name = "apply-license")]
    Apply {
        #[arg(long)]
        serial: String,
        /// The unit's access code (default: the one `offline-link` shows for the serial).
        #[arg(long)]
        access_code: Option<String>,
        /// The file holding the text (`-`: standard input).
        #[arg(long)]
        text: String,
        /// The portal whose key to fetch (`/api/v1/licensing-key`)...
        #[arg(long, required_unless_present = "public_key")]
        portal: Option<String>,
        /// ...or its public key, hex, as the LoadMaster's administrator copied it.
        #[arg(long)]
        public_key: Option<String>,
    },
}

/// The access code a simulated LoadMaster shows: derived from its serial number, so the same
/// unit shows the same code run after run (a real one keeps its own).
pub fn access_code(serial: &str) -> String {
    // FNV-1a, twice with different offsets: stable across runs and Rust versions.
    let fnv = |offset: u64| {
        serial.bytes().fold(offset, |hash, byte| {
            (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
        })
    };
    let (a, b) = (fnv(0xcbf2_9ce4_8422_2325), fnv(0x8422_2325_cbf2_9ce4));
    format!("LM-{:08X}-{:08X}", a as u32, b as u32)
}

/// The link a LoadMaster offers: the portal's Offline Licensing page with its fields filled.
pub fn link(portal: &str, fields: &[(&str, &str)]) -> String {
    let query: String = fields
        .iter()
        .map(|(k, v)| format!("{k}={}", encode(v)))
        .collect::<Vec<_>>()
        .join("&");
    format!("{}/offline-licensing?{query}", portal.trim_end_matches('/'))
}

fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

pub fn run(command: Command) -> ExitCode {
    match command {
        Command::Link {
            portal,
            serial,
            platform,
            action,
            license_type,
            ip,
            name,
            firmware,
        } => {
            let code = access_code(&serial);
            let name = name.unwrap_or_else(|| format!("sim-offline-{serial}"));
            println!("serial number: {serial}");
            println!("access code: {code}");
            println!(
                "{}",
                link(
                    &portal,
                    &[
                        ("platform", &platform),
                        ("action", &action),
                        ("serial_no", &serial),
                        ("access_code", &code),
                        ("firmware_version", &firmware),
                        ("license_type_id", &license_type),
                        ("ip_address", &ip),
                        ("device_name", &name),
                    ],
                )
            );
            ExitCode::SUCCESS
        }
        Command::Apply {
            serial,
            access_code: code,
            text,
            portal,
            public_key,
        } => match apply(&serial, code, &text, portal, public_key) {
            Ok(line) => {
                println!("{line}");
                ExitCode::SUCCESS
            }
            Err(why) => {
                eprintln!("license refused: {why}");
                ExitCode::from(1)
            }
        },
    }
}

/// Apply the text in the file `text` to the unit, as `apply-license` does; what it applied, or
/// why it refused.
pub fn apply(
    serial: &str,
    code: Option<String>,
    text: &str,
    portal: Option<String>,
    public_key: Option<String>,
) -> Result<String, String> {
    let text = if text == "-" {
        std::io::read_to_string(std::io::stdin())
            .map_err(|e| format!("cannot read the text: {e}"))?
    } else {
        std::fs::read_to_string(text).map_err(|e| format!("cannot read {text}: {e}"))?
    };
    let key = match (public_key, portal) {
        (Some(key), _) => key,
        (None, Some(portal)) => fetch_key(&portal)?,
        (None, None) => return Err("give --portal or --public-key".into()),
    };
    let key = public_key_from_hex(&key)?;
    let code = code.unwrap_or_else(|| access_code(serial));
    let grant = verify(&text, &key, Some((serial, &code))).map_err(|e| e.to_string())?;
    let license = grant.license;
    Ok(format!(
        "license applied: {} ({}), {} Mb/s, license {}{}; a reboot is recommended",
        license.license_name,
        license.kind.label(),
        license.bandwidth_mbps,
        license.license_id,
        license
            .expires_at
            .map(|t| format!(", until {}", bandpool_domain::format::format_datetime(t)))
            .unwrap_or_default()
    ))
}

fn fetch_key(portal: &str) -> Result<String, String> {
    #[derive(serde::Deserialize)]
    struct Key {
        public_key: String,
    }
    let url = format!("{}/api/v1/licensing-key", portal.trim_end_matches('/'));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(async {
        let answer = reqwest::get(&url)
            .await
            .map_err(|e| format!("cannot reach {url}: {e}"))?;
        if !answer.status().is_success() {
            return Err(format!("{url} answered {}", answer.status()));
        }
        let key: Key = answer
            .json()
            .await
            .map_err(|e| format!("{url} did not answer a key: {e}"))?;
        Ok(key.public_key)
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_unit_keeps_its_access_code_and_its_link_is_encoded() {
        let code = super::access_code("1234567");
        assert_eq!(code, super::access_code("1234567"));
        assert_ne!(code, super::access_code("1234568"));
        assert!(bandpool_domain::offline::check_access_code(&code).is_ok());
        assert_eq!(
            super::link("http://p/", &[("device_name", "lm one&two")]),
            "http://p/offline-licensing?device_name=lm%20one%26two"
        );
    }
}
