//! The one error type of Bandpool. Every variant has an HTTP status, a stable
//! machine code and a human message; server functions and the REST API answer
//! with the same codes. Internal failures never carry their text to the client:
//! they are logged with the request id and answered with that id only.

use serde::{Deserialize, Serialize};
use server_fn::codec::JsonEncoding;
use server_fn::error::{FromServerFnError, ServerFnErrorErr};

/// On the wire (REST and server functions alike) an error is its `ErrorBody`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(into = "ErrorBody", from = "ErrorBody")]
pub enum AppError {
    /// A query or body parameter is malformed or out of range.
    #[error("Invalid parameter '{parameter}': {reason}")]
    InvalidParameter { parameter: String, reason: String },
    /// The thing asked for does not exist (for this tenant).
    #[error("{what} was not found")]
    NotFound { what: String },
    /// No tenant has been set up in this deployment yet.
    #[error("No tenant is set up yet: run `server seed-demo` or create one")]
    NoTenant,
    /// The database did not answer in time.
    #[error("The database is not available right now; try again shortly")]
    DatabaseUnavailable,
    /// Anything unexpected; details are in the server log under this id.
    #[error("Something went wrong on our side (request id {request_id})")]
    Internal { request_id: String },
    /// The server-function transport failed (network, decoding).
    #[error("The request could not be completed: {0}")]
    Transport(String),
    /// No one is signed in (no session, or it expired).
    #[error("Sign in to continue")]
    Unauthenticated,
    /// A sign-in with an unknown email or a wrong password (which of the two is not said).
    #[error("The email or password is not right")]
    InvalidCredentials,
    /// A bearer token that is unknown, expired or revoked.
    #[error("The API token is unknown, expired or revoked")]
    InvalidToken,
    /// Signed in, but the role (or the token's scope) does not allow this.
    #[error("Your role does not allow you to {action}")]
    Forbidden { action: String },
    /// A state-changing request that came from another site.
    #[error("This request came from another site and was refused")]
    CrossSite,
    /// Too many attempts; try again after `retry_after` seconds.
    #[error("Too many attempts; try again in {retry_after} seconds")]
    RateLimited { retry_after: u64 },
    /// The change would leave the tenant without an Owner.
    #[error("A tenant needs at least one Owner: make someone else Owner first")]
    LastOwner,
    /// An emailed link that expired, was replaced or was already used.
    #[error("This link has expired or was already used; ask for a new one")]
    LinkExpired,
    /// Single sign-on did not complete (the provider's answer failed a check).
    #[error("Single sign-on did not complete: {reason}")]
    SignInFailed { reason: String },
    /// The mail server did not take the message.
    #[error("The email could not be sent right now; try again shortly")]
    MailUnavailable,
    /// This deployment has no vendor reporting service configured: there is nowhere to upload
    /// metered usage reports to.
    #[error("This deployment has no vendor reporting service configured, so there is nothing to upload to")]
    ReportingNotConfigured,
    /// A license could not be granted or kept: the refusals of the local-licensing error table
    /// table, each with its own code, and what applies here in `detail`.
    #[error("{} {detail}", refusal.message())]
    Refused { refusal: Refusal, detail: String },
    /// Kill License on a license the portal cannot kill (and why).
    #[error("This license cannot be killed: {reason}")]
    LicenseNotKillable { reason: String },
    /// A LoadMaster that holds a pooled license cannot leave the device inventory.
    #[error(
        "This LoadMaster holds a license from the pool: kill its license first, then remove it"
    )]
    DeviceHasPooledLicense,
    /// A connector credential that is unknown or was replaced.
    #[error("The connector credential is unknown or was revoked")]
    InvalidConnectorCredential,
    /// A connector registration token that is unknown, expired or already used.
    #[error("The registration token is unknown, expired or already used; create a new one in the portal")]
    InvalidRegistrationToken,
    /// An application already holds its limit of Virtual Services.
    #[error("An application holds at most {limit} Virtual Services; this one is full")]
    ApplicationFull { limit: i64 },
    /// A Virtual Service belongs to one application at a time.
    #[error("This Virtual Service is already mapped to application {application}; unmap it first")]
    VirtualServiceMapped { application: String },
    /// The entitlement source (the upstream licensing service) failed, was too slow, or
    /// answered something that is not an entitlement.
    #[error("The licensing service could not be synced: {reason}")]
    EntitlementSourceFailed { reason: String },
    /// The request's body is larger than the portal takes.
    #[error("The request body is larger than the {limit_bytes} bytes this portal takes")]
    PayloadTooLarge { limit_bytes: u64 },
    /// The request's body did not arrive in time.
    #[error("The request body did not arrive in time; send it again")]
    RequestTimeout,
    /// The endpoint exists but not with this method.
    #[error("This endpoint does not take this method")]
    MethodNotAllowed,
    /// The body is not in a format the endpoint reads.
    #[error("The request body must be {expected}")]
    UnsupportedMediaType { expected: String },
    /// An idempotency key already used by this connector for another message of the same
    /// kind: a key names one message, so the new one is refused instead of being answered
    /// with the old one's answer.
    #[error("The idempotency key was already used for a different {kind} message; send this one with a new key")]
    IdempotencyKeyReused { kind: String },
}

