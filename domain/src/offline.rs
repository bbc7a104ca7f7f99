//! Offline licensing, for a LoadMaster with no route to a connector: a member fills in the
//! Offline Licensing form (or opens it pre-filled from the link the LoadMaster offers), the
//! portal decides exactly as it would for the same request through a connector, and answers
//! with license text signed by the deployment's own Ed25519 key. The text binds the
//! LoadMaster's serial number and access code, so it licenses that one unit; the LoadMaster
//! checks the signature against the deployment's published public key, offline.

use crate::AppError;
use serde::{Deserialize, Serialize};

/// What kind of LoadMaster asks (the form's "Platform type").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "kebab-case")]
pub enum Platform {
    Hardware,
    #[default]
    Virtual,
    BareMetal,
    Cloud,
}

impl Platform {
    pub const ALL: [Platform; 4] = [
        Platform::Hardware,
        Platform::Virtual,
        Platform::BareMetal,
        Platform::Cloud,
    ];

    pub fn key(self) -> &'static str {
        match self {
            Platform::Hardware => "hardware",
            Platform::Virtual => "virtual",
            Platform::BareMetal => "bare-metal",
            Platform::Cloud => "cloud",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Platform::Hardware => "Hardware LoadMaster",
            Platform::Virtual => "Virtual LoadMaster",
            Platform::BareMetal => "Bare metal LoadMaster",
            Platform::Cloud => "Cloud (BYOL) LoadMaster",
        }
    }

    pub fn from_key(key: &str) -> Option<Platform> {
        Platform::ALL.into_iter().find(|p| p.key() == key)
    }

    /// Only a Virtual LoadMaster runs on a hypervisor.
    pub fn has_hypervisor(self) -> bool {
        self == Platform::Virtual
    }
}

/// The form's "Choose your action", in the licensing guide's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "kebab-case")]
pub enum OfflineAction {
    #[default]
    NewLicense,
    Update,
    Trial,
    UpgradeTrial,
    ChangeOwner,
}

impl OfflineAction {
    pub const ALL: [OfflineAction; 5] = [
        OfflineAction::NewLicense,
        OfflineAction::Update,
        OfflineAction::Trial,
        OfflineAction::UpgradeTrial,
        OfflineAction::ChangeOwner,
    ];

    pub fn key(self) -> &'static str {
        match self {
            OfflineAction::NewLicense => "new-license",
            OfflineAction::Update => "update",
            OfflineAction::Trial => "trial",
            OfflineAction::UpgradeTrial => "upgrade-trial",
            OfflineAction::ChangeOwner => "change-owner",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            OfflineAction::NewLicense => "License a new LoadMaster",
            OfflineAction::Update => "Update a license",
            OfflineAction::Trial => "Get a trial license",
            OfflineAction::UpgradeTrial => "Upgrade a trial license",
            OfflineAction::ChangeOwner => "Update License Owner",
        }
    }

    pub fn from_key(key: &str) -> Option<OfflineAction> {
        OfflineAction::ALL.into_iter().find(|a| a.key() == key)
    }

    /// The fields this action asks for (besides platform and action). The guide's lists,
    /// plus what this portal keeps of every licensed LoadMaster: its serial number (every
    /// license is held by a serial) and, for a LoadMaster new to the portal, its address and
    /// a name for the License overview.
    pub fn fields(self, platform: Platform) -> Vec<OfflineField> {
        use OfflineField::*;
        let mut fields = Vec::new();
        if platform.has_hypervisor() && self != OfflineAction::ChangeOwner {
            fields.push(Hypervisor);
        }
        fields.extend([SerialNo, AccessCode]);
        if self != OfflineAction::ChangeOwner {
            fields.push(Firmware);
        }
        match self {
            OfflineAction::NewLicense => fields.extend([LicenseType, OrderId, IpAddress, Name]),
            OfflineAction::Trial => fields.extend([IpAddress, Name]),
            OfflineAction::UpgradeTrial => fields.extend([LicenseType, OrderId]),
            OfflineAction::ChangeOwner => fields.extend([IpAddress, Name]),
            OfflineAction::Update => {}
        }
        fields
    }
}

/// One field of the Offline Licensing form (its `name` is `key()`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OfflineField {
    Hypervisor,
    SerialNo,
    AccessCode,
    Firmware,
    LicenseType,
    OrderId,
    IpAddress,
    Name,
}

