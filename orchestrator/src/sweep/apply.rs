//! Applying a point's `--set` values to the parsed scenario document, then validating the
//! result with the scenario's own rules (the same [`plan::parse`] `validate` and `run`
//! use), each problem named after the `--set` it comes from.
//!
//! A problem at a swept field (or inside it, or at a table the flag added, such as an
//! unknown section) is the flag's: `--set traffic.rate: value "x/s": field
//! `traffic.rate`: ...`. Any other problem comes from a combination of values (a smaller
//! group than publishers): it names the point and the field, located in the scenario file.

use std::path::{Path, PathBuf};

use lab_config::bounds::MAX_CONFIG_FILE_BYTES;
use toml::{Table, Value};

use super::grid::{Grid, Point, SetFlag, SetPath, SetValue, Step};
use crate::error::{Diagnostic, Error};
use crate::plan;
use crate::scenario::doc::{Document, FieldPath};
use crate::scenario::{self, Scenario};

/// The scenario file a sweep starts from: its text, parsed document and netem folder.
#[derive(Debug, Clone)]
pub struct Base {
    /// The file.
    pub path: PathBuf,
    /// Its text.
    pub text: String,
    /// Where `network.profile` is looked up.
    pub netem_dir: PathBuf,
    /// The text as a TOML table.
    pub doc: Table,
    /// The scenario as written, validated.
    pub scenario: Scenario,
}

impl Base {
    /// Reads and validates the scenario at `path`; it must be valid on its own.
    pub fn load(path: &Path) -> Result<Base, Error> {
        let text = lab_config::file::read_text(path, MAX_CONFIG_FILE_BYTES, "a scenario")
            .map_err(|e| Error::ScenarioInvalid(vec![e.into_diagnostic()]))?;
        Base::from_text(path, &text, &scenario::default_netem_dir(path))
    }

    /// [`Base::load`] of `text` read from `path`.
    pub fn from_text(path: &Path, text: &str, netem_dir: &Path) -> Result<Base, Error> {
        let scenario = plan::parse(path, text, netem_dir)?;
        let doc: Table = toml::from_str(text).map_err(|e| Error::Encode {
            what: format!("{} as a TOML table", path.display()),
            message: e.message().to_string(),
        })?;
        Ok(Base {
            path: path.to_path_buf(),
            text: text.to_string(),
            netem_dir: netem_dir.to_path_buf(),
            doc,
            scenario,
        })
    }

    /// The value the file holds at `path`, if any.
    pub fn get(&self, path: &SetPath) -> Option<&Value> {
        let mut steps = path.0.iter();
        let first = match steps.next()? {
            Step::Key(k) => self.doc.get(k)?,
            Step::Index(_) => return None,
        };
        steps.try_fold(first, |v, s| match s {
            Step::Key(k) => v.as_table()?.get(k),
            Step::Index(i) => v.as_array()?.get(*i),
        })
    }
}

/// What a value at a path is, for messages.
fn kind(v: &Value) -> &'static str {
    match v {
        Value::String(_) => "a string",
        Value::Integer(_) => "an integer",
        Value::Float(_) => "a float",
        Value::Boolean(_) => "a boolean",
        Value::Datetime(_) => "a date-time",
        Value::Array(_) => "an array",
        Value::Table(_) => "a table",
    }
}