/// Why a license was refused. The messages are those of the local-licensing error table
/// (Kemp 360 Central local licensing), with the portal in place of Kemp 360 Central.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Refusal {
    /// The pool's LoadMaster limit is reached.
    InstanceLimitReached,
    /// Not enough bandwidth left in the pool for the license type.
    PoolCapacityExceeded,
    /// The license type does not exist or is not for this LoadMaster's system type.
    InvalidLicenseType,
    /// No license type is configured for the LoadMaster's SKU.
    NoLicenseForSku,
    /// Another LoadMaster with this IP address holds a license.
    DeviceIpExists,
    /// The LoadMaster is blocked in the portal.
    ApplianceBlocked,
    /// The tenant has no pool.
    TenantUnlicensed,
    /// The pool's subscription has ended, or the tenant's metered trial.
    TenantExpired,
    /// A metered LoadMaster activated without saying who it is (its MAC address, firmware
    /// version and boot time): not a LoadMaster of a metered image.
    InvalidInitialization,
    /// A check names a license this connector issued, but with another LoadMaster's serial.
    CheckUnverifiable,
    /// Another LoadMaster holding a metered license is up with the same MAC address (a copy
    /// of a running one).
    MacAddressInUse,
    /// A metered trial does not license a LoadMaster that holds a license from another
    /// licensing server.
    TrialLicensedElsewhere,
    /// The new license's id would repeat an existing license's (a replayed activation whose
    /// key the portal no longer remembers): nothing is granted twice.
    LicenseIdUnavailable,
    /// No metered usage report reached the vendor within the reporting grace: metered
    /// licensing stopped until an upload succeeds.
    ReportingLapsed,
    /// A temporary or trial license asked for by a LoadMaster that holds one already.
    TemporaryOnTemporary,
    /// A permanent license asked for without an Order ID by a LoadMaster that never held one.
    OrderIdRequired,
    /// The Order ID names no order of this tenant.
    OrderNotFound,
    /// The order has no license of the type asked for left (none on it, all in use, or ended).
    OrderLicenseUnavailable,
    /// Transfer: the license came from a Service Provider License Agreement.
    TransferSpla,
    /// Transfer: a metered (MELA) license.
    TransferMetered,
    /// Transfer: a pooled license.
    TransferPooled,
    /// Transfer: a Pay As You Go instance's license.
    TransferPayg,
    /// Transfer: a temporary or trial license.
    TransferTemporary,
    /// Transfer: the license's support subscription has ended.
    TransferSupportExpired,
    /// Transfer: the LoadMaster's firmware is older than 7.2.50.
    TransferFirmwareTooOld,
    /// Offline licensing: the access code is not the one the LoadMaster's license was bound to.
    AccessCodeMismatch,
}