impl OfflineField {
    pub const ALL: [OfflineField; 8] = [
        OfflineField::Hypervisor,
        OfflineField::SerialNo,
        OfflineField::AccessCode,
        OfflineField::Firmware,
        OfflineField::LicenseType,
        OfflineField::OrderId,
        OfflineField::IpAddress,
        OfflineField::Name,
    ];

    pub fn key(self) -> &'static str {
        match self {
            OfflineField::Hypervisor => "hypervisor",
            OfflineField::SerialNo => "serial_no",
            OfflineField::AccessCode => "access_code",
            OfflineField::Firmware => "firmware_version",
            OfflineField::LicenseType => "license_type_id",
            OfflineField::OrderId => "order_id",
            OfflineField::IpAddress => "ip_address",
            OfflineField::Name => "device_name",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            OfflineField::Hypervisor => "Hypervisor",
            OfflineField::SerialNo => "Serial number",
            OfflineField::AccessCode => "LoadMaster access code",
            OfflineField::Firmware => "Firmware version",
            OfflineField::LicenseType => "License type",
            OfflineField::OrderId => "Order ID",
            OfflineField::IpAddress => "IP address",
            OfflineField::Name => "LoadMaster name",
        }
    }

    /// A line under the field on the form, where it helps.
    pub fn hint(self) -> Option<&'static str> {
        match self {
            OfflineField::OrderId => Some("Licensing a new LoadMaster: leave it empty for a license from your pool, or give the Order ID for a permanent license from that order."),
            OfflineField::Name => Some("Optional: how the License overview names it (empty: LoadMaster and its serial number)."),
            OfflineField::AccessCode => Some("As the LoadMaster's Offline Licensing page shows it."),
            _ => None,
        }
    }

    /// A field `action` may leave empty: the Order ID of a new license (a pooled one needs
    /// none; upgrading a trial needs one) and the name (the serial number stands in).
    pub fn optional(self, action: OfflineAction) -> bool {
        match self {
            OfflineField::OrderId => action != OfflineAction::UpgradeTrial,
            OfflineField::Name => true,
            _ => false,
        }
    }
}

/// The hypervisors a Virtual LoadMaster runs on.
pub const HYPERVISORS: [&str; 6] = [
    "VMware",
    "Hyper-V",
    "KVM",
    "Xen",
    "Nutanix AHV",
    "Oracle VirtualBox",
];

/// An Offline Licensing request, as the form (or `POST /api/v1/offline-licenses`) sends it.
/// Fields the action does not ask for are ignored.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct OfflineRequest {
    /// Made when the form is shown, so a form posted twice asks once.
    pub idempotency_key: String,
    pub platform: Platform,
    pub action: OfflineAction,
    #[serde(default)]
    pub hypervisor: String,
    #[serde(default)]
    pub serial_no: String,
    #[serde(default)]
    pub access_code: String,
    #[serde(default)]
    pub firmware_version: String,
    #[serde(default)]
    pub license_type_id: String,
    #[serde(default)]
    pub order_id: String,
    #[serde(default)]
    pub ip_address: String,
    #[serde(default)]
    pub device_name: String,
}

impl OfflineRequest {
    pub fn value(&self, field: OfflineField) -> &str {
        match field {
            OfflineField::Hypervisor => &self.hypervisor,
            OfflineField::SerialNo => &self.serial_no,
            OfflineField::AccessCode => &self.access_code,
            OfflineField::Firmware => &self.firmware_version,
            OfflineField::LicenseType => &self.license_type_id,
            OfflineField::OrderId => &self.order_id,
            OfflineField::IpAddress => &self.ip_address,
            OfflineField::Name => &self.device_name,
        }
    }

    /// The request with every field its action asks for present and well-formed (trimmed),
    /// the others emptied; or the first bad field, named.
    pub fn checked(&self) -> Result<OfflineRequest, AppError> {
        let fields = self.action.fields(self.platform);
        let mut out = OfflineRequest {
            idempotency_key: self.idempotency_key.trim().to_string(),
            platform: self.platform,
            action: self.action,
            ..Default::default()
        };
        for field in OfflineField::ALL {
            let value = self.value(field).trim();
            if !fields.contains(&field) {
                continue;
            }
            if value.is_empty() {
                if field.optional(self.action) {
                    continue;
                }
                return Err(AppError::invalid(
                    field.key(),
                    format!(
                        "{} is needed to {}",
                        field.label(),
                        self.action.label().to_lowercase()
                    ),
                ));
            }
            check_field(field, value)?;
            let slot = match field {
                OfflineField::Hypervisor => &mut out.hypervisor,
                OfflineField::SerialNo => &mut out.serial_no,
                OfflineField::AccessCode => &mut out.access_code,
                OfflineField::Firmware => &mut out.firmware_version,
                OfflineField::LicenseType => &mut out.license_type_id,
                OfflineField::OrderId => &mut out.order_id,
                OfflineField::IpAddress => &mut out.ip_address,
                OfflineField::Name => &mut out.device_name,
            };
            *slot = value.to_string();
        }
        if out.device_name.is_empty() && fields.contains(&OfflineField::Name) {
            out.device_name = format!("LoadMaster {}", out.serial_no);
        }
        Ok(out)
    }
}

