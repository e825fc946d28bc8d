//! Region latency matrices (`netem/matrix/<name>.toml`): the one-way link between every
//! pair of regions, a region with itself included. A scenario names one in
//! `[network] matrix` and places each group in a `region`; the shaper then delays every
//! packet by the link from its sender's region to its receiver's.
//!
//! ```toml
//! description = "five cloud regions"            # optional
//! source = "where the figures come from, and when"   # required: a matrix cites its data
//! regions = ["us-east", "eu-west"]
//!
//! [[links]]                          # one per unordered pair, a region with itself too;
//! between = ["us-east", "eu-west"]   # the same link both ways
//! delay = "40.3ms"                   # one-way; jitter (± around it) and loss as in a
//! jitter = "2ms"                     # link profile; no rate
//! loss = 0.0
//! ```
//!
//! Every problem is located in the matrix file (line, column, field).

use std::path::{Path, PathBuf};

use lab_config::RegionMatrix;
use lab_config::regions::MAX_REGIONS;
use serde::{Deserialize, Serialize};

use crate::error::{Diagnostic, Error};
use crate::scenario::doc::{Document, FieldPath};
use crate::scenario::profile::{LinkProfile, RawLink, validate_link};

/// A validated matrix and what it was loaded from.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Matrix {
    /// Its name (the file's stem).
    pub name: String,
    /// Where its figures come from.
    pub source: String,
    /// The links.
    #[serde(flatten)]
    pub links: RegionMatrix,
}

/// A matrix file as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMatrix {
    #[allow(dead_code)] // documentation for humans; parsed so that it is allowed
    description: Option<String>,
    source: String,
    regions: Vec<String>,
    #[serde(default)]
    links: Vec<RawPair>,
}

/// One `[[links]]` entry.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPair {
    between: Vec<String>,
    delay: Option<String>,
    jitter: Option<String>,
    loss: Option<f64>,
}

/// The file that holds matrix `name` in `netem_dir`: `netem_dir/matrix/<name>.toml`.
pub fn matrix_path(netem_dir: &Path, name: &str) -> PathBuf {
    netem_dir.join("matrix").join(format!("{name}.toml"))
}

/// Reads and checks a matrix file; every problem is a [`Diagnostic`] naming the file (in
/// [`Error::ScenarioInvalid`]).
pub fn load(path: &Path) -> Result<Matrix, Error> {
    let text = lab_config::file::read_text(
        path,
        lab_config::bounds::MAX_CONFIG_FILE_BYTES,
        "a region matrix",
    )
    .map_err(|e| Error::ScenarioInvalid(vec![e.into_diagnostic()]))?;
    parse(path, &text)
}

/// Parses and checks matrix text; `path` names it in diagnostics and gives its name.
pub(crate) fn parse(path: &Path, text: &str) -> Result<Matrix, Error> {
    let doc = Document::new(path, text);
    let raw: RawMatrix = doc
        .deserialize()
        .map_err(|d| Error::ScenarioInvalid(vec![d]))?;
    let mut diags = Vec::new();
    let links = validate(&raw, &doc, &mut diags);
    if !diags.is_empty() {
        return Err(Error::ScenarioInvalid(diags));
    }
    Ok(Matrix {
        name: path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default(),
        source: raw.source,
        links,
    })
}

fn validate(raw: &RawMatrix, doc: &Document<'_>, diags: &mut Vec<Diagnostic>) -> RegionMatrix {
    let n = raw.regions.len();
    let regions_at = FieldPath::root("regions");
    if raw.source.trim().is_empty() {
        diags.push(doc.diag(
            &FieldPath::root("source"),
            "must say where the figures come from (a measurement, its publisher and date)",
        ));
    }
    if n == 0 || n > MAX_REGIONS {
        diags.push(doc.diag(
            &regions_at,
            format!("must name 1 to {MAX_REGIONS} regions, got {n}"),
        ));
    }
    for (i, name) in raw.regions.iter().enumerate() {
        if !is_region_name(name) {
            diags.push(doc.diag(
                &regions_at.index(i),
                format!("`{name}` is not a region name (1-32 lowercase letters, digits or `-`)"),
            ));
        } else if raw.regions[..i].contains(name) {
            diags.push(doc.diag(&regions_at.index(i), format!("names `{name}` twice")));
        }
    }
    let mut links: Vec<Vec<Option<LinkProfile>>> = vec![vec![None; n]; n];
    let at = FieldPath::root("links");
    for (i, pair) in raw.links.iter().enumerate() {
        let lp = at.index(i);
        let raw_link = RawLink::new(pair.delay.clone(), pair.jitter.clone(), pair.loss);
        let link = validate_link(&raw_link, doc, Some(&lp), diags);
        let ends: Vec<Option<usize>> = pair
            .between
            .iter()
            .map(|r| raw.regions.iter().position(|x| x == r))
            .collect();
        let (a, b) = match (pair.between.len(), ends.as_slice()) {
            (1 | 2, [Some(a)]) => (*a, *a),
            (2, [Some(a), Some(b)]) => (*a, *b),
            _ => {
                diags.push(doc.diag(
                    &lp.key("between"),
                    format!(
                        "must name one or two of the regions {:?} (one: the link within it), got {:?}",
                        raw.regions, pair.between
                    ),
                ));
                continue;
            }
        };
        if links[a][b].is_some() {
            diags.push(doc.diag(
                &lp.key("between"),
                format!(
                    "gives the link between `{}` and `{}` again",
                    raw.regions[a], raw.regions[b]
                ),
            ));
            continue;
        }
        links[a][b] = Some(link.clone());
        links[b][a] = Some(link);
    }
    let mut missing = Vec::new();
    for (a, row) in links.iter().enumerate() {
        for (b, link) in row.iter().enumerate().skip(a) {
            if link.is_none() {
                missing.push(format!("{} <-> {}", raw.regions[a], raw.regions[b]));
            }
        }
    }
    if !missing.is_empty() && n <= MAX_REGIONS {
        diags.push(doc.diag(
            &at,
            format!(
                "must give every pair of regions, each with itself too; missing: {}",
                missing.join(", ")
            ),
        ));
    }
    RegionMatrix {
        regions: raw.regions.clone(),
        links: links
            .into_iter()
            .map(|row| {
                row.into_iter()
                    .map(|l| l.unwrap_or_else(LinkProfile::none))
                    .collect()
            })
            .collect(),
    }
}

