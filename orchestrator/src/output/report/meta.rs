//! Where and from what a report was rendered: the commit and the host, read at render
//! time, and a readable UTC timestamp.

use std::path::Path;
use std::process::Command;

/// The commit and host a report names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Provenance {
    /// `git rev-parse --short HEAD` of the repository holding the report (else of the
    /// working directory), or `unknown`.
    pub(super) commit: String,
    /// The contents of /etc/hostname, or `unknown`.
    pub(super) host: String,
}

impl Provenance {
    /// Reads the commit (trying `dir`'s repository first) and the host name.
    pub(super) fn detect(dir: &Path) -> Self {
        let commit = git_head(Some(dir))
            .or_else(|| git_head(None))
            .unwrap_or_else(|| "unknown".to_string());
        let host = std::fs::read_to_string("/etc/hostname")
            .ok()
            .map(|h| h.trim().to_string())
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "unknown".to_string());
        Provenance { commit, host }
    }
}

fn git_head(dir: Option<&Path>) -> Option<String> {
    let mut cmd = Command::new("git");
    if let Some(d) = dir.filter(|d| !d.as_os_str().is_empty()) {
        cmd.arg("-C").arg(d);
    }
    let out = cmd
        .args(["rev-parse", "--short", "HEAD"])
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    let text = String::from_utf8(out.stdout).ok()?;
    let head = text.trim();
    (out.status.success() && !head.is_empty()).then(|| head.to_string())
}

/// `ms` since the Unix epoch as `YYYY-MM-DD hh:mm:ss UTC`.
pub(super) fn utc(ms: u64) -> String {
    let secs = ms / 1000;
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

/// Days since 1970-01-01 to a proleptic Gregorian (year, month, day) (H. Hinnant).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_formats_known_instants() {
        assert_eq!(utc(0), "1970-01-01 00:00:00 UTC");
        // 2000-02-29 12:34:56 UTC = 951827696 s.
        assert_eq!(utc(951_827_696_000), "2000-02-29 12:34:56 UTC");
        // 2024-12-31 23:59:59 UTC = 1735689599 s.
        assert_eq!(utc(1_735_689_599_999), "2024-12-31 23:59:59 UTC");
    }

    #[test]
    fn provenance_never_empty() {
        let p = Provenance::detect(Path::new("/nonexistent-dir"));
        assert!(!p.commit.is_empty());
        assert!(!p.host.is_empty());
    }
}
