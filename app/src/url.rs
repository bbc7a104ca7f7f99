//! The License Repository's view lives in its URL (filter, search, sort, page, the month
//! drilled into, the license whose history is open), so a reload or a shared link shows
//! the same view. This builds those URLs.

use bandpool_domain::license::{
    Column, LicenseQuery, LicenseQueryParams, LicenseStatus, SortOrder,
};

pub const PAGE_PATH: &str = "/license-repository";

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PageState {
    /// The table's parameters as given (validated by the server).
    pub raw: LicenseQueryParams,
    pub month: Option<String>,
    pub history: Option<String>,
}

impl PageState {
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Self {
        PageState {
            raw: LicenseQueryParams::from_lookup(&get),
            month: get("month").filter(|m| !m.is_empty()),
            history: get("history").filter(|h| !h.is_empty()),
        }
    }

    /// The parsed query, or the default view when the URL's parameters are invalid
    /// (the table shows the error; links start again from defaults).
    pub fn query(&self) -> LicenseQuery {
        self.raw.parse().unwrap_or_default()
    }

    pub fn href(&self) -> String {
        let mut pairs: Vec<(&str, String)> = match self.raw.parse() {
            Ok(q) => q.to_params(),
            Err(_) => Vec::new(),
        };
        if let Some(m) = &self.month {
            pairs.push(("month", m.clone()));
        }
        if let Some(h) = &self.history {
            pairs.push(("history", h.clone()));
        }
        if pairs.is_empty() {
            return PAGE_PATH.to_string();
        }
        let query: Vec<String> = pairs
            .iter()
            .map(|(k, v)| format!("{k}={}", encode(v)))
            .collect();
        format!("{PAGE_PATH}?{}", query.join("&"))
    }

    fn with_query(&self, change: impl FnOnce(&mut LicenseQuery)) -> PageState {
        let mut query = self.query();
        change(&mut query);
        let mut next = self.clone();
        next.raw = LicenseQueryParams::from_lookup(|k| {
            query
                .to_params()
                .into_iter()
                .find(|(name, _)| *name == k)
                .map(|(_, v)| v)
        });
        next
    }

    /// Filter by a status (or clear the filter), back to page 1.
    pub fn with_status(&self, status: Option<LicenseStatus>) -> PageState {
        self.with_query(|q| {
            q.status = status;
            q.page = 1;
        })
    }

    pub fn with_search(&self, text: &str) -> PageState {
        let text = text.trim().to_string();
        self.with_query(|q| {
            q.q = (!text.is_empty()).then_some(text);
            q.page = 1;
        })
    }

    /// Sort by a column; a second click on the sorted column flips the order.
    pub fn with_sort(&self, column: Column) -> PageState {
        self.with_query(|q| {
            q.order = if q.sort == column {
                q.order.flipped()
            } else {
                SortOrder::Asc
            };
            q.sort = column;
            q.page = 1;
        })
    }

    pub fn with_page(&self, page: u32) -> PageState {
        self.with_query(|q| q.page = page.max(1))
    }

    pub fn with_per_page(&self, per_page: u32) -> PageState {
        self.with_query(|q| {
            q.per_page = per_page;
            q.page = 1;
        })
    }

    pub fn with_month(&self, month: Option<String>) -> PageState {
        PageState {
            month,
            ..self.clone()
        }
    }

    pub fn with_history(&self, license_id: Option<String>) -> PageState {
        PageState {
            history: license_id,
            ..self.clone()
        }
    }
}

/// Percent-encode a query value.
pub fn encode(value: &str) -> String {
    let mut out = String::new();
    for b in value.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_keep_the_view_and_reset_the_page_where_they_should() {
        let state = PageState::from_lookup(|k| match k {
            "q" => Some("lm ams".into()),
            "page" => Some("3".into()),
            "month" => Some("2026-05".into()),
            _ => None,
        });
        assert_eq!(
            state.href(),
            "/license-repository?q=lm%20ams&page=3&month=2026-05"
        );
        assert_eq!(
            state.with_status(Some(LicenseStatus::Killed)).href(),
            "/license-repository?status=killed&q=lm%20ams&month=2026-05"
        );
        assert_eq!(
            state.with_sort(Column::DeviceName).href(),
            "/license-repository?q=lm%20ams&order=desc&month=2026-05"
        );
        assert_eq!(
            state.with_month(None).with_page(4).href(),
            "/license-repository?q=lm%20ams&page=4"
        );
        assert_eq!(
            state.with_search("  ").with_month(None).href(),
            "/license-repository"
        );
        assert_eq!(
            state.with_per_page(25).with_month(None).href(),
            "/license-repository?q=lm%20ams&per_page=25"
        );
    }
}
