//! What an asset is (a LoadMaster, an HA pair counted once, an application under pooled
//! licensing) and how full a figure is: the green/amber/red levels.

use serde::{Deserialize, Serialize};

/// How full a bar or percentage is: green under 50%, amber from 51 to 80%, red from 81%.
/// The level follows the whole percentage the page shows, so 50.4% (shown as 50%) is green
/// and 50.6% (shown as 51%) amber.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub enum Level {
    Green,
    Amber,
    Red,
}

impl Level {
    pub fn key(self) -> &'static str {
        match self {
            Level::Green => "green",
            Level::Amber => "amber",
            Level::Red => "red",
        }
    }

    /// Words for screen readers and the no-colour reading of a bar.
    pub fn label(self) -> &'static str {
        match self {
            Level::Green => "under half used",
            Level::Amber => "more than half used",
            Level::Red => "nearly or fully used",
        }
    }

    pub fn of_percent(percent: i64) -> Level {
        match percent {
            ..=50 => Level::Green,
            51..=80 => Level::Amber,
            _ => Level::Red,
        }
    }
}

/// `used` of `total` as the whole percentage the page shows (rounded half up). Anything used
/// of nothing is over 100%; nothing of nothing is 0%.
pub fn percent(used: i64, total: i64) -> i64 {
    let used = used.max(0);
    if total <= 0 {
        return if used > 0 { 101 } else { 0 };
    }
    ((used as i128 * 200 + total as i128) / (total as i128 * 2)) as i64
}

/// A usage figure as a bar shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Usage {
    pub used: i64,
    pub total: i64,
    pub percent: i64,
    pub level: Level,
}

impl Usage {
    pub fn new(used: i64, total: i64) -> Usage {
        let percent = percent(used, total);
        Usage {
            used,
            total,
            percent,
            level: Level::of_percent(percent),
        }
    }

    /// The bar's width: the percentage, never beyond the bar.
    pub fn width_percent(&self) -> i64 {
        self.percent.clamp(0, 100)
    }

    /// The limit is reached (used at or beyond the total).
    pub fn reached(&self) -> bool {
        self.used >= self.total && (self.total > 0 || self.used > 0)
    }
}

/// One LoadMaster as asset counting needs it: itself and its HA and GEO partners.
// Read from the database as they are stored (the data layer's `query_as`).
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssetDevice {
    pub id: String,
    pub ha_partner_id: Option<String>,
    pub geo_partner_id: Option<String>,
}

/// How many assets LoadMasters make (as the Usage and billing guide defines them): a single LoadMaster is one; an HA pair is
/// counted once; GEO partners that are not an HA pair are separate assets (a GEO link
/// never merges two LoadMasters). A partner id that names no listed LoadMaster (removed,
/// or another tenant's) does not merge anything.
pub fn loadmaster_assets(devices: &[AssetDevice]) -> i64 {
    use std::collections::HashMap;
    // Union-find over HA links (recorded on either side or both), whatever the order.
    let index: HashMap<&str, usize> = devices
        .iter()
        .enumerate()
        .map(|(i, d)| (d.id.as_str(), i))
        .collect();
    let mut parent: Vec<usize> = (0..devices.len()).collect();
    fn root(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    for (i, d) in devices.iter().enumerate() {
        if let Some(&j) = d.ha_partner_id.as_deref().and_then(|p| index.get(p)) {
            let (a, b) = (root(&mut parent, i), root(&mut parent, j));
            if a != b {
                parent[a] = b;
            }
        }
    }
    (0..devices.len())
        .filter(|&i| root(&mut parent, i) == i)
        .count() as i64
}

/// Used assets: for pooled licensing only applications count (004: "LoadMasters do not count
/// as a used asset for pooled licenses (just applications)"); otherwise LoadMasters (HA
/// pairs once) and applications.
pub fn used_assets(pooled: bool, devices: &[AssetDevice], applications: i64) -> i64 {
    if pooled {
        applications
    } else {
        loadmaster_assets(devices) + applications
    }
}