/// Sets `value` at `path` in `doc`: missing tables on the way are added (the validator
/// then names an unknown one); an array index must exist.
pub fn apply(doc: &mut Table, path: &SetPath, value: Value) -> Result<(), String> {
    let Some((last, parents)) = path.0.split_last() else {
        return Err("the path is empty".into());
    };
    let mut here = String::new();
    let mut cur: &mut Value = match parents.first() {
        None => return set_in_table(doc, last, value),
        Some(Step::Key(k)) => {
            here.push_str(k);
            let needs_table = !matches!(parents.get(1).unwrap_or(last), Step::Index(_));
            if !doc.contains_key(k) && !needs_table {
                return Err(format!("the scenario has no `{here}` array to index"));
            }
            doc.entry(k.clone())
                .or_insert_with(|| Value::Table(Table::new()))
        }
        Some(Step::Index(_)) => return Err("the path must start with a key".into()),
    };
    for (i, step) in parents.iter().enumerate().skip(1) {
        let next_is_index = matches!(parents.get(i + 1).unwrap_or(last), Step::Index(_));
        cur = match (step, cur) {
            (Step::Key(k), Value::Table(t)) => {
                if !t.contains_key(k) && next_is_index {
                    return Err(format!("the scenario has no `{here}.{k}` array to index"));
                }
                here = format!("{here}.{k}");
                t.entry(k.clone())
                    .or_insert_with(|| Value::Table(Table::new()))
            }
            (Step::Index(n), Value::Array(a)) => {
                let len = a.len();
                let at = here.clone();
                here = format!("{here}.{n}");
                a.get_mut(*n).ok_or_else(|| out_of_range(&at, *n, len))?
            }
            (_, other) => return Err(not_container(&here, step, other)),
        };
    }
    match (last, cur) {
        (Step::Key(_), Value::Table(t)) => set_in_table(t, last, value),
        (Step::Index(n), Value::Array(a)) => {
            let len = a.len();
            let slot = a.get_mut(*n).ok_or_else(|| out_of_range(&here, *n, len))?;
            *slot = value;
            Ok(())
        }
        (step, other) => Err(not_container(&here, step, other)),
    }
}

fn set_in_table(t: &mut Table, step: &Step, value: Value) -> Result<(), String> {
    match step {
        Step::Key(k) => {
            t.insert(k.clone(), value);
            Ok(())
        }
        Step::Index(_) => Err("an index must follow an array".into()),
    }
}

fn out_of_range(at: &str, n: usize, len: usize) -> String {
    let entries = if len == 1 { "entry" } else { "entries" };
    format!("`{at}` has {len} {entries} (from 0): no entry {n}")
}

fn not_container(at: &str, step: &Step, v: &Value) -> String {
    let wanted = match step {
        Step::Key(_) => "a table",
        Step::Index(_) => "an array",
    };
    format!("`{at}` is {}, not {wanted}", kind(v))
}

/// One valid point: its values and the scenario they make.
#[derive(Debug, Clone)]
pub struct Valid {
    /// Which value of each flag.
    pub point: Point,
    /// The scenario with the point's values applied, validated.
    pub scenario: Scenario,
}

/// Every point of `grid` applied to `base` and validated: the scenarios in grid order, or
/// every problem found. Each flag's values are checked alone first, each problem named
/// after its flag; then each combination whose values are each valid alone, a problem
/// named after the point.
pub fn validate_all(base: &Base, grid: &Grid) -> Result<Vec<Valid>, Vec<String>> {
    let mut problems: Vec<String> = Vec::new();
    let mut push = |p: String| {
        if !problems.contains(&p) {
            problems.push(p);
        }
    };
    let mut bad_alone: Vec<(usize, usize)> = Vec::new();
    for (fi, flag) in grid.flags.iter().enumerate() {
        let one = Grid {
            flags: vec![flag.clone()],
        };
        for vi in 0..flag.values.len() {
            if let Err(ps) = point_scenario(base, &one, &Point(vec![vi])) {
                bad_alone.push((fi, vi));
                ps.into_iter().for_each(&mut push);
            }
        }
    }
    let mut valid = Vec::new();
    for point in grid.points() {
        let has_bad = point
            .0
            .iter()
            .enumerate()
            .any(|(fi, &vi)| bad_alone.contains(&(fi, vi)));
        if has_bad {
            continue;
        }
        match point_scenario(base, grid, &point) {
            Ok(scenario) => valid.push(Valid { point, scenario }),
            Err(ps) => ps.into_iter().for_each(&mut push),
        }
    }
    if problems.is_empty() {
        Ok(valid)
    } else {
        Err(problems)
    }
}