impl Refusal {
    pub const ALL: [Refusal; 26] = [
        Refusal::InstanceLimitReached,
        Refusal::PoolCapacityExceeded,
        Refusal::InvalidLicenseType,
        Refusal::NoLicenseForSku,
        Refusal::DeviceIpExists,
        Refusal::ApplianceBlocked,
        Refusal::TenantUnlicensed,
        Refusal::TenantExpired,
        Refusal::InvalidInitialization,
        Refusal::CheckUnverifiable,
        Refusal::MacAddressInUse,
        Refusal::TrialLicensedElsewhere,
        Refusal::LicenseIdUnavailable,
        Refusal::ReportingLapsed,
        Refusal::TemporaryOnTemporary,
        Refusal::OrderIdRequired,
        Refusal::OrderNotFound,
        Refusal::OrderLicenseUnavailable,
        Refusal::TransferSpla,
        Refusal::TransferMetered,
        Refusal::TransferPooled,
        Refusal::TransferPayg,
        Refusal::TransferTemporary,
        Refusal::TransferSupportExpired,
        Refusal::TransferFirmwareTooOld,
        Refusal::AccessCodeMismatch,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Refusal::InstanceLimitReached => "instance_limit_reached",
            Refusal::PoolCapacityExceeded => "pool_capacity_exceeded",
            Refusal::InvalidLicenseType => "invalid_license_type",
            Refusal::NoLicenseForSku => "no_license_for_sku",
            Refusal::DeviceIpExists => "device_ip_exists",
            Refusal::ApplianceBlocked => "appliance_blocked",
            Refusal::TenantUnlicensed => "tenant_unlicensed",
            Refusal::TenantExpired => "tenant_expired",
            Refusal::InvalidInitialization => "invalid_local_license_initialization",
            Refusal::CheckUnverifiable => "check_unverifiable",
            Refusal::MacAddressInUse => "mac_address_in_use",
            Refusal::TrialLicensedElsewhere => "trial_licensed_elsewhere",
            Refusal::LicenseIdUnavailable => "license_uuid_unavailable",
            Refusal::ReportingLapsed => "metered_reporting_lapsed",
            Refusal::TemporaryOnTemporary => "temporary_license_in_place",
            Refusal::OrderIdRequired => "order_id_required",
            Refusal::OrderNotFound => "order_not_found",
            Refusal::OrderLicenseUnavailable => "order_license_unavailable",
            Refusal::TransferSpla => "spla_license_not_transferable",
            Refusal::TransferMetered => "metered_license_not_transferable",
            Refusal::TransferPooled => "pooled_license_not_transferable",
            Refusal::TransferPayg => "payg_license_not_transferable",
            Refusal::TransferTemporary => "temporary_license_not_transferable",
            Refusal::TransferSupportExpired => "transfer_support_expired",
            Refusal::TransferFirmwareTooOld => "transfer_firmware_too_old",
            Refusal::AccessCodeMismatch => "access_code_mismatch",
        }
    }

    /// The error table's message (001, "Local Licensing Errors").
    pub fn message(self) -> &'static str {
        match self {
            Refusal::InstanceLimitReached => "Local license instance limit reached.",
            Refusal::PoolCapacityExceeded => "No Local license found.",
            Refusal::InvalidLicenseType => "Invalid License Type ID provided.",
            Refusal::NoLicenseForSku => "No License configured for LM SKU.",
            Refusal::DeviceIpExists => "Device with same IP Address already exist.",
            Refusal::ApplianceBlocked => {
                "This LoadMaster cannot be licensed against this portal at this time."
            }
            Refusal::TenantUnlicensed => "Bandpool is unlicensed for this tenant.",
            Refusal::TenantExpired => "Trial has Expired.",
            Refusal::InvalidInitialization => "Invalid local license initialization.",
            Refusal::CheckUnverifiable => "Can't verify check.",
            Refusal::MacAddressInUse => {
                "LM not added in the system because update license is called from LM UP with this MAC address."
            }
            Refusal::TrialLicensedElsewhere => {
                "Not issuing license to LM because Bandpool has trial license and LM has active license from another licensing server."
            }
            Refusal::LicenseIdUnavailable => "Unable to generate license UUID.",
            Refusal::ReportingLapsed => "Metered licensing stopped: no usage report reached the vendor.",
            // The licensing guide's rules (temporary and permanent licenses).
            Refusal::TemporaryOnTemporary => {
                "A temporary license cannot be added to a LoadMaster that currently has a temporary license in place."
            }
            Refusal::OrderIdRequired => {
                "An Order ID is required the first time a LoadMaster takes a permanent license."
            }
            Refusal::OrderNotFound => "No order with this Order ID was found.",
            Refusal::OrderLicenseUnavailable => {
                "The order has no license of this type available."
            }
            // The licensing guide's transfer prerequisites.
            Refusal::TransferSpla => {
                "A Service Provider License Agreement (SPLA) license cannot be transferred."
            }
            Refusal::TransferMetered => {
                "A Metered Enterprise Licensing Agreement (MELA) license cannot be transferred."
            }
            Refusal::TransferPooled => "A pooled license cannot be transferred.",
            Refusal::TransferPayg => "A Pay As You Go (PAYG) license cannot be transferred.",
            Refusal::TransferTemporary => {
                "Only a permanent license can be transferred; a temporary or trial license cannot."
            }
            Refusal::TransferSupportExpired => {
                "You can only transfer a permanent license that is under active Support subscription."
            }
            Refusal::TransferFirmwareTooOld => {
                "You can only transfer LoadMaster licenses from firmware version 7.2.50 and above."
            }
            Refusal::AccessCodeMismatch => {
                "The access code does not match the LoadMaster this license was issued to."
            }
        }
    }

    pub fn from_code(code: &str) -> Option<Refusal> {
        Refusal::ALL.into_iter().find(|r| r.code() == code)
    }

    pub fn status(self) -> http::StatusCode {
        match self {
            Refusal::InvalidLicenseType
            | Refusal::InvalidInitialization
            | Refusal::OrderIdRequired => http::StatusCode::BAD_REQUEST,
            Refusal::OrderNotFound => http::StatusCode::NOT_FOUND,
            Refusal::ApplianceBlocked
            | Refusal::TenantUnlicensed
            | Refusal::TenantExpired
            | Refusal::CheckUnverifiable
            | Refusal::TrialLicensedElsewhere
            | Refusal::ReportingLapsed
            | Refusal::AccessCodeMismatch => http::StatusCode::FORBIDDEN,
            _ => http::StatusCode::CONFLICT,
        }
    }
}

