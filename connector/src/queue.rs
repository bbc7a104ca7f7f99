//! The disk-backed outbox: what the connector owes the portal, kept so that nothing is
//! lost while the portal is unreachable or restarting, or the agent itself restarts.
//!
//! LoadMaster checks and metered LoadMasters' usage samples gather in memory; every
//! `flush_millis` they are cut into batch files of at most [`MAX_CHECKS_PER_REPORT`] checks
//! or [`MAX_SAMPLES_PER_REPORT`] samples, each a complete [`CheckReport`] or [`UsageReport`]
//! whose idempotency key is fixed when the file is written (a resend reuses it, so the
//! portal counts it once). A deactivation is one file of its own. Files live in
//! `data_dir/queue/` under names that sort in the order they were written:
//!
//! ```text
//! 00000000000000000007-checks-1000.json    a CheckReport of 1000 checks
//! 00000000000000000008-deactivation.json   a DeactivationRequest
//! 00000000000000000009-usage-250.json      a UsageReport of 250 samples
//! ```
//!
//! They are sent oldest first and deleted only once the portal has taken them; one the
//! portal refuses for good moves to `data_dir/rejected/` with a `.reason.txt` beside it.
//! Writing is atomic (temporary file, fsync, rename), so a crash never leaves half a batch.

use crate::fsutil::{sync_dir, write_atomic, TMP_PREFIX};
use bandpool_domain::connector::{
    CheckReport, DeactivationRequest, LicenseCheck, MAX_CHECKS_PER_REPORT,
};
use bandpool_domain::metered::{UsageReport, UsageSample, MAX_SAMPLES_PER_REPORT};
use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// One file waiting to be sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedItem {
    /// The file's place in the queue: lower is older.
    pub seq: u64,
    pub kind: ItemKind,
    path: PathBuf,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemKind {
    /// A check report of this many checks.
    Checks {
        count: usize,
    },
    Deactivation,
    /// A usage report of this many samples.
    Usage {
        count: usize,
    },
}

/// A queued file's content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    Checks(CheckReport),
    Deactivation(DeactivationRequest),
    Usage(UsageReport),
}

/// The outbox. Shared between the local API (which adds to it) and the delivery loop
/// (which empties it); every method takes `&self`.
pub struct Queue {
    dir: PathBuf,
    rejected_dir: PathBuf,
    /// Checks received since the last cut.
    buffer: Mutex<Vec<LicenseCheck>>,
    /// Usage samples received since the last cut.
    samples: Mutex<Vec<UsageSample>>,
    /// The files on disk; holding the lock while writing keeps files in sequence order.
    files: Mutex<Files>,
}

struct Files {
    next_seq: u64,
    pending: BTreeMap<u64, QueuedItem>,
    queued_checks: usize,
}

impl ItemKind {
    fn file_name(self, seq: u64) -> String {
        match self {
            ItemKind::Checks { count } => format!("{seq:020}-checks-{count}.json"),
            ItemKind::Deactivation => format!("{seq:020}-deactivation.json"),
            ItemKind::Usage { count } => format!("{seq:020}-usage-{count}.json"),
        }
    }

    fn parse(name: &str) -> Option<(u64, ItemKind)> {
        let stem = name.strip_suffix(".json")?;
        let (seq, rest) = stem.split_once('-')?;
        let seq = seq.parse().ok()?;
        let kind = match rest {
            "deactivation" => ItemKind::Deactivation,
            _ if rest.starts_with("usage-") => ItemKind::Usage {
                count: rest.strip_prefix("usage-")?.parse().ok()?,
            },
            _ => ItemKind::Checks {
                count: rest.strip_prefix("checks-")?.parse().ok()?,
            },
        };
        Some((seq, kind))
    }
}

impl Queue {
    /// Opens (or creates) `data_dir/queue/`, finding the files a previous run left.
    pub fn open(data_dir: &Path) -> io::Result<Queue> {
        let dir = data_dir.join("queue");
        let rejected_dir = data_dir.join("rejected");
        fs::create_dir_all(&dir)?;
        let mut pending = BTreeMap::new();
        let mut queued_checks = 0;
        for entry in fs::read_dir(&dir)? {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with(TMP_PREFIX) {
                // Half-written before a crash: its checks were never acknowledged as queued
                // beyond the in-memory buffer, and the whole file is not trustworthy.
                let _ = fs::remove_file(entry.path());
                continue;
            }
            match ItemKind::parse(&name) {
                Some((seq, kind)) => {
                    if let ItemKind::Checks { count } = kind {
                        queued_checks += count;
                    }
                    pending.insert(
                        seq,
                        QueuedItem {
                            seq,
                            kind,
                            path: entry.path(),
                        },
                    );
                }
                None => {
                    tracing::warn!(file = %entry.path().display(), "not a queue file; left alone")
                }
            }
        }
        let next_seq = pending.keys().next_back().map_or(1, |s| s + 1);
        Ok(Queue {
            dir,
            rejected_dir,
            buffer: Mutex::new(Vec::new()),
            samples: Mutex::new(Vec::new()),
            files: Mutex::new(Files {
                next_seq,
                pending,
                queued_checks,
            }),
        })
    }

