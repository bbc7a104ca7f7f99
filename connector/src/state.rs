//! The connector's local license state: for each license it serves, which LoadMaster
//! (serial number) holds it, the last status the portal gave, when the grace period ends,
//! and when the LoadMaster last checked. LoadMaster checks are answered from here at once,
//! whether or not the portal is reachable.
//!
//! It changes with activations (a new license), check-report results (the portal says a
//! license is now in its grace period, expired, ...), kill commands and deactivations, and
//! is saved atomically to `data_dir/state.json`. Saves are grouped: many changes close
//! together cost one write, and a caller that must know its change is on disk (an
//! activation before its answer, a kill before its acknowledgement) awaits [`Licenses::save`].

use crate::fsutil::write_atomic;
use bandpool_domain::connector::{
    Activation, ApplianceLicense, ApplianceState, CheckResult, LicenseCheck, ReportedVirtualService,
};
use bandpool_domain::license::LicenseStatus;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

/// What the connector knows of one license.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LicenseEntry {
    /// The LoadMaster holding the license.
    pub serial_no: String,
    /// The last status the portal gave (or `Killed` after a kill command).
    pub status: LicenseStatus,
    pub grace_period_end: Option<i64>,
    /// When the LoadMaster last checked (Unix seconds).
    pub last_check_at: Option<i64>,
    /// The LoadMaster gave the license back; the deactivation is queued for the portal.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub released: bool,
    /// The LoadMaster's Virtual Services as its last check reported them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub virtual_services: Option<Vec<ReportedVirtualService>>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct StateFile {
    licenses: BTreeMap<String, LicenseEntry>,
}

/// How check-report results changed the local state (for one log line per report).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Applied {
    /// Licenses whose status changed: (license id, before, after).
    pub changed: Vec<(String, LicenseStatus, LicenseStatus)>,
    /// Licenses the connector did not know (lost state) and learnt from the portal.
    pub learned: usize,
    /// Checks the portal refused, by refusal code.
    pub refused: BTreeMap<String, usize>,
}

/// The local license state. Every method takes `&self`.
pub struct Licenses {
    path: PathBuf,
    inner: Mutex<Inner>,
    /// Held while writing state.json: saves happen one at a time, in order.
    save_lock: tokio::sync::Mutex<()>,
    saved_version: AtomicU64,
}

struct Inner {
    licenses: BTreeMap<String, LicenseEntry>,
    /// Bumped by every change that must reach the disk.
    version: u64,
    /// Check times changed since the last save (saved lazily; losing them costs little).
    touched: bool,
}