/// What a client receives: `{"code": ..., "message": ...}`, plus the fields that say what
/// went wrong where a variant has them (`parameter` and `reason`, `what`, `request_id`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ErrorBody {
    /// The stable machine code, such as invalid_parameter, not_found or internal_error.
    pub code: String,
    /// What went wrong, for a person.
    pub message: String,
    /// invalid_parameter: the parameter at fault (a query parameter, a body field such as
    /// `checks[2].serial_no`, or `path`).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub parameter: Option<String>,
    /// invalid_parameter: what is expected of it; payload_too_large: the limit in bytes.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub reason: Option<String>,
    /// not_found and idempotency_key_reused: what was not found, or the kind of message.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub what: Option<String>,
    /// Present on internal errors: quote it to the operator.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub request_id: Option<String>,
    /// forbidden: the action that was refused.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub action: Option<String>,
    /// rate_limited: seconds to wait (also in Retry-After).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub retry_after: Option<u64>,
}

impl ErrorBody {
    /// The sentence a person reads on a page: a form field's refusal says what the field
    /// needs ("Type KILL to confirm …"), rather than naming the parameter; the rest say
    /// their message. Codes stay out of it.
    pub fn for_person(&self) -> String {
        match (&self.code[..], &self.reason) {
            ("invalid_parameter", Some(reason)) if !reason.is_empty() => {
                let mut chars = reason.chars();
                let first = chars.next().map(|c| c.to_uppercase().collect::<String>());
                let mut text = first.unwrap_or_default() + chars.as_str();
                if !text.ends_with('.') {
                    text.push('.');
                }
                text
            }
            _ => self.message.clone(),
        }
    }

    /// A code and a message, nothing more.
    pub fn new(code: &str, message: impl Into<String>) -> ErrorBody {
        ErrorBody {
            code: code.to_string(),
            message: message.into(),
            parameter: None,
            reason: None,
            what: None,
            request_id: None,
            action: None,
            retry_after: None,
        }
    }
}

impl From<AppError> for ErrorBody {
    fn from(error: AppError) -> Self {
        error.body()
    }
}