    /// Adds a LoadMaster's check to the next batch (memory only; `cut` writes it).
    pub fn push_check(&self, check: LicenseCheck) {
        lock(&self.buffer).push(check);
    }

    /// Adds a metered LoadMaster's usage sample to the next batch (memory only; `cut`
    /// writes it).
    pub fn push_sample(&self, sample: UsageSample) {
        lock(&self.samples).push(sample);
    }

    /// Checks received but not yet cut into a batch file.
    pub fn buffered_checks(&self) -> usize {
        lock(&self.buffer).len()
    }

    /// Usage samples received but not yet cut into a batch file.
    pub fn buffered_samples(&self) -> usize {
        lock(&self.samples).len()
    }

    /// Checks and samples received but not yet cut into a batch file.
    pub fn buffered(&self) -> usize {
        self.buffered_checks() + self.buffered_samples()
    }

    /// Writes the checks and samples received so far into batch files (split at
    /// `MAX_CHECKS_PER_REPORT` and `MAX_SAMPLES_PER_REPORT`), each with a fresh idempotency
    /// key. Returns how many files were written. On a write error what was not written goes
    /// back into its buffer.
    pub fn cut(&self) -> io::Result<usize> {
        let checks = self.cut_buffer(&self.buffer, MAX_CHECKS_PER_REPORT, |chunk| {
            let report = CheckReport {
                idempotency_key: uuid::Uuid::new_v4().to_string(),
                checks: chunk.to_vec(),
            };
            (
                ItemKind::Checks { count: chunk.len() },
                serde_json::to_vec(&report),
            )
        })?;
        let samples = self.cut_buffer(&self.samples, MAX_SAMPLES_PER_REPORT, |chunk| {
            let report = UsageReport {
                idempotency_key: uuid::Uuid::new_v4().to_string(),
                samples: chunk.to_vec(),
            };
            (
                ItemKind::Usage { count: chunk.len() },
                serde_json::to_vec(&report),
            )
        })?;
        Ok(checks + samples)
    }

    /// Cuts one buffer into files of at most `max` entries, each made by `report`.
    fn cut_buffer<T: Clone>(
        &self,
        buffer: &Mutex<Vec<T>>,
        max: usize,
        report: impl Fn(&[T]) -> (ItemKind, serde_json::Result<Vec<u8>>),
    ) -> io::Result<usize> {
        let taken = std::mem::take(&mut *lock(buffer));
        if taken.is_empty() {
            return Ok(0);
        }
        let mut files = lock(&self.files);
        let mut written = 0;
        let mut rest = taken.as_slice();
        while !rest.is_empty() {
            let (chunk, after) = rest.split_at(rest.len().min(max));
            let (kind, bytes) = report(chunk);
            let outcome = bytes
                .map_err(io::Error::other)
                .and_then(|bytes| self.write_bytes(&mut files, kind, &bytes));
            if let Err(e) = outcome {
                drop(files);
                let mut buffer = lock(buffer);
                let newer = std::mem::take(&mut *buffer);
                buffer.extend_from_slice(rest);
                buffer.extend(newer);
                return Err(e);
            }
            written += 1;
            rest = after;
        }
        Ok(written)
    }

    /// Queues a deactivation durably (after cutting the checks received before it, so the
    /// portal hears them first).
    pub fn push_deactivation(&self, request: &DeactivationRequest) -> io::Result<QueuedItem> {
        self.cut()?;
        let mut files = lock(&self.files);
        self.write_file(&mut files, ItemKind::Deactivation, request)
    }

    fn write_file(
        &self,
        files: &mut Files,
        kind: ItemKind,
        body: &impl serde::Serialize,
    ) -> io::Result<QueuedItem> {
        let bytes = serde_json::to_vec(body).map_err(io::Error::other)?;
        self.write_bytes(files, kind, &bytes)
    }

    fn write_bytes(
        &self,
        files: &mut Files,
        kind: ItemKind,
        bytes: &[u8],
    ) -> io::Result<QueuedItem> {
        let seq = files.next_seq;
        let path = self.dir.join(kind.file_name(seq));
        write_atomic(&path, bytes, false)?;
        files.next_seq += 1;
        if let ItemKind::Checks { count } = kind {
            files.queued_checks += count;
        }
        let item = QueuedItem { seq, kind, path };
        files.pending.insert(seq, item.clone());
        Ok(item)
    }