/// 1-32 lowercase letters, digits or `-`, starting with a letter.
pub fn is_region_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 32
        && s.starts_with(|c: char| c.is_ascii_lowercase())
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// A matrix named `two` for tests: `regions`, each region's own delay (`own_ms`) and the
/// delay between pairs of them (`between_ms`, by index), no jitter.
#[cfg(test)]
pub(crate) fn fixture(
    regions: &[&str],
    own_ms: &[u64],
    between_ms: &[(usize, usize, u64)],
) -> Matrix {
    use std::fmt::Write as _;
    let names: Vec<String> = regions.iter().map(|r| format!("{r:?}")).collect();
    let mut text = format!("source = \"test\"\nregions = [{}]\n", names.join(", "));
    for (r, ms) in regions.iter().zip(own_ms) {
        let _ = write!(text, "[[links]]\nbetween = [{r:?}]\ndelay = \"{ms}ms\"\n");
    }
    for &(a, b, ms) in between_ms {
        let _ = write!(
            text,
            "[[links]]\nbetween = [{:?}, {:?}]\ndelay = \"{ms}ms\"\n",
            regions[a], regions[b]
        );
    }
    match parse(Path::new("two.toml"), &text) {
        Ok(m) => m,
        Err(e) => panic!("fixture matrix: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn diags(e: Error) -> Vec<String> {
        match e {
            Error::ScenarioInvalid(d) => d.iter().map(|d| d.to_string()).collect(),
            other => panic!("expected ScenarioInvalid, got {other}"),
        }
    }

    const TWO: &str = r#"source = "test"
regions = ["eu", "us"]
[[links]]
between = ["eu"]
delay = "5ms"
[[links]]
between = ["us", "us"]
delay = "6ms"
[[links]]
between = ["eu", "us"]
delay = "40ms"
jitter = "2ms"
loss = 0.01
"#;

    #[test]
    fn a_matrix_is_symmetric_and_names_itself_after_its_file() {
        let m = parse(Path::new("netem/matrix/two.toml"), TWO).expect("valid");
        assert_eq!(m.name, "two");
        assert_eq!(m.source, "test");
        let l = &m.links;
        assert_eq!(
            l.link(1, 0).map(|l| l.delay),
            Some(Duration::from_millis(40))
        );
        assert_eq!(l.link(0, 1), l.link(1, 0));
        assert_eq!(l.link(0, 1).map(|l| l.loss), Some(0.01));
        assert_eq!(
            l.link(1, 1).map(|l| l.delay),
            Some(Duration::from_millis(6))
        );
        assert!(l.problems().is_empty());
    }

    #[test]
    fn every_problem_is_located_in_the_matrix_file() {
        let text = r#"source = ""
regions = ["eu", "us", "eu", "Asia"]
[[links]]
between = ["eu", "mars"]
delay = "5ms"
[[links]]
between = ["eu"]
delay = "5ms"
jitter = "6ms"
[[links]]
between = ["eu", "eu"]
delay = "5ms"
"#;
        let d = diags(parse(Path::new("m.toml"), text).expect_err("invalid"));
        let want = [
            "m.toml:1:10: field `source`",
            "m.toml:2:24: field `regions[2]`: names `eu` twice",
            "m.toml:2:30: field `regions[3]`: `Asia` is not a region name",
            "m.toml:4:11: field `links[0].between`: must name one or two",
            "m.toml:9:10: field `links[1].jitter`",
            "m.toml:11:11: field `links[2].between`: gives the link between `eu` and `eu` again",
            "field `links`: must give every pair",
        ];
        assert_eq!(d.len(), want.len(), "{d:#?}");
        for (got, want) in d.iter().zip(want) {
            assert!(got.contains(want), "{got} does not contain {want}");
        }
        assert!(d[6].contains("missing: eu <-> us"), "{}", d[6]);
    }

    #[test]
    fn rates_and_unknown_fields_are_refused() {
        let text = TWO.replace("loss = 0.01", "rate = \"10mbit\"");
        let d = diags(parse(Path::new("m.toml"), &text).expect_err("rate"));
        assert!(d[0].contains("rate"), "{d:?}");
    }

    #[test]
    fn the_shipped_matrices_validate() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../netem/matrix");
        let mut n = 0;
        for entry in std::fs::read_dir(&dir).expect("netem/matrix") {
            let path = entry.expect("entry").path();
            if let Err(e) = load(&path) {
                panic!("{} does not validate: {e}", path.display());
            }
            n += 1;
        }
        assert!(n >= 1, "no matrix shipped");
    }
}