impl From<ErrorBody> for AppError {
    fn from(body: ErrorBody) -> Self {
        let text = |v: Option<String>| v.unwrap_or_default();
        match body.code.as_str() {
            "invalid_parameter" => AppError::InvalidParameter {
                parameter: text(body.parameter),
                reason: text(body.reason),
            },
            "not_found" => AppError::NotFound {
                what: text(body.what),
            },
            "no_tenant" => AppError::NoTenant,
            "database_unavailable" => AppError::DatabaseUnavailable,
            "internal_error" => AppError::Internal {
                request_id: text(body.request_id),
            },
            "unauthenticated" => AppError::Unauthenticated,
            "invalid_credentials" => AppError::InvalidCredentials,
            "invalid_token" => AppError::InvalidToken,
            "forbidden" => AppError::Forbidden {
                action: text(body.action),
            },
            "cross_site_request" => AppError::CrossSite,
            "rate_limited" => AppError::RateLimited {
                retry_after: body.retry_after.unwrap_or(1),
            },
            "last_owner" => AppError::LastOwner,
            "link_expired" => AppError::LinkExpired,
            "sign_in_failed" => AppError::SignInFailed {
                reason: text(body.reason),
            },
            "mail_unavailable" => AppError::MailUnavailable,
            "reporting_not_configured" => AppError::ReportingNotConfigured,
            "license_not_killable" => AppError::LicenseNotKillable {
                reason: text(body.reason),
            },
            "device_has_pooled_license" => AppError::DeviceHasPooledLicense,
            "invalid_connector_credential" => AppError::InvalidConnectorCredential,
            "invalid_registration_token" => AppError::InvalidRegistrationToken,
            "application_full" => AppError::ApplicationFull {
                limit: body
                    .reason
                    .as_deref()
                    .and_then(|r| r.parse().ok())
                    .unwrap_or(crate::billing::VIRTUAL_SERVICE_LIMIT),
            },
            "virtual_service_mapped" => AppError::VirtualServiceMapped {
                application: text(body.what),
            },
            "entitlement_source_failed" => AppError::EntitlementSourceFailed {
                reason: text(body.reason),
            },
            "payload_too_large" => AppError::PayloadTooLarge {
                limit_bytes: body
                    .reason
                    .as_deref()
                    .and_then(|r| r.parse().ok())
                    .unwrap_or_default(),
            },
            "request_timeout" => AppError::RequestTimeout,
            "method_not_allowed" => AppError::MethodNotAllowed,
            "unsupported_media_type" => AppError::UnsupportedMediaType {
                expected: text(body.reason),
            },
            "idempotency_key_reused" => AppError::IdempotencyKeyReused {
                kind: text(body.what),
            },
            code => match Refusal::from_code(code) {
                Some(refusal) => AppError::Refused {
                    refusal,
                    detail: text(body.reason),
                },
                None => AppError::Transport(body.message),
            },
        }
    }
}

impl AppError {
    pub fn invalid(parameter: impl Into<String>, reason: impl Into<String>) -> Self {
        AppError::InvalidParameter {
            parameter: parameter.into(),
            reason: reason.into(),
        }
    }

    pub fn not_found(what: impl Into<String>) -> Self {
        AppError::NotFound { what: what.into() }
    }

    pub fn forbidden(action: impl Into<String>) -> Self {
        AppError::Forbidden {
            action: action.into(),
        }
    }

    pub fn sign_in_failed(reason: impl Into<String>) -> Self {
        AppError::SignInFailed {
            reason: reason.into(),
        }
    }

    /// The codes of every variant but the licensing refusals (`Refusal::ALL` has those).
    const OWN_CODES: [&'static str; 29] = [
        "invalid_parameter",
        "not_found",
        "no_tenant",
        "database_unavailable",
        "internal_error",
        "request_failed",
        "unauthenticated",
        "invalid_credentials",
        "invalid_token",
        "forbidden",
        "cross_site_request",
        "rate_limited",
        "last_owner",
        "link_expired",
        "sign_in_failed",
        "mail_unavailable",
        "reporting_not_configured",
        "license_not_killable",
        "device_has_pooled_license",
        "invalid_connector_credential",
        "invalid_registration_token",
        "application_full",
        "virtual_service_mapped",
        "entitlement_source_failed",
        "payload_too_large",
        "request_timeout",
        "method_not_allowed",
        "unsupported_media_type",
        "idempotency_key_reused",
    ];