    /// The files waiting to be sent, oldest first.
    pub fn pending(&self) -> Vec<QueuedItem> {
        lock(&self.files).pending.values().cloned().collect()
    }

    /// How many files are waiting.
    pub fn len(&self) -> usize {
        lock(&self.files).pending.len()
    }

    /// Whether no file is waiting (checks may still be buffered in memory).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Checks waiting in files (not counting the buffer).
    pub fn queued_checks(&self) -> usize {
        lock(&self.files).queued_checks
    }

    /// Reads a queued file back.
    pub fn read(&self, item: &QueuedItem) -> io::Result<Message> {
        let bytes = fs::read(&item.path)?;
        let invalid = |e: serde_json::Error| io::Error::new(io::ErrorKind::InvalidData, e);
        Ok(match item.kind {
            ItemKind::Checks { .. } => {
                Message::Checks(serde_json::from_slice(&bytes).map_err(invalid)?)
            }
            ItemKind::Deactivation => {
                Message::Deactivation(serde_json::from_slice(&bytes).map_err(invalid)?)
            }
            ItemKind::Usage { .. } => {
                Message::Usage(serde_json::from_slice(&bytes).map_err(invalid)?)
            }
        })
    }

    /// Deletes a file the portal has taken.
    pub fn remove(&self, item: &QueuedItem) -> io::Result<()> {
        match fs::remove_file(&item.path) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        self.forget(item);
        sync_dir(&self.dir)
    }

    /// Moves a file the portal refused for good to `data_dir/rejected/`, with the reason
    /// beside it. Returns where it went.
    pub fn reject(&self, item: &QueuedItem, reason: &str) -> io::Result<PathBuf> {
        fs::create_dir_all(&self.rejected_dir)?;
        let name = item
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| item.kind.file_name(item.seq));
        let target = self.rejected_dir.join(&name);
        fs::write(
            self.rejected_dir.join(format!("{name}.reason.txt")),
            format!("{reason}\n"),
        )?;
        fs::rename(&item.path, &target)?;
        self.forget(item);
        sync_dir(&self.dir)?;
        Ok(target)
    }

    fn forget(&self, item: &QueuedItem) {
        let mut files = lock(&self.files);
        if files.pending.remove(&item.seq).is_some() {
            if let ItemKind::Checks { count } = item.kind {
                files.queued_checks -= count;
            }
        }
    }
}