/// The scenario of one point: `base` with the point's values applied, validated.
pub(super) fn point_scenario(
    base: &Base,
    grid: &Grid,
    point: &Point,
) -> Result<Scenario, Vec<String>> {
    let values = grid.values(point);
    let mut doc = base.doc.clone();
    let mut problems = Vec::new();
    for (flag, v) in &values {
        let value = v.for_field(base.get(&flag.path));
        if let Err(m) = apply(&mut doc, &flag.path, value) {
            problems.push(flag_problem(flag, v, &m));
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let text = toml::to_string(&doc).map_err(|e| {
        vec![format!(
            "--set {}: write the scenario with these values: {e}",
            grid.label(point)
        )]
    })?;
    match plan::parse(&base.path, &text, &base.netem_dir) {
        Ok(s) => Ok(s),
        Err(Error::ScenarioInvalid(diags)) => Err(diags
            .iter()
            .map(|d| diag_problem(base, grid, point, &values, d))
            .collect()),
        Err(other) => Err(vec![format!("--set {}: {other}", grid.label(point))]),
    }
}

fn flag_problem(flag: &SetFlag, v: &SetValue, message: &str) -> String {
    format!("--set {}: value {:?}: {message}", flag.path, v.text)
}

/// `d`, found in the scenario written with `values`, named after its flag or its point.
fn diag_problem(
    base: &Base,
    grid: &Grid,
    point: &Point,
    values: &[(&SetFlag, &SetValue)],
    d: &Diagnostic,
) -> String {
    let in_scenario = d.file == base.path;
    let field = SetPath::parse(&d.field).ok();
    let owner = field.as_ref().and_then(|f| {
        values
            .iter()
            .find(|(flag, _)| in_scenario && flag.path.overlaps(f))
    });
    let field_text = if d.field.is_empty() {
        String::new()
    } else {
        format!("field `{}`: ", d.field)
    };
    match owner {
        Some((flag, v)) if values.len() == 1 => {
            return flag_problem(flag, v, &format!("{field_text}{}", d.message));
        }
        Some(_) => return format!("--set {}: {field_text}{}", grid.label(point), d.message),
        None => {}
    }
    if !in_scenario {
        // A profile file the point names: its own location holds.
        return format!("--set {}: {d}", grid.label(point));
    }
    // A field the point did not set: where the scenario file has it.
    let located = field.map_or_else(
        || d.clone(),
        |f| Document::new(&base.path, &base.text).diag(&field_path(&f), d.message.clone()),
    );
    format!(
        "--set {}: makes the scenario invalid: {located}",
        grid.label(point)
    )
}

fn field_path(p: &SetPath) -> FieldPath {
    let mut f = FieldPath::default();
    for s in &p.0 {
        f = match s {
            Step::Key(k) => f.key(k),
            Step::Index(i) => f.index(*i),
        };
    }
    f
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sweep::grid::Grid;

    const BASE: &str = r#"[scenario]
name = "sweepme"
seed = 7
duration = "30s"
warmup = "5s"

[[groups]]
id = "honest"
count = 6

[[groups]]
id = "more"
count = 4

[traffic]
publishers = 3
rate = "3/s"
size = "1KiB"
"#;

    fn base() -> Base {
        Base::from_text(Path::new("s.toml"), BASE, Path::new("/nonexistent-netem"))
            .expect("valid base")
    }

    fn grid(flags: &[&str]) -> Grid {
        let flags: Vec<String> = flags.iter().map(|s| s.to_string()).collect();
        Grid::parse(&flags, 1, 1000).expect("grid")
    }

    fn problems(flags: &[&str]) -> Vec<String> {
        validate_all(&base(), &grid(flags)).expect_err("invalid")
    }

    #[test]
    fn each_point_gets_its_values_and_keeps_the_seed() {
        let g = grid(&[
            "traffic.rate=1/s,2/s",
            "groups.1.count=2,5",
            "gossipsub.mesh_n=5",
        ]);
        let valid = validate_all(&base(), &g).expect("valid");
        assert_eq!(valid.len(), 4);
        let got: Vec<(f64, usize, u64)> = valid
            .iter()
            .map(|v| {
                (
                    v.scenario.traffic.rate_per_sec,
                    v.scenario.groups[1].count,
                    v.scenario.seed,
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![(1.0, 2, 7), (1.0, 5, 7), (2.0, 2, 7), (2.0, 5, 7)]
        );
        assert!(valid.iter().all(|v| v.scenario.gossipsub.mesh_n == 5));
        // The user may sweep the seed too.
        let valid = validate_all(&base(), &grid(&["scenario.seed=1,2"])).expect("valid");
        assert_eq!(valid[1].scenario.seed, 2);
    }

    #[test]
    fn a_bad_value_is_named_after_its_flag() {
        let p = problems(&["traffic.rate=1/s,x/s"]);
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(
            p[0].starts_with("--set traffic.rate: value \"x/s\": field `traffic.rate`: "),
            "{}",
            p[0]
        );
        // A wrong type, at an array element.
        let p = problems(&["groups.0.count=many"]);
        assert!(
            p[0].starts_with("--set groups.0.count: value \"many\":"),
            "{p:?}"
        );
    }

    #[test]
    fn a_path_outside_the_schema_is_named_after_its_flag() {
        let p = problems(&["traffic.rte=1/s"]);
        assert!(
            p[0].starts_with(
                "--set traffic.rte: value \"1/s\": field `traffic.rte`: unknown field"
            ),
            "{p:?}"
        );
        let p = problems(&["trafic.rate=1/s"]);
        assert!(
            p[0].starts_with("--set trafic.rate: value \"1/s\": "),
            "{p:?}"
        );
        assert!(p[0].contains("unknown field `trafic`"), "{p:?}");
        let p = problems(&["groups.5.count=2"]);
        assert_eq!(
            p,
            vec!["--set groups.5.count: value \"2\": `groups` has 2 entries (from 0): no entry 5"]
        );
        let p = problems(&["traffic.rate.per=2"]);
        assert!(
            p[0].contains("`traffic.rate` is a string, not a table"),
            "{p:?}"
        );
    }

    #[test]
    fn every_bad_flag_is_reported_not_just_the_first() {
        let p = problems(&["traffic.rate=x/s", "gossipsub.nope=1"]);
        assert_eq!(p.len(), 2, "{p:?}");
        assert!(p[0].starts_with("--set traffic.rate:"), "{p:?}");
        assert!(p[1].starts_with("--set gossipsub.nope:"), "{p:?}");
    }

    #[test]
    fn a_combination_at_a_swept_field_names_the_point() {
        // Each value is fine alone; together two honest nodes cannot hold 5 publishers.
        let p = problems(&[
            "groups.0.count=6,1",
            "groups.1.count=4,1",
            "traffic.publishers=3,2",
        ]);
        assert_eq!(
            p,
            vec![
                "--set groups.0.count=1, groups.1.count=1, traffic.publishers=3: field `traffic.publishers`: 3 publishers but only 2 honest nodes"
            ]
        );
        // A value bad alone is reported once, after its flag, not again for each point.
        let p = problems(&["traffic.rate=1/s,x/s", "gossipsub.mesh_n=4,5"]);
        assert_eq!(p.len(), 1, "{p:?}");
    }

    #[test]
    fn a_combination_names_the_point_and_locates_the_field_in_the_file() {
        // One node in each group cannot hold three publishers: the problem is at
        // traffic.publishers, which no flag set; each value alone is fine.
        let p = problems(&["groups.0.count=6,1", "groups.1.count=4,1"]);
        let off = BASE.find("publishers = 3").expect("in base") + "publishers = ".len();
        let line = BASE[..off].matches('\n').count() + 1;
        let col = off - BASE[..off].rfind('\n').map_or(0, |i| i + 1) + 1;
        assert_eq!(p.len(), 1, "{p:?}");
        let want = format!(
            "--set groups.0.count=1, groups.1.count=1: makes the scenario invalid: s.toml:{line}:{col}: field `traffic.publishers`: "
        );
        assert!(p[0].starts_with(&want), "{p:?}\nwanted {want}");
    }
}