    /// Every stable code an error can carry, for clients and tests that check answers.
    pub fn codes() -> impl Iterator<Item = &'static str> {
        Self::OWN_CODES
            .into_iter()
            .chain(Refusal::ALL.into_iter().map(Refusal::code))
    }

    /// The stable machine code clients can match on.
    pub fn code(&self) -> &'static str {
        match self {
            AppError::InvalidParameter { .. } => "invalid_parameter",
            AppError::NotFound { .. } => "not_found",
            AppError::NoTenant => "no_tenant",
            AppError::DatabaseUnavailable => "database_unavailable",
            AppError::Internal { .. } => "internal_error",
            AppError::Transport(_) => "request_failed",
            AppError::Unauthenticated => "unauthenticated",
            AppError::InvalidCredentials => "invalid_credentials",
            AppError::InvalidToken => "invalid_token",
            AppError::Forbidden { .. } => "forbidden",
            AppError::CrossSite => "cross_site_request",
            AppError::RateLimited { .. } => "rate_limited",
            AppError::LastOwner => "last_owner",
            AppError::LinkExpired => "link_expired",
            AppError::SignInFailed { .. } => "sign_in_failed",
            AppError::MailUnavailable => "mail_unavailable",
            AppError::ReportingNotConfigured => "reporting_not_configured",
            AppError::Refused { refusal, .. } => refusal.code(),
            AppError::LicenseNotKillable { .. } => "license_not_killable",
            AppError::DeviceHasPooledLicense => "device_has_pooled_license",
            AppError::InvalidConnectorCredential => "invalid_connector_credential",
            AppError::InvalidRegistrationToken => "invalid_registration_token",
            AppError::ApplicationFull { .. } => "application_full",
            AppError::VirtualServiceMapped { .. } => "virtual_service_mapped",
            AppError::EntitlementSourceFailed { .. } => "entitlement_source_failed",
            AppError::PayloadTooLarge { .. } => "payload_too_large",
            AppError::RequestTimeout => "request_timeout",
            AppError::MethodNotAllowed => "method_not_allowed",
            AppError::UnsupportedMediaType { .. } => "unsupported_media_type",
            AppError::IdempotencyKeyReused { .. } => "idempotency_key_reused",
        }
    }

    pub fn status(&self) -> http::StatusCode {
        use http::StatusCode;
        match self {
            AppError::InvalidParameter { .. } => StatusCode::BAD_REQUEST,
            AppError::NotFound { .. } => StatusCode::NOT_FOUND,
            AppError::NoTenant => StatusCode::NOT_FOUND,
            AppError::DatabaseUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Internal { .. } => StatusCode::INTERNAL_SERVER_ERROR,
            AppError::Transport(_) => StatusCode::BAD_REQUEST,
            AppError::Unauthenticated | AppError::InvalidCredentials | AppError::InvalidToken => {
                StatusCode::UNAUTHORIZED
            }
            AppError::Forbidden { .. } | AppError::CrossSite => StatusCode::FORBIDDEN,
            AppError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            AppError::LastOwner => StatusCode::CONFLICT,
            AppError::LinkExpired => StatusCode::GONE,
            AppError::SignInFailed { .. } => StatusCode::BAD_REQUEST,
            AppError::MailUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            AppError::ReportingNotConfigured => StatusCode::CONFLICT,
            AppError::Refused { refusal, .. } => refusal.status(),
            AppError::LicenseNotKillable { .. } | AppError::DeviceHasPooledLicense => {
                StatusCode::CONFLICT
            }
            AppError::InvalidConnectorCredential | AppError::InvalidRegistrationToken => {
                StatusCode::UNAUTHORIZED
            }
            AppError::ApplicationFull { .. } | AppError::VirtualServiceMapped { .. } => {
                StatusCode::CONFLICT
            }
            AppError::EntitlementSourceFailed { .. } => StatusCode::BAD_GATEWAY,
            AppError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            AppError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            AppError::UnsupportedMediaType { .. } => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            AppError::IdempotencyKeyReused { .. } => StatusCode::UNPROCESSABLE_ENTITY,
        }
    }

    pub fn body(&self) -> ErrorBody {
        let mut body = ErrorBody::new(self.code(), self.to_string());
        match self {
            AppError::InvalidParameter { parameter, reason } => {
                body.parameter = Some(parameter.clone());
                body.reason = Some(reason.clone());
            }
            AppError::NotFound { what } => body.what = Some(what.clone()),
            AppError::Internal { request_id } => body.request_id = Some(request_id.clone()),
            AppError::Forbidden { action } => body.action = Some(action.clone()),
            AppError::RateLimited { retry_after } => body.retry_after = Some(*retry_after),
            AppError::SignInFailed { reason } => body.reason = Some(reason.clone()),
            AppError::LicenseNotKillable { reason } => body.reason = Some(reason.clone()),
            AppError::Refused { detail, .. } => body.reason = Some(detail.clone()),
            AppError::ApplicationFull { limit } => body.reason = Some(limit.to_string()),
            AppError::VirtualServiceMapped { application } => body.what = Some(application.clone()),
            AppError::EntitlementSourceFailed { reason } => body.reason = Some(reason.clone()),
            AppError::PayloadTooLarge { limit_bytes } => {
                body.reason = Some(limit_bytes.to_string())
            }
            AppError::UnsupportedMediaType { expected } => body.reason = Some(expected.clone()),
            AppError::IdempotencyKeyReused { kind } => body.what = Some(kind.clone()),
            _ => {}
        }
        body
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            // Argument decoding failures are the caller's bad input.
            ServerFnErrorErr::Args(m) => AppError::invalid("arguments", m),
            ServerFnErrorErr::MissingArg(m) => AppError::invalid(m, "is missing"),
            // On the server this is a request body that is not text (invalid UTF-8); only
            // in the browser is it an answer that could not be read.
            #[cfg(feature = "ssr")]
            ServerFnErrorErr::Deserialization(m) => {
                AppError::invalid("body", format!("could not be read as UTF-8 text ({m})"))
            }
            other => AppError::Transport(other.to_string()),
        }
    }
}

