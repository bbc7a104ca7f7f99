//! Offline licensing: a member licenses a LoadMaster that has no route to a connector. The
//! request takes the same decisions as through a connector (`bandpool_store::licensing`, on
//! the offline channel), so an offline license counts in the pool exactly like an online one;
//! the answer is license text signed with the deployment's Ed25519 key, bound to the
//! LoadMaster's serial number and access code.

use std::sync::Arc;

use bandpool_domain::connector::{Activation, ActivationRequest, LicenseAsk};
use bandpool_domain::lifecycle::{LicenseKind, LicenseUpdateRequest, OwnerChangeRequest};
use bandpool_domain::offline::{
    LicenseGrant, OfflineAction, OfflineLicense, OfflineRequest, APPLY_TEXT,
};
use bandpool_domain::AppError;
use bandpool_store::licensing::Channel;
use ed25519_dalek::SigningKey;

use crate::change::Caller;
use crate::Services;

/// The name the signing key is kept under in the database.
const KEY_NAME: &str = "offline_license_signing_key";

/// The signing key: the `offline_signing_key` setting's, or the one this deployment made on
/// its first start and keeps in its database (shared by every instance).
pub async fn signing_key(services: &Services) -> Result<Arc<SigningKey>, AppError> {
    services
        .licensing_key
        .get_or_try_init(|| async {
            let seed = match &services.offline_signing_key {
                Some(seed) => seed.expose().to_string(),
                None => {
                    bandpool_store::secret::deployment_key(&services.db, KEY_NAME, services.now())
                        .await?
                }
            };
            key_from_seed(&seed)
                .map(Arc::new)
                .map_err(AppError::internal)
        })
        .await
        .cloned()
}

/// A signing key from its 32-byte seed in hex.
pub fn key_from_seed(seed_hex: &str) -> Result<SigningKey, String> {
    crate::secret::ed25519_from_seed("offline_signing_key", seed_hex)
}

/// The public half, hex: what LoadMasters (and the simulator) check license texts with.
pub async fn public_key(services: &Services) -> Result<String, AppError> {
    Ok(hex::encode(
        signing_key(services).await?.verifying_key().as_bytes(),
    ))
}

/// A fresh idempotency key for one showing of the Offline Licensing form.
pub fn form_key() -> String {
    format!("offline-{}", uuid::Uuid::new_v4())
}

/// What the Offline Licensing form offers: the license types (with their SKUs).
pub async fn license_types(
    services: &Services,
) -> Result<Vec<bandpool_store::tenants::TypeWithSku>, AppError> {
    bandpool_store::tenants::license_types(&services.db).await
}

/// Generate license text: the action taken on the caller's tenant (a new license, an update,
/// a trial, a trial upgraded, or the license moved here from its previous owner), then the
/// license as it now stands, signed.
pub async fn generate(
    services: &Services,
    caller: &Caller,
    request: &OfflineRequest,
) -> Result<OfflineLicense, AppError> {
    let request = request.checked()?;
    bandpool_store::idempotency::check_key(&request.idempotency_key)?;
    let key = signing_key(services).await?;
    let channel = Channel::Offline {
        tenant_id: caller.tenant_id(),
        actor: caller.actor.clone(),
        access_code: &request.access_code,
    };
    let now = services.now();
    let types = license_types(services).await?;
    let sku_of = |type_id: &str| {
        types
            .iter()
            .find(|t| t.id == type_id)
            .map(|t| t.sku.clone())
            .ok_or_else(|| {
                AppError::invalid(
                    "license_type_id",
                    format!("there is no license type '{type_id}'"),
                )
            })
    };
    let license: Activation = match request.action {
        OfflineAction::NewLicense | OfflineAction::Trial => {
            let trial = request.action == OfflineAction::Trial;
            let type_id = if trial {
                bandpool_domain::lifecycle::TRIAL_LICENSE_TYPE.to_string()
            } else {
                request.license_type_id.clone()
            };
            let order_id = Some(request.order_id.clone()).filter(|o| !o.is_empty());
            let kind = if trial {
                Some(LicenseKind::Trial)
            } else {
                order_id.as_ref().map(|_| LicenseKind::Permanent)
            };
            let activation = ActivationRequest {
                idempotency_key: request.idempotency_key.clone(),
                serial_no: request.serial_no.clone(),
                device_name: request.device_name.clone(),
                ip_address: request.ip_address.clone(),
                sku: sku_of(&type_id)?,
                license_type_id: type_id,
                appliance: None,
                ask: LicenseAsk {
                    kind,
                    order_id,
                    payg: false,
                },
            };
            let (license, again) =
                bandpool_store::licensing::activate(&services.db, &channel, &activation, now)
                    .await?;
            if !again {
                crate::relay::limits_after_change(services, caller.tenant_id());
            }
            license
        }
        OfflineAction::Update | OfflineAction::UpgradeTrial => {
            let upgrade = request.action == OfflineAction::UpgradeTrial;
            let update = LicenseUpdateRequest {
                idempotency_key: request.idempotency_key.clone(),
                license_id: String::new(),
                serial_no: request.serial_no.clone(),
                license_type_id: Some(request.license_type_id.clone()).filter(|t| !t.is_empty()),
                ask: LicenseAsk {
                    kind: upgrade.then_some(LicenseKind::Permanent),
                    order_id: Some(request.order_id.clone()).filter(|o| !o.is_empty()),
                    payg: false,
                },
            };
            let answer =
                bandpool_store::licensing::update(&services.db, &channel, &update, now).await?;
            if !answer.changes.is_empty() {
                crate::relay::limits_after_change(services, caller.tenant_id());
            }
            answer.license
        }
        OfflineAction::ChangeOwner => {
            let change = OwnerChangeRequest {
                idempotency_key: request.idempotency_key.clone(),
                license_id: String::new(),
                serial_no: request.serial_no.clone(),
                device_name: request.device_name.clone(),
                ip_address: request.ip_address.clone(),
            };
            crate::relay::move_license(services, &channel, &change)
                .await?
                .license
        }
    };
    let grant = LicenseGrant {
        format: 1,
        issuer: services.portal.public_url.clone(),
        serial_no: request.serial_no.clone(),
        access_code: request.access_code.clone(),
        action: request.action,
        issued_at: now,
        license,
    };
    Ok(OfflineLicense {
        license_text: bandpool_domain::offline::sign(&grant, &key),
        grant,
        message: APPLY_TEXT.to_string(),
    })
}
