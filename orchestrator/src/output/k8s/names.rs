//! Kubernetes names: the forms the API accepts for each kind of name, and the namespace a
//! scenario is exported to by default.

/// The longest DNS label, label value or namespace, in characters.
pub(super) const MAX_LABEL: usize = 63;

/// What the namespace of `scenario` is called unless `--namespace` says: `meshlab-` and
/// the scenario's name in lowercase letters, digits and single `-` (at most 32
/// characters).
pub fn namespace_of(scenario: &str) -> String {
    let mut name = String::from("meshlab");
    for part in crate::scenario::slug(scenario)
        .split('-')
        .filter(|p| !p.is_empty())
    {
        name.push('-');
        name.push_str(part);
    }
    name
}

/// Checks a DNS-1123 label (RFC 1123), the form of namespaces and pod hostnames: 1 to 63
/// lowercase letters, digits and `-`, starting and ending with a letter or digit.
pub(super) fn dns1123_label(name: &str) -> Result<(), String> {
    let ok_end = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
    if name.is_empty() || name.len() > MAX_LABEL {
        return Err(format!(
            "`{name}` is not a DNS-1123 label: it has {} characters, 1 to {MAX_LABEL} are allowed",
            name.len()
        ));
    }
    if !name.chars().all(|c| ok_end(c) || c == '-')
        || !name.starts_with(ok_end)
        || !name.ends_with(ok_end)
    {
        return Err(format!(
            "`{name}` is not a DNS-1123 label: lowercase letters, digits and `-` only, starting and ending with a letter or digit"
        ));
    }
    Ok(())
}

/// Checks a DNS-1035 label, the form of Service names: a DNS-1123 label that starts with a
/// letter.
pub(super) fn dns1035_label(name: &str) -> Result<(), String> {
    dns1123_label(name)?;
    if !name.starts_with(|c: char| c.is_ascii_lowercase()) {
        return Err(format!(
            "`{name}` is not a DNS-1035 label: it must start with a letter"
        ));
    }
    Ok(())
}

/// Checks a label value: at most 63 letters, digits, `-`, `_` and `.`, starting and ending
/// with a letter or digit (or empty).
pub(super) fn label_value(value: &str) -> Result<(), String> {
    let alnum = |c: char| c.is_ascii_alphanumeric();
    if value.len() > MAX_LABEL {
        return Err(format!(
            "label value `{value}` has {} characters, at most {MAX_LABEL} are allowed",
            value.len()
        ));
    }
    if !value.is_empty()
        && (!value
            .chars()
            .all(|c| alnum(c) || matches!(c, '-' | '_' | '.'))
            || !value.starts_with(alnum)
            || !value.ends_with(alnum))
    {
        return Err(format!(
            "label value `{value}` may hold letters, digits, `-`, `_` and `.` only, starting and ending with a letter or digit"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespaces_come_from_the_scenario_name_in_the_labels_form() {
        assert_eq!(namespace_of("byzantine"), "meshlab-byzantine");
        assert_eq!(namespace_of("Loss burst: 5%!"), "meshlab-loss-burst-5");
        assert_eq!(namespace_of("--"), "meshlab");
        let long = namespace_of(&"x".repeat(200));
        assert_eq!(long.len(), "meshlab-".len() + 24);
        for name in [
            "byzantine",
            "Loss burst: 5%!",
            "--",
            "ÄÖ ü",
            &"x".repeat(200),
        ] {
            assert_eq!(dns1123_label(&namespace_of(name)), Ok(()), "{name}");
        }
    }

    #[test]
    fn dns_labels_are_bounded_and_shaped() {
        assert_eq!(dns1123_label("honest-0"), Ok(()));
        assert_eq!(dns1123_label(&"a".repeat(63)), Ok(()));
        let e = dns1123_label(&"a".repeat(64)).expect_err("too long");
        assert!(e.contains("64 characters, 1 to 63"), "{e}");
        assert!(dns1123_label("").is_err());
        for bad in ["Honest-0", "honest_0", "-a", "a-", "a.b"] {
            assert!(dns1123_label(bad).is_err(), "{bad}");
        }
        assert_eq!(dns1123_label("0a"), Ok(()));
        let e = dns1035_label("0a").expect_err("digit first");
        assert!(e.contains("start with a letter"), "{e}");
        assert_eq!(dns1035_label("a0"), Ok(()));
    }

    #[test]
    fn label_values_are_bounded_and_shaped() {
        for ok in ["", "1", "us-east", "a.b_c", &"v".repeat(63)] {
            assert_eq!(label_value(ok), Ok(()), "{ok}");
        }
        for bad in ["-a", "a-", "a b", "ü", &"v".repeat(64)] {
            assert!(label_value(bad).is_err(), "{bad}");
        }
    }
}