#[cfg(feature = "ssr")]
pub use server::{current_request_id, REQUEST_ID};

#[cfg(feature = "ssr")]
mod server {
    use super::AppError;
    use axum::response::{IntoResponse, Response};

    tokio::task_local! {
        /// The id of the HTTP request being served, set by the server's request-id middleware.
        pub static REQUEST_ID: String;
    }

    /// The current request's id, or a fresh one when called outside a request (a spawned render task).
    pub fn current_request_id() -> String {
        REQUEST_ID
            .try_with(|id| id.clone())
            .unwrap_or_else(|_| uuid::Uuid::new_v4().to_string())
    }

    impl AppError {
        /// Log an unexpected failure with the request id, and hide its text from the client.
        pub fn internal(error: impl std::fmt::Display) -> Self {
            let request_id = current_request_id();
            tracing::error!(%request_id, error = %error, "internal error");
            AppError::Internal { request_id }
        }
    }

    impl From<sqlx::Error> for AppError {
        fn from(error: sqlx::Error) -> Self {
            match error {
                sqlx::Error::RowNotFound => AppError::not_found("The record"),
                sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => {
                    let request_id = current_request_id();
                    tracing::error!(%request_id, error = %error, "database unavailable");
                    AppError::DatabaseUnavailable
                }
                other => AppError::internal(other),
            }
        }
    }

    impl From<sqlx::migrate::MigrateError> for AppError {
        fn from(error: sqlx::migrate::MigrateError) -> Self {
            AppError::internal(error)
        }
    }