fn check_field(field: OfflineField, value: &str) -> Result<(), AppError> {
    let bad = |reason: &str| Err(AppError::invalid(field.key(), reason.to_string()));
    match field {
        OfflineField::Hypervisor if !HYPERVISORS.contains(&value) => {
            bad("must be one of the listed hypervisors")
        }
        OfflineField::AccessCode => check_access_code(value),
        OfflineField::Firmware if !looks_like_firmware(value) => {
            bad("must be a firmware version such as 7.2.60.0")
        }
        OfflineField::OrderId => crate::lifecycle::check_order_id(field.key(), value).map(|_| ()),
        OfflineField::IpAddress if value.parse::<std::net::IpAddr>().is_err() => {
            bad("must be an IPv4 or IPv6 address")
        }
        _ if value.chars().count() > 100 || value.chars().any(char::is_control) => {
            bad("must be 1 to 100 characters without control characters")
        }
        _ => Ok(()),
    }
}

fn looks_like_firmware(value: &str) -> bool {
    let parts: Vec<&str> = value.split('.').collect();
    (2..=5).contains(&parts.len())
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.len() <= 6 && p.chars().all(|c| c.is_ascii_digit()))
}

/// The access code a LoadMaster shows on its Offline Licensing page: 8 to 64 letters, digits
/// or dashes.
pub fn check_access_code(value: &str) -> Result<(), AppError> {
    let ok = (8..=64).contains(&value.len())
        && value.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    if ok {
        Ok(())
    } else {
        Err(AppError::invalid(
            "access_code",
            "must be the 8 to 64 letters, digits or dashes the LoadMaster shows",
        ))
    }
}

/// What a license text grants, as signed: the license as an online activation would answer
/// it, bound to one LoadMaster's serial number and access code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct LicenseGrant {
    /// This text's layout (1).
    pub format: u32,
    /// The portal that issued it (its public address).
    pub issuer: String,
    pub serial_no: String,
    pub access_code: String,
    pub action: OfflineAction,
    /// Unix seconds UTC.
    pub issued_at: i64,
    pub license: crate::connector::Activation,
}

/// What `POST /api/v1/offline-licenses` and the page answer: the text to paste into the
/// LoadMaster, and what it grants.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct OfflineLicense {
    pub license_text: String,
    pub grant: LicenseGrant,
    /// The licensing guide's words for the LoadMaster's next step.
    pub message: String,
}

/// The words shown beside a generated license text.
pub const APPLY_TEXT: &str = "Copy the license text, paste it into the License text area of the LoadMaster's Offline Licensing page and click Apply License. You may need to reboot the LoadMaster before you can see all features applied by the license.";

#[cfg(feature = "license-text")]
pub use text::{public_key_from_hex, sign, verify, TextRefusal, BEGIN, END};