impl Licenses {
    /// Loads `data_dir/state.json`. An unreadable file is set aside as
    /// `state.json.unreadable` and the connector starts empty: the portal's answers to the
    /// next checks teach it the licenses again.
    pub fn open(data_dir: &Path) -> io::Result<Licenses> {
        let path = data_dir.join("state.json");
        let licenses = match std::fs::read(&path) {
            Ok(bytes) => match serde_json::from_slice::<StateFile>(&bytes) {
                Ok(file) => file.licenses,
                Err(e) => {
                    let aside = data_dir.join("state.json.unreadable");
                    std::fs::rename(&path, &aside)?;
                    tracing::warn!(
                        "{} was unreadable ({e}); set aside as {} and starting with no local license state",
                        path.display(),
                        aside.display()
                    );
                    BTreeMap::new()
                }
            },
            Err(e) if e.kind() == io::ErrorKind::NotFound => BTreeMap::new(),
            Err(e) => return Err(e),
        };
        Ok(Licenses {
            path,
            inner: Mutex::new(Inner {
                licenses,
                version: 0,
                touched: false,
            }),
            save_lock: tokio::sync::Mutex::new(()),
            saved_version: AtomicU64::new(0),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// How many licenses the connector serves (given-back ones not counted).
    pub fn len(&self) -> usize {
        self.lock()
            .licenses
            .values()
            .filter(|e| !e.released)
            .count()
    }

    /// A LoadMaster checks: the answer from local state (status, grace period end), and the
    /// check time noted. `None`: not a license this connector serves to this serial number.
    pub fn check(
        &self,
        license_id: &str,
        serial_no: &str,
        now: i64,
    ) -> Option<(LicenseStatus, Option<i64>)> {
        let mut inner = self.lock();
        let entry = inner.licenses.get_mut(license_id)?;
        if entry.released || entry.serial_no != serial_no {
            return None;
        }
        entry.last_check_at = Some(now);
        let answer = (entry.status, entry.grace_period_end);
        inner.touched = true;
        Some(answer)
    }

    /// Whether this connector serves `license_id` to the LoadMaster with `serial_no` (a
    /// usage sample is taken only from such a LoadMaster; nothing is recorded).
    pub fn serves(&self, license_id: &str, serial_no: &str) -> bool {
        self.lock()
            .licenses
            .get(license_id)
            .is_some_and(|entry| !entry.released && entry.serial_no == serial_no)
    }

    /// The portal granted a license to a LoadMaster.
    pub fn record_activation(&self, serial_no: &str, activation: &Activation) {
        let mut inner = self.lock();
        inner.licenses.insert(
            activation.license_id.clone(),
            LicenseEntry {
                serial_no: serial_no.to_string(),
                status: activation.status,
                grace_period_end: None,
                last_check_at: None,
                released: false,
                virtual_services: None,
            },
        );
        inner.version += 1;
    }

    /// Applies the portal's answers to a check report. A license the portal says is killed
    /// stays killed; one the connector did not know but the portal says is this
    /// connector's and in use (active or in grace) is learnt, which rebuilds a lost state.
    pub fn apply_results(&self, checks: &[LicenseCheck], results: &[CheckResult]) -> Applied {
        let mut applied = Applied::default();
        let serials: BTreeMap<&str, &str> = checks
            .iter()
            .map(|c| (c.license_id.as_str(), c.serial_no.as_str()))
            .collect();
        let mut inner = self.lock();
        let mut changed = false;
        for result in results {
            let Some(status) = result.status else {
                let code = result.refused.clone().unwrap_or_else(|| "refused".into());
                *applied.refused.entry(code).or_default() += 1;
                continue;
            };
            match inner.licenses.get_mut(&result.license_id) {
                Some(entry) if entry.released => {}
                Some(entry) => {
                    if entry.status == LicenseStatus::Killed && status != LicenseStatus::Killed {
                        continue;
                    }
                    if entry.status != status {
                        applied
                            .changed
                            .push((result.license_id.clone(), entry.status, status));
                    }
                    if entry.status != status || entry.grace_period_end != result.grace_period_end {
                        entry.status = status;
                        entry.grace_period_end = result.grace_period_end;
                        changed = true;
                    }
                }
                None if status.holds_capacity() => {
                    let Some(serial_no) = serials.get(result.license_id.as_str()) else {
                        continue;
                    };
                    let last_check_at = checks
                        .iter()
                        .filter(|c| c.license_id == result.license_id)
                        .map(|c| c.checked_at)
                        .max();
                    inner.licenses.insert(
                        result.license_id.clone(),
                        LicenseEntry {
                            serial_no: serial_no.to_string(),
                            status,
                            grace_period_end: result.grace_period_end,
                            last_check_at,
                            released: false,
                            virtual_services: None,
                        },
                    );
                    applied.learned += 1;
                    changed = true;
                }
                None => {}
            }
        }
        if changed {
            inner.version += 1;
        }
        applied
    }

    /// A kill command: the LoadMaster holding the license is told `killed` at its next
    /// check. Returns whether the connector knew the license (it is recorded either way).
    pub fn kill(&self, license_id: &str, serial_no: &str) -> bool {
        let mut inner = self.lock();
        inner.version += 1;
        match inner.licenses.get_mut(license_id) {
            Some(entry) => {
                entry.status = LicenseStatus::Killed;
                if entry.serial_no != serial_no {
                    entry.serial_no = serial_no.to_string();
                }
                true
            }
            None => {
                inner.licenses.insert(
                    license_id.to_string(),
                    LicenseEntry {
                        serial_no: serial_no.to_string(),
                        status: LicenseStatus::Killed,
                        grace_period_end: None,
                        last_check_at: None,
                        released: false,
                        virtual_services: None,
                    },
                );
                false
            }
        }
    }

    /// A LoadMaster gave its license back (the deactivation is queued for the portal).
    pub fn release(&self, license_id: &str) {
        let mut inner = self.lock();
        if let Some(entry) = inner.licenses.get_mut(license_id) {
            entry.released = true;
            inner.version += 1;
        }
    }

    /// The portal took a deactivation: the license is no longer this connector's concern.
    pub fn forget(&self, license_id: &str) {
        let mut inner = self.lock();
        if inner
            .licenses
            .get(license_id)
            .is_some_and(|entry| entry.released)
        {
            inner.licenses.remove(license_id);
            inner.version += 1;
        }
    }

    /// A license's current local status (`None`: unknown or given back).
    pub fn status(&self, license_id: &str) -> Option<LicenseStatus> {
        self.lock()
            .licenses
            .get(license_id)
            .filter(|e| !e.released)
            .map(|e| e.status)
    }

    /// Every LoadMaster the connector serves, for a sync command's answer.
    pub fn appliances(&self) -> Vec<ApplianceState> {
        self.lock()
            .licenses
            .iter()
            .filter(|(_, e)| !e.released)
            .map(|(id, e)| ApplianceState {
                license_id: id.clone(),
                serial_no: e.serial_no.clone(),
                state: if e.status == LicenseStatus::Killed {
                    ApplianceLicense::Killed
                } else {
                    ApplianceLicense::Licensed
                },
                last_check_at: e.last_check_at,
                virtual_services: e.virtual_services.clone(),
            })
            .collect()
    }

    /// A check reported the LoadMaster's Virtual Services: kept (and saved) when they
    /// differ from what the connector had, for the next sync answer.
    pub fn note_services(&self, license_id: &str, mut services: Vec<ReportedVirtualService>) {
        services.retain(ReportedVirtualService::is_valid);
        services.truncate(ReportedVirtualService::MAX_PER_LOADMASTER);
        let mut inner = self.lock();
        let changed = match inner.licenses.get_mut(license_id) {
            Some(entry) if entry.virtual_services.as_ref() != Some(&services) => {
                entry.virtual_services = Some(services);
                true
            }
            _ => false,
        };
        if changed {
            inner.version += 1;
        }
    }

    /// Whether a save would write something: a change not yet on disk, or (with
    /// `check_times`) check times noted since the last save.
    pub fn unsaved(&self, check_times: bool) -> bool {
        let inner = self.lock();
        inner.version > self.saved_version.load(Ordering::Acquire) || (check_times && inner.touched)
    }

    /// Writes the state to disk, unless every change made before this call is on disk
    /// already (another caller's save covered it).
    pub async fn save(&self) -> io::Result<()> {
        let wanted = self.lock().version;
        let _turn = self.save_lock.lock().await;
        let (version, file) = {
            let mut inner = self.lock();
            if self.saved_version.load(Ordering::Acquire) >= wanted && !inner.touched {
                return Ok(());
            }
            inner.touched = false;
            (
                inner.version,
                StateFile {
                    licenses: inner.licenses.clone(),
                },
            )
        };
        let path = self.path.clone();
        let written = tokio::task::spawn_blocking(move || {
            let bytes = serde_json::to_vec(&file).map_err(io::Error::other)?;
            write_atomic(&path, &bytes, false)
        })
        .await
        .map_err(io::Error::other)?;
        if let Err(e) = written {
            self.lock().touched = true;
            return Err(e);
        }
        self.saved_version.fetch_max(version, Ordering::AcqRel);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn activation(id: &str) -> Activation {
        Activation {
            license_id: id.into(),
            license_name: "VLM-200".into(),
            bandwidth_mbps: 200,
            ssl_tps: 500,
            status: LicenseStatus::Active,
            activated_at: 1_700_000_000,
            kind: bandpool_domain::lifecycle::LicenseKind::Pooled,
            expires_at: None,
            subscriptions: Vec::new(),
        }
    }

    fn result(id: &str, status: Option<LicenseStatus>) -> CheckResult {
        CheckResult {
            license_id: id.into(),
            status,
            grace_period_end: None,
            refused: status.is_none().then(|| "license_not_on_connector".into()),
        }
    }

    fn checked(id: &str, serial: &str) -> LicenseCheck {
        LicenseCheck {
            license_id: id.into(),
            serial_no: serial.into(),
            checked_at: 1_700_000_100,
            partners: None,
        }
    }

    #[tokio::test]
    async fn virtual_services_from_checks_go_into_the_sync_answer() {
        let dir = tempfile::tempdir().unwrap();
        let licenses = Licenses::open(dir.path()).unwrap();
        licenses.record_activation("9000001", &activation("l1"));
        assert_eq!(licenses.appliances()[0].virtual_services, None);
        let vs = |name: &str, address: &str| ReportedVirtualService {
            name: name.into(),
            address: address.into(),
        };
        licenses.note_services("l1", vec![vs("web", "10.0.0.1:443"), vs("", "bad")]);
        // Invalid entries are dropped; an unknown license is ignored.
        licenses.note_services("nobody", vec![vs("web", "10.0.0.9:443")]);
        assert_eq!(
            licenses.appliances()[0].virtual_services,
            Some(vec![vs("web", "10.0.0.1:443")])
        );
        // Kept across a restart.
        licenses.save().await.unwrap();
        let again = Licenses::open(dir.path()).unwrap();
        assert_eq!(
            again.appliances()[0].virtual_services,
            Some(vec![vs("web", "10.0.0.1:443")])
        );
    }

    #[tokio::test]
    async fn state_is_saved_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let licenses = Licenses::open(dir.path()).unwrap();
        licenses.record_activation("9000001", &activation("l1"));
        licenses.record_activation("9000002", &activation("l2"));
        assert!(licenses.unsaved(false));
        licenses.save().await.unwrap();
        assert!(!licenses.unsaved(true));
        assert_eq!(
            licenses.check("l1", "9000001", 5),
            Some((LicenseStatus::Active, None))
        );
        assert!(!licenses.unsaved(false), "check times alone wait");
        assert!(licenses.unsaved(true));
        licenses.kill("l2", "9000002");
        licenses.save().await.unwrap();

        let again = Licenses::open(dir.path()).unwrap();
        assert_eq!(again.status("l1"), Some(LicenseStatus::Active));
        assert_eq!(again.status("l2"), Some(LicenseStatus::Killed));
        let appliances = again.appliances();
        assert_eq!(appliances.len(), 2);
        assert_eq!(appliances[0].last_check_at, Some(5));
        assert_eq!(appliances[1].state, ApplianceLicense::Killed);
    }

    #[test]
    fn checks_answer_only_the_holder() {
        let dir = tempfile::tempdir().unwrap();
        let licenses = Licenses::open(dir.path()).unwrap();
        licenses.record_activation("9000001", &activation("l1"));
        assert_eq!(licenses.check("l1", "9999999", 1), None);
        assert_eq!(licenses.check("nope", "9000001", 1), None);
        licenses.release("l1");
        assert_eq!(licenses.check("l1", "9000001", 1), None);
        assert_eq!(licenses.len(), 0);
        licenses.forget("l1");
        assert_eq!(licenses.status("l1"), None);
    }

    #[test]
    fn results_update_state_but_a_kill_sticks() {
        let dir = tempfile::tempdir().unwrap();
        let licenses = Licenses::open(dir.path()).unwrap();
        licenses.record_activation("1", &activation("l1"));
        licenses.record_activation("2", &activation("l2"));
        licenses.kill("l2", "2");
        let checks = [
            checked("l1", "1"),
            checked("l2", "2"),
            checked("l3", "3"),
            checked("l4", "4"),
        ];
        let mut grace = result("l1", Some(LicenseStatus::GracePeriod));
        grace.grace_period_end = Some(1_800_000_000);
        let applied = licenses.apply_results(
            &checks,
            &[
                grace,
                result("l2", Some(LicenseStatus::Active)),
                result("l3", Some(LicenseStatus::Active)),
                result("l4", None),
            ],
        );
        assert_eq!(
            applied.changed,
            vec![(
                "l1".to_string(),
                LicenseStatus::Active,
                LicenseStatus::GracePeriod
            )]
        );
        assert_eq!(applied.learned, 1);
        assert_eq!(applied.refused.get("license_not_on_connector"), Some(&1));
        assert_eq!(
            licenses.check("l1", "1", 9),
            Some((LicenseStatus::GracePeriod, Some(1_800_000_000)))
        );
        assert_eq!(licenses.status("l2"), Some(LicenseStatus::Killed));
        assert_eq!(
            licenses.check("l3", "3", 9),
            Some((LicenseStatus::Active, None))
        );
        assert_eq!(licenses.status("l4"), None);
    }

    #[test]
    fn an_unreadable_state_file_is_set_aside() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("state.json"), b"{ not json").unwrap();
        let licenses = Licenses::open(dir.path()).unwrap();
        assert_eq!(licenses.len(), 0);
        assert!(dir.path().join("state.json.unreadable").exists());
    }
}