/// A poisoned lock only means another thread panicked mid-update of a plain collection;
/// the data is still usable.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(n: usize) -> LicenseCheck {
        LicenseCheck {
            license_id: format!("lic-{n}"),
            serial_no: format!("{}", 1_000_000 + n),
            checked_at: 1_700_000_000 + n as i64,
            partners: None,
        }
    }

    fn keys_and_kinds(queue: &Queue) -> Vec<(String, ItemKind)> {
        queue
            .pending()
            .iter()
            .map(|item| match queue.read(item).expect("readable") {
                Message::Checks(report) => {
                    assert!(bandpool_domain::connector::valid_key(
                        &report.idempotency_key
                    ));
                    (report.idempotency_key, item.kind)
                }
                Message::Deactivation(d) => (d.idempotency_key, item.kind),
                Message::Usage(u) => (u.idempotency_key, item.kind),
            })
            .collect()
    }

    #[test]
    fn batches_survive_reopening_in_order_with_their_keys() {
        let dir = tempfile::tempdir().unwrap();
        let before = {
            let queue = Queue::open(dir.path()).unwrap();
            for n in 0..3 {
                queue.push_check(check(n));
            }
            assert_eq!(queue.cut().unwrap(), 1);
            queue
                .push_deactivation(&DeactivationRequest {
                    idempotency_key: "deact-key-1".into(),
                    license_id: "lic-1".into(),
                    serial_no: "1000001".into(),
                })
                .unwrap();
            queue.push_check(check(3));
            assert_eq!(queue.cut().unwrap(), 1);
            assert_eq!(queue.cut().unwrap(), 0, "nothing new to cut");
            assert_eq!(queue.queued_checks(), 4);
            keys_and_kinds(&queue)
        };
        let queue = Queue::open(dir.path()).unwrap();
        assert_eq!(queue.len(), 3);
        assert_eq!(queue.queued_checks(), 4);
        assert_eq!(keys_and_kinds(&queue), before, "same order, same keys");
        assert_eq!(
            before.iter().map(|(_, k)| *k).collect::<Vec<_>>(),
            vec![
                ItemKind::Checks { count: 3 },
                ItemKind::Deactivation,
                ItemKind::Checks { count: 1 }
            ]
        );
        let Message::Checks(first) = queue.read(&queue.pending()[0]).unwrap() else {
            panic!("checks first");
        };
        assert_eq!(first.checks, vec![check(0), check(1), check(2)]);

        // New files continue the sequence after the old ones.
        queue.push_check(check(9));
        queue.cut().unwrap();
        let seqs: Vec<u64> = queue.pending().iter().map(|i| i.seq).collect();
        assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");
        assert_eq!(queue.len(), 4);
    }

    #[test]
    fn big_cuts_split_at_the_report_limit() {
        let dir = tempfile::tempdir().unwrap();
        let queue = Queue::open(dir.path()).unwrap();
        for n in 0..(MAX_CHECKS_PER_REPORT * 2 + 5) {
            queue.push_check(check(n));
        }
        assert_eq!(queue.cut().unwrap(), 3);
        let kinds: Vec<_> = queue.pending().iter().map(|i| i.kind).collect();
        assert_eq!(
            kinds,
            vec![
                ItemKind::Checks {
                    count: MAX_CHECKS_PER_REPORT
                },
                ItemKind::Checks {
                    count: MAX_CHECKS_PER_REPORT
                },
                ItemKind::Checks { count: 5 },
            ]
        );
        let keys: std::collections::HashSet<_> =
            keys_and_kinds(&queue).into_iter().map(|(k, _)| k).collect();
        assert_eq!(keys.len(), 3, "each batch has its own key");
    }

    #[test]
    fn usage_samples_are_cut_into_their_own_batches_and_survive_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let sample = |n: usize| UsageSample {
            license_id: format!("lic-{n}"),
            serial_no: format!("{}", 1_000_000 + n),
            sampled_at: 1_700_000_000 + 300 * n as i64,
            bytes_in_per_second: 1_000,
            bytes_out_per_second: 2_000,
            ssl_tps: 3,
            virtual_services: vec![],
        };
        {
            let queue = Queue::open(dir.path()).unwrap();
            queue.push_check(check(1));
            for n in 0..(MAX_SAMPLES_PER_REPORT + 2) {
                queue.push_sample(sample(n));
            }
            assert_eq!(queue.buffered(), MAX_SAMPLES_PER_REPORT + 3);
            assert_eq!(queue.cut().unwrap(), 3);
            assert_eq!(queue.buffered(), 0);
        }
        let queue = Queue::open(dir.path()).unwrap();
        let kinds: Vec<_> = queue.pending().iter().map(|i| i.kind).collect();
        assert_eq!(
            kinds,
            vec![
                ItemKind::Checks { count: 1 },
                ItemKind::Usage {
                    count: MAX_SAMPLES_PER_REPORT
                },
                ItemKind::Usage { count: 2 },
            ]
        );
        let Message::Usage(last) = queue.read(&queue.pending()[2]).unwrap() else {
            panic!("a usage report");
        };
        assert!(bandpool_domain::connector::valid_key(&last.idempotency_key));
        assert_eq!(
            last.samples,
            vec![
                sample(MAX_SAMPLES_PER_REPORT),
                sample(MAX_SAMPLES_PER_REPORT + 1)
            ]
        );
    }

    #[test]
    fn sent_files_go_and_refused_files_move_aside() {
        let dir = tempfile::tempdir().unwrap();
        let queue = Queue::open(dir.path()).unwrap();
        queue.push_check(check(1));
        queue.cut().unwrap();
        queue.push_check(check(2));
        queue.cut().unwrap();
        // A half-written file from a crash is cleaned up at open, a stranger left alone.
        fs::write(
            dir.path()
                .join("queue/.tmp-00000000000000000009-checks-1.json"),
            b"{",
        )
        .unwrap();
        fs::write(dir.path().join("queue/notes.txt"), b"hi").unwrap();
        let queue = Queue::open(dir.path()).unwrap();
        assert_eq!(queue.len(), 2);
        let items = queue.pending();
        queue.remove(&items[0]).unwrap();
        let moved = queue
            .reject(&items[1], "400 invalid_parameter: bad")
            .unwrap();
        assert!(moved.starts_with(dir.path().join("rejected")));
        assert!(moved.exists());
        let reason = fs::read_to_string(format!("{}.reason.txt", moved.display())).unwrap();
        assert!(reason.contains("invalid_parameter"));
        assert!(queue.is_empty());
        assert_eq!(queue.queued_checks(), 0);
        let queue = Queue::open(dir.path()).unwrap();
        assert!(queue.is_empty());
        assert!(!dir
            .path()
            .join("queue/.tmp-00000000000000000009-checks-1.json")
            .exists());
        assert!(dir.path().join("queue/notes.txt").exists());
    }
}