/// The license text itself: the grant as JSON and its Ed25519 signature, each base64, between
/// BEGIN and END lines, wrapped so it survives being pasted through a terminal or an email.
#[cfg(feature = "license-text")]
mod text {
    use super::LicenseGrant;
    use base64::engine::general_purpose::STANDARD;
    use base64::Engine;
    use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};

    pub const BEGIN: &str = "-----BEGIN BANDPOOL LICENSE-----";
    pub const END: &str = "-----END BANDPOOL LICENSE-----";
    const WIDTH: usize = 64;

    /// The text for `grant`, signed with `key`.
    pub fn sign(grant: &LicenseGrant, key: &SigningKey) -> String {
        let body = serde_json::to_vec(grant).expect("a grant always serialises");
        let signature = key.sign(&body);
        let joined = format!(
            "{}.{}",
            STANDARD.encode(&body),
            STANDARD.encode(signature.to_bytes())
        );
        let mut out = String::from(BEGIN);
        for chunk in joined.as_bytes().chunks(WIDTH) {
            out.push('\n');
            out.push_str(std::str::from_utf8(chunk).expect("base64 is ASCII"));
        }
        out.push('\n');
        out.push_str(END);
        out.push('\n');
        out
    }

    /// The portal's public key from its hex form (`GET /api/v1/licensing-key`).
    pub fn public_key_from_hex(text: &str) -> Result<VerifyingKey, String> {
        let bytes: [u8; 32] = hex::decode(text.trim())
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or("the public key must be 64 hex digits")?;
        VerifyingKey::from_bytes(&bytes)
            .map_err(|_| "that is not an Ed25519 public key".to_string())
    }

    /// Why a LoadMaster (or `server check-license`) refuses a text.
    #[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
    pub enum TextRefusal {
        #[error("this is not a Bandpool license text (it must run from {BEGIN} to {END})")]
        Malformed,
        #[error("the license text was altered or was not issued by this portal: its signature does not match the portal's key")]
        BadSignature,
        #[error("the license text is for serial number {0}, not this LoadMaster")]
        OtherSerial(String),
        #[error("the license text was generated for another access code than this LoadMaster's")]
        OtherAccessCode,
    }

    /// The grant in `text` if `key` signed it exactly as it stands; when `unit` (serial
    /// number, access code) is given, also only if it is that LoadMaster's.
    pub fn verify(
        text: &str,
        key: &VerifyingKey,
        unit: Option<(&str, &str)>,
    ) -> Result<LicenseGrant, TextRefusal> {
        let text = text.trim();
        let inner = text
            .strip_prefix(BEGIN)
            .and_then(|t| t.strip_suffix(END))
            .ok_or(TextRefusal::Malformed)?;
        let joined: String = inner.split_whitespace().collect();
        let (body, signature) = joined.split_once('.').ok_or(TextRefusal::Malformed)?;
        let body = STANDARD.decode(body).map_err(|_| TextRefusal::Malformed)?;
        let signature = STANDARD
            .decode(signature)
            .ok()
            .and_then(|s| Signature::from_slice(&s).ok())
            .ok_or(TextRefusal::Malformed)?;
        key.verify(&body, &signature)
            .map_err(|_| TextRefusal::BadSignature)?;
        let grant: LicenseGrant =
            serde_json::from_slice(&body).map_err(|_| TextRefusal::Malformed)?;
        if let Some((serial, access_code)) = unit {
            if grant.serial_no != serial {
                return Err(TextRefusal::OtherSerial(grant.serial_no));
            }
            if grant.access_code != access_code {
                return Err(TextRefusal::OtherAccessCode);
            }
        }
        Ok(grant)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_action_asks_for_its_fields() {
        use OfflineField::*;
        let fields = |a: OfflineAction, p: Platform| a.fields(p);
        assert_eq!(
            fields(OfflineAction::NewLicense, Platform::Virtual),
            vec![
                Hypervisor,
                SerialNo,
                AccessCode,
                Firmware,
                LicenseType,
                OrderId,
                IpAddress,
                Name
            ]
        );
        // Hardware has no hypervisor.
        assert!(!fields(OfflineAction::NewLicense, Platform::Hardware).contains(&Hypervisor));
        assert_eq!(
            fields(OfflineAction::Update, Platform::Virtual),
            vec![Hypervisor, SerialNo, AccessCode, Firmware]
        );
        assert!(!fields(OfflineAction::Trial, Platform::Virtual).contains(&OrderId));
        assert!(fields(OfflineAction::UpgradeTrial, Platform::Virtual).contains(&OrderId));
        assert_eq!(
            fields(OfflineAction::ChangeOwner, Platform::Virtual),
            vec![SerialNo, AccessCode, IpAddress, Name]
        );
    }

    fn request() -> OfflineRequest {
        OfflineRequest {
            idempotency_key: "offline-key-1".into(),
            platform: Platform::Virtual,
            action: OfflineAction::NewLicense,
            hypervisor: "VMware".into(),
            serial_no: " 1234567 ".into(),
            access_code: "AC-12345678".into(),
            firmware_version: "7.2.60.0".into(),
            license_type_id: "vlm-200".into(),
            ip_address: "10.0.0.9".into(),
            ..Default::default()
        }
    }

    #[test]
    fn a_request_is_checked_field_by_field() {
        let checked = request().checked().unwrap();
        assert_eq!(checked.serial_no, "1234567");
        assert_eq!(checked.device_name, "LoadMaster 1234567");
        // A field the action does not ask for is dropped.
        let update = OfflineRequest {
            action: OfflineAction::Update,
            ..request()
        }
        .checked()
        .unwrap();
        assert_eq!(
            (update.ip_address.as_str(), update.license_type_id.as_str()),
            ("", "")
        );
        let refused = |r: OfflineRequest| match r.checked() {
            Err(AppError::InvalidParameter { parameter, .. }) => parameter,
            other => panic!("expected a refusal, got {other:?}"),
        };
        assert_eq!(
            refused(OfflineRequest {
                serial_no: " ".into(),
                ..request()
            }),
            "serial_no"
        );
        assert_eq!(
            refused(OfflineRequest {
                access_code: "short".into(),
                ..request()
            }),
            "access_code"
        );
        assert_eq!(
            refused(OfflineRequest {
                firmware_version: "seven".into(),
                ..request()
            }),
            "firmware_version"
        );
        assert_eq!(
            refused(OfflineRequest {
                hypervisor: "Bochs".into(),
                ..request()
            }),
            "hypervisor"
        );
        assert_eq!(
            refused(OfflineRequest {
                ip_address: "10.0.0".into(),
                ..request()
            }),
            "ip_address"
        );
        assert_eq!(
            refused(OfflineRequest {
                action: OfflineAction::UpgradeTrial,
                ..request()
            }),
            "order_id"
        );
        // Hardware needs no hypervisor.
        assert!(OfflineRequest {
            platform: Platform::Hardware,
            hypervisor: String::new(),
            ..request()
        }
        .checked()
        .is_ok());
    }

    #[cfg(feature = "license-text")]
    #[test]
    fn a_text_verifies_only_unaltered_and_for_its_unit() {
        use crate::connector::Activation;
        use crate::license::LicenseStatus;
        use crate::lifecycle::LicenseKind;
        let key = ed25519_dalek::SigningKey::from_bytes(&[7u8; 32]);
        let grant = LicenseGrant {
            format: 1,
            issuer: "https://portal.example".into(),
            serial_no: "1234567".into(),
            access_code: "AC-12345678".into(),
            action: OfflineAction::NewLicense,
            issued_at: 1_800_000_000,
            license: Activation {
                license_id: "l-1".into(),
                license_name: "VLM-200".into(),
                bandwidth_mbps: 200,
                ssl_tps: 200,
                status: LicenseStatus::Active,
                activated_at: 1_800_000_000,
                kind: LicenseKind::Pooled,
                expires_at: None,
                subscriptions: vec![],
            },
        };
        let text = sign(&grant, &key);
        assert!(text.starts_with(BEGIN) && text.trim_end().ends_with(END));
        assert!(text.lines().all(|l| l.len() <= 64));
        let public = key.verifying_key();
        assert_eq!(
            verify(&text, &public, Some(("1234567", "AC-12345678"))),
            Ok(grant.clone())
        );
        // Pasted with different line breaks and indentation: still the same text.
        let reflowed = text.replace('\n', "\n   ");
        assert!(verify(&reflowed, &public, None).is_ok());
        assert_eq!(
            verify(&text, &public, Some(("7654321", "AC-12345678"))),
            Err(TextRefusal::OtherSerial("1234567".into()))
        );
        assert_eq!(
            verify(&text, &public, Some(("1234567", "AC-00000000"))),
            Err(TextRefusal::OtherAccessCode)
        );
        // Another grant's body under this signature (more bandwidth, say) is refused.
        let more = LicenseGrant {
            license: Activation {
                bandwidth_mbps: 10_000,
                ..grant.license.clone()
            },
            ..grant.clone()
        };
        let forged_body = sign(&more, &key);
        let (_, signature) = text.split_once('.').unwrap();
        let (body, _) = forged_body.split_once('.').unwrap();
        assert_eq!(
            verify(&format!("{body}.{signature}"), &public, None),
            Err(TextRefusal::BadSignature)
        );
        let other = ed25519_dalek::SigningKey::from_bytes(&[8u8; 32]);
        assert_eq!(
            verify(&text, &other.verifying_key(), None),
            Err(TextRefusal::BadSignature)
        );
        assert_eq!(verify("hello", &public, None), Err(TextRefusal::Malformed));
    }
}