    impl IntoResponse for AppError {
        fn into_response(self) -> Response {
            let mut response = (self.status(), axum::Json(self.body())).into_response();
            if let AppError::RateLimited { retry_after } = self {
                response.headers_mut().insert(
                    http::header::RETRY_AFTER,
                    http::HeaderValue::from(retry_after),
                );
            }
            response
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_person_reads_what_a_field_needs_and_never_a_code() {
        let refused = AppError::invalid(
            "confirm",
            "type KILL to confirm that the license should be killed",
        );
        assert_eq!(
            refused.body().for_person(),
            "Type KILL to confirm that the license should be killed."
        );
        let missing = AppError::not_found("The license");
        assert_eq!(missing.body().for_person(), missing.body().message);
        assert!(!missing.body().for_person().contains("not_found"));
    }

    #[test]
    fn every_variant_has_a_stable_code_and_status() {
        let cases = [
            (
                AppError::invalid("page", "must be 1 or more"),
                "invalid_parameter",
                400,
            ),
            (AppError::not_found("License"), "not_found", 404),
            (AppError::NoTenant, "no_tenant", 404),
            (AppError::DatabaseUnavailable, "database_unavailable", 503),
            (
                AppError::Internal {
                    request_id: "r1".into(),
                },
                "internal_error",
                500,
            ),
            (AppError::Transport("x".into()), "request_failed", 400),
            (AppError::Unauthenticated, "unauthenticated", 401),
            (AppError::InvalidCredentials, "invalid_credentials", 401),
            (AppError::InvalidToken, "invalid_token", 401),
            (AppError::forbidden("manage users"), "forbidden", 403),
            (AppError::CrossSite, "cross_site_request", 403),
            (
                AppError::RateLimited { retry_after: 5 },
                "rate_limited",
                429,
            ),
            (AppError::LastOwner, "last_owner", 409),
            (AppError::LinkExpired, "link_expired", 410),
            (AppError::sign_in_failed("nonce"), "sign_in_failed", 400),
            (AppError::MailUnavailable, "mail_unavailable", 503),
            (
                AppError::ReportingNotConfigured,
                "reporting_not_configured",
                409,
            ),
            (
                AppError::LicenseNotKillable { reason: "x".into() },
                "license_not_killable",
                409,
            ),
            (
                AppError::DeviceHasPooledLicense,
                "device_has_pooled_license",
                409,
            ),
            (
                AppError::InvalidConnectorCredential,
                "invalid_connector_credential",
                401,
            ),
            (
                AppError::InvalidRegistrationToken,
                "invalid_registration_token",
                401,
            ),
            (
                AppError::ApplicationFull { limit: 15 },
                "application_full",
                409,
            ),
            (
                AppError::VirtualServiceMapped {
                    application: "Exchange".into(),
                },
                "virtual_service_mapped",
                409,
            ),
            (
                AppError::EntitlementSourceFailed {
                    reason: "timed out".into(),
                },
                "entitlement_source_failed",
                502,
            ),
            (
                AppError::PayloadTooLarge { limit_bytes: 10 },
                "payload_too_large",
                413,
            ),
            (AppError::RequestTimeout, "request_timeout", 408),
            (AppError::MethodNotAllowed, "method_not_allowed", 405),
            (
                AppError::UnsupportedMediaType {
                    expected: "JSON".into(),
                },
                "unsupported_media_type",
                415,
            ),
            (
                AppError::IdempotencyKeyReused {
                    kind: "activation".into(),
                },
                "idempotency_key_reused",
                422,
            ),
        ];
        // The list of codes is complete: one per variant here (the refusals have theirs).
        assert_eq!(cases.len(), AppError::OWN_CODES.len());
        for (error, code, status) in cases {
            assert_eq!(error.code(), code);
            assert_eq!(error.status().as_u16(), status);
            assert!(
                AppError::codes().any(|c| c == code),
                "{code} not in codes()"
            );
        }
    }

    #[test]
    fn internal_errors_carry_only_the_request_id() {
        let body = AppError::Internal {
            request_id: "abc".into(),
        }
        .body();
        assert_eq!(body.request_id.as_deref(), Some("abc"));
        assert!(body.message.contains("abc"));
        assert!(!body.message.to_lowercase().contains("sql"));
    }

    #[test]
    fn every_variant_round_trips_through_its_wire_body() {
        for error in [
            AppError::invalid("page", "must be 1 or more"),
            AppError::not_found("The license"),
            AppError::NoTenant,
            AppError::DatabaseUnavailable,
            AppError::Internal {
                request_id: "r1".into(),
            },
            AppError::Transport("network down".into()),
            AppError::Unauthenticated,
            AppError::InvalidCredentials,
            AppError::InvalidToken,
            AppError::forbidden("manage users"),
            AppError::CrossSite,
            AppError::RateLimited { retry_after: 30 },
            AppError::LastOwner,
            AppError::LinkExpired,
            AppError::sign_in_failed("the nonce did not match"),
            AppError::MailUnavailable,
            AppError::ReportingNotConfigured,
            AppError::LicenseNotKillable {
                reason: "it was not issued through the portal".into(),
            },
            AppError::DeviceHasPooledLicense,
            AppError::InvalidConnectorCredential,
            AppError::InvalidRegistrationToken,
            AppError::ApplicationFull { limit: 15 },
            AppError::VirtualServiceMapped {
                application: "Exchange".into(),
            },
            AppError::EntitlementSourceFailed {
                reason: "the service answered 503".into(),
            },
            AppError::PayloadTooLarge {
                limit_bytes: 2_097_152,
            },
            AppError::RequestTimeout,
            AppError::MethodNotAllowed,
            AppError::UnsupportedMediaType {
                expected: "JSON (Content-Type: application/json)".into(),
            },
            AppError::IdempotencyKeyReused {
                kind: "activation".into(),
            },
            AppError::Refused {
                refusal: Refusal::NoLicenseForSku,
                detail: "SKU: VLM-X".into(),
            },
        ] {
            let json = serde_json::to_value(&error).unwrap();
            assert_eq!(json["code"], error.code());
            assert_eq!(json["message"], error.to_string());
            let back: AppError = serde_json::from_value(json).unwrap();
            let expected = match &error {
                // A transport failure is the client's own; only its message travels.
                AppError::Transport(_) => AppError::Transport(error.to_string()),
                other => other.clone(),
            };
            assert_eq!(back, expected);
        }
    }

    #[test]
    fn every_refusal_has_its_own_code_and_the_error_tables_message() {
        let mut codes = std::collections::HashSet::new();
        for refusal in Refusal::ALL {
            assert!(codes.insert(refusal.code()));
            let error = AppError::Refused {
                refusal,
                detail: "Why.".into(),
            };
            assert_eq!(error.code(), refusal.code());
            assert!(error.to_string().starts_with(refusal.message()));
            assert!(error.status().is_client_error());
        }
        assert_eq!(
            Refusal::InstanceLimitReached.message(),
            "Local license instance limit reached."
        );
    }

    #[test]
    fn a_bad_parameter_says_which_and_why() {
        let body = AppError::invalid("per_page", "must be between 1 and 500").body();
        assert_eq!(body.code, "invalid_parameter");
        assert!(body.message.contains("per_page"));
        assert!(body.message.contains("between 1 and 500"));
    }
}
