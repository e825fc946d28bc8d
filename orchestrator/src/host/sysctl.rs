//! Reading and writing `/proc/sys` entries.

/// The trimmed text of a sysctl file.
pub(super) fn read(path: &str) -> Result<String, String> {
    std::fs::read_to_string(path)
        .map(|s| s.trim().to_string())
        .map_err(|e| format!("read {path}: {e}"))
}

/// A sysctl file holding one number.
pub(super) fn read_u64(path: &str) -> Result<u64, String> {
    read(path)?
        .parse::<u64>()
        .map_err(|e| format!("parse {path}: {e}"))
}

/// Writes a sysctl file.
pub(super) fn write(path: &str, value: &str) -> Result<(), String> {
    std::fs::write(path, value).map_err(|e| format!("write {path}: {e}"))
}
