//! `--set PATH=V1,V2,...`: parsing one flag, and the grid of every combination of the
//! flags' values in a fixed order.
//!
//! - PATH is a dotted path into the scenario file: `traffic.rate`,
//!   `gossipsub.mesh_n`. A segment of digits indexes an array, counting from 0:
//!   `groups.0.count` (the validator's own spelling, `groups[0].count`, is accepted too).
//! - The values are split at commas outside quotes and brackets, so
//!   `network.link={ delay = "25ms", jitter = "1ms" },{ delay = "50ms" }` is two values.
//!   Each is read as a TOML value (`5`, `0.5`, `true`, `"text"`, `[1, 2]`, `{ a = 1 }`);
//!   text that is not TOML, or any text where the scenario holds a string, is a string
//!   (`2/s`, `25ms`).
//! - The grid is every combination of one value of each flag: flags in the order given,
//!   the last flag's values varying fastest (as nested loops, the first flag outermost).

use std::fmt;

use toml::Value;

/// Most `--set` flags one sweep takes.
pub const MAX_FLAGS: usize = 8;
/// Most values one `--set` flag takes.
pub const MAX_VALUES: usize = 32;
/// Most points (combinations) one sweep runs.
pub const MAX_POINTS: usize = 64;
/// Most segments a path has.
pub const MAX_SEGMENTS: usize = 8;
/// Longest path, bytes.
pub const MAX_PATH_BYTES: usize = 128;
/// Longest value, bytes.
pub const MAX_VALUE_BYTES: usize = 256;

/// A problem with the `--set` flags, naming the flag; reads after "failed to".
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GridError {
    /// A flag is not `PATH=VALUES` or its path is malformed.
    #[error("read --set {flag:?}: {message}")]
    Flag {
        /// The flag as given (possibly cut short).
        flag: String,
        /// What is wrong.
        message: String,
    },
    /// One value of a flag is malformed.
    #[error("read --set {path}: value {value:?}: {message}")]
    Value {
        /// The flag's path.
        path: String,
        /// The value as given.
        value: String,
        /// What is wrong.
        message: String,
    },
    /// The flags together are too many or ask too many points.
    #[error("read the --set flags: {0}")]
    Grid(String),
}

/// One step of a path: a table key or an array index.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Step {
    /// A table key.
    Key(String),
    /// An array index, from 0.
    Index(usize),
}

/// A path into the scenario document.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SetPath(pub Vec<Step>);

impl SetPath {
    /// Parses `traffic.rate`, `groups.0.count` or `groups[0].count`.
    pub fn parse(text: &str) -> Result<SetPath, String> {
        if text.is_empty() {
            return Err("the path is empty (expected e.g. traffic.rate=1/s,2/s)".into());
        }
        if text.len() > MAX_PATH_BYTES {
            return Err(format!("the path is longer than {MAX_PATH_BYTES} bytes"));
        }
        let mut steps = Vec::new();
        for part in text.split('.') {
            let (key, mut rest) = match part.find('[') {
                Some(i) => (&part[..i], &part[i..]),
                None => (part, ""),
            };
            if key.is_empty() && rest.is_empty() {
                return Err(format!("{text:?} has an empty segment"));
            }
            if !key.is_empty() {
                if !key
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
                {
                    return Err(format!(
                        "segment {key:?} must be letters, digits, `_` or `-` (a table key) or digits (an array index)"
                    ));
                }
                steps.push(match key.parse::<usize>() {
                    Ok(i) if key.chars().all(|c| c.is_ascii_digit()) => Step::Index(i),
                    _ => Step::Key(key.to_string()),
                });
            }
            while !rest.is_empty() {
                let close = rest
                    .find(']')
                    .ok_or_else(|| format!("{part:?} has a `[` without its `]`"))?;
                let index = rest[1..close]
                    .parse::<usize>()
                    .map_err(|_| format!("{part:?}: an index is digits, e.g. groups[0]"))?;
                steps.push(Step::Index(index));
                rest = &rest[close + 1..];
                if !rest.is_empty() && !rest.starts_with('[') {
                    return Err(format!("{part:?}: expected `.` or `[` after `]`"));
                }
            }
        }
        if !matches!(steps.first(), Some(Step::Key(_))) {
            return Err("the path must start with a table key, e.g. traffic".into());
        }
        if steps.len() > MAX_SEGMENTS {
            return Err(format!("the path has more than {MAX_SEGMENTS} segments"));
        }
        Ok(SetPath(steps))
    }

    /// Whether one path is the other or lies inside it (`traffic` and `traffic.rate`).
    pub fn overlaps(&self, other: &SetPath) -> bool {
        self.0.iter().zip(&other.0).all(|(a, b)| a == b)
    }
}

impl fmt::Display for SetPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, s) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(".")?;
            }
            match s {
                Step::Key(k) => f.write_str(k)?,
                Step::Index(n) => write!(f, "{n}")?,
            }
        }
        Ok(())
    }
}

/// One value of a flag: the text given, and how the scenario will read it.
#[derive(Debug, Clone, PartialEq)]
pub struct SetValue {
    /// As given on the command line (trimmed).
    pub text: String,
    /// As a TOML value: the text parsed as TOML, else the text as a string.
    pub value: Value,
}

impl SetValue {
    /// Reads `text` as a TOML value, else as a string.
    pub fn read(text: &str) -> SetValue {
        let value = toml::from_str::<toml::Table>(&format!("v = {text}"))
            .ok()
            .and_then(|mut t| t.remove("v"))
            .unwrap_or_else(|| Value::String(text.to_string()));
        SetValue {
            text: text.to_string(),
            value,
        }
    }

    /// This value as the scenario reads it where it holds `existing`: a string field gets
    /// the text as written (`--set scenario.name=7` is the name "7").
    pub fn for_field(&self, existing: Option<&Value>) -> Value {
        match (existing, &self.value) {
            (Some(Value::String(_)), v) if !v.is_str() => Value::String(self.text.clone()),
            (_, v) => v.clone(),
        }
    }
}

/// One `--set` flag: a path and its values, in the order given.
#[derive(Debug, Clone, PartialEq)]
pub struct SetFlag {
    /// Where the values go.
    pub path: SetPath,
    /// The values.
    pub values: Vec<SetValue>,
}

impl SetFlag {
    /// Parses `PATH=V1,V2,...`.
    pub fn parse(flag: &str) -> Result<SetFlag, GridError> {
        let bad = |message: String| GridError::Flag {
            flag: flag.chars().take(80).collect(),
            message,
        };
        let (path, values) = flag
            .split_once('=')
            .ok_or_else(|| bad("expected PATH=V1,V2,... e.g. traffic.rate=1/s,2/s".into()))?;
        let path = SetPath::parse(path.trim()).map_err(bad)?;
        let texts = split_values(values).map_err(bad)?;
        if texts.len() > MAX_VALUES {
            return Err(GridError::Value {
                path: path.to_string(),
                value: values.chars().take(80).collect(),
                message: format!("{} values, at most {MAX_VALUES}", texts.len()),
            });
        }
        let mut out: Vec<SetValue> = Vec::with_capacity(texts.len());
        for (i, text) in texts.iter().enumerate() {
            let bad_value = |message: String| GridError::Value {
                path: path.to_string(),
                value: text.chars().take(80).collect(),
                message,
            };
            if text.is_empty() {
                return Err(bad_value(format!("value {} is empty", i + 1)));
            }
            if text.len() > MAX_VALUE_BYTES {
                return Err(bad_value(format!("longer than {MAX_VALUE_BYTES} bytes")));
            }
            if text.chars().any(char::is_control) {
                return Err(bad_value("holds a control character".into()));
            }
            let v = SetValue::read(text);
            if out.iter().any(|o| o.value == v.value) {
                return Err(bad_value("given twice".into()));
            }
            out.push(v);
        }
        Ok(SetFlag { path, values: out })
    }
}

/// Splits at commas outside quotes, brackets and braces; trims each part.
fn split_values(text: &str) -> Result<Vec<String>, String> {
    let (mut parts, mut cur) = (Vec::new(), String::new());
    let (mut depth, mut quote, mut escaped) = (0i32, None::<char>, false);
    for c in text.chars() {
        match quote {
            Some(q) => {
                if escaped {
                    escaped = false;
                } else if c == '\\' && q == '"' {
                    escaped = true;
                } else if c == q {
                    quote = None;
                }
            }
            None => match c {
                '"' | '\'' => quote = Some(c),
                '[' | '{' => depth += 1,
                ']' | '}' => depth -= 1,
                ',' if depth == 0 => {
                    parts.push(cur.trim().to_string());
                    cur.clear();
                    continue;
                }
                _ => {}
            },
        }
        if depth < 0 {
            return Err("a `]` or `}` closes nothing".into());
        }
        cur.push(c);
    }
    if quote.is_some() {
        return Err("a quote is not closed".into());
    }
    if depth != 0 {
        return Err("a `[` or `{` is not closed".into());
    }
    parts.push(cur.trim().to_string());
    Ok(parts)
}

/// The flags of one sweep, checked against each other and the bounds.
#[derive(Debug, Clone, PartialEq)]
pub struct Grid {
    /// The flags in the order given.
    pub flags: Vec<SetFlag>,
}

/// One combination: the index of one value of each flag, in flag order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Point(pub Vec<usize>);

impl Grid {
    /// Parses every `--set` flag and checks them together: at least one, at most
    /// [`MAX_FLAGS`], no path given twice or inside another, at most [`MAX_POINTS`]
    /// combinations (at most `max_runs` runs at `trials` trials a point).
    pub fn parse(flags: &[String], trials: usize, max_runs: usize) -> Result<Grid, GridError> {
        if flags.is_empty() {
            return Err(GridError::Grid(
                "no --set given: a sweep needs at least one, e.g. --set traffic.rate=1/s,2/s"
                    .into(),
            ));
        }
        if flags.len() > MAX_FLAGS {
            return Err(GridError::Grid(format!(
                "{} --set flags, at most {MAX_FLAGS}",
                flags.len()
            )));
        }
        let flags = flags
            .iter()
            .map(|f| SetFlag::parse(f))
            .collect::<Result<Vec<_>, _>>()?;
        for (i, a) in flags.iter().enumerate() {
            if let Some(b) = flags[..i].iter().find(|b| b.path.overlaps(&a.path)) {
                return Err(GridError::Flag {
                    flag: a.path.to_string(),
                    message: format!(
                        "overlaps --set {}: each field may be swept by one flag",
                        b.path
                    ),
                });
            }
        }
        let grid = Grid { flags };
        let sizes: Vec<String> = grid
            .flags
            .iter()
            .map(|f| f.values.len().to_string())
            .collect();
        let points = grid.size();
        if points > MAX_POINTS {
            return Err(GridError::Grid(format!(
                "{} = {points} points, more than {MAX_POINTS}: sweep fewer values",
                sizes.join(" × ")
            )));
        }
        if points * trials > max_runs {
            return Err(GridError::Grid(format!(
                "{points} points × {trials} trials = {} runs, more than {max_runs}: sweep fewer values or trials",
                points * trials
            )));
        }
        Ok(grid)
    }

    /// The number of combinations.
    pub fn size(&self) -> usize {
        self.flags
            .iter()
            .map(|f| f.values.len())
            .fold(1usize, usize::saturating_mul)
    }

    /// Every combination: the first flag outermost, the last varying fastest.
    pub fn points(&self) -> Vec<Point> {
        let mut points = vec![Point(Vec::new())];
        for f in &self.flags {
            points = points
                .into_iter()
                .flat_map(|p| {
                    (0..f.values.len()).map(move |i| {
                        let mut v = p.0.clone();
                        v.push(i);
                        Point(v)
                    })
                })
                .collect();
        }
        points
    }

    /// The (flag, value) pairs of `point`, in flag order.
    pub fn values<'g>(&'g self, point: &Point) -> Vec<(&'g SetFlag, &'g SetValue)> {
        self.flags
            .iter()
            .zip(&point.0)
            .filter_map(|(f, &i)| f.values.get(i).map(|v| (f, v)))
            .collect()
    }

    /// `traffic.rate=2/s, gossipsub.mesh_n=8`: the point in words.
    pub fn label(&self, point: &Point) -> String {
        self.values(point)
            .iter()
            .map(|(f, v)| format!("{}={}", f.path, v.text))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grid(flags: &[&str]) -> Result<Grid, GridError> {
        let flags: Vec<String> = flags.iter().map(|s| s.to_string()).collect();
        Grid::parse(&flags, 1, 1000)
    }

    #[test]
    fn paths_are_dotted_with_numeric_indices() {
        let p = SetPath::parse("groups.0.count").expect("path");
        assert_eq!(
            p.0,
            vec![
                Step::Key("groups".into()),
                Step::Index(0),
                Step::Key("count".into())
            ]
        );
        assert_eq!(SetPath::parse("groups[0].count"), Ok(p.clone()));
        assert_eq!(p.to_string(), "groups.0.count");
        for bad in [
            "",
            "a..b",
            "0.count",
            "traffic.ra te",
            "groups[x].count",
            "a[1",
        ] {
            assert!(SetPath::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn values_are_toml_else_strings() {
        let f = SetFlag::parse("traffic.rate=0.5/s, 1/s ,\"2/s\"").expect("flag");
        let v: Vec<&Value> = f.values.iter().map(|v| &v.value).collect();
        assert_eq!(
            v,
            vec![
                &Value::String("0.5/s".into()),
                &Value::String("1/s".into()),
                &Value::String("2/s".into())
            ]
        );
        let f = SetFlag::parse("gossipsub.mesh_n=4,8").expect("flag");
        assert_eq!(f.values[1].value, Value::Integer(8));
        // Commas inside brackets, braces and quotes do not split.
        let f =
            SetFlag::parse(r#"network.link={ delay = "25ms", jitter = "1ms" },{ delay = "a,b" }"#)
                .expect("flag");
        assert_eq!(f.values.len(), 2);
        assert!(f.values[0].value.is_table(), "{:?}", f.values[0]);
        // A string field takes the text as written.
        let n = SetValue::read("7");
        assert_eq!(
            n.for_field(Some(&Value::String("x".into()))),
            Value::String("7".into())
        );
        assert_eq!(n.for_field(Some(&Value::Integer(3))), Value::Integer(7));
        assert_eq!(n.for_field(None), Value::Integer(7));
    }

    #[test]
    fn the_grid_expands_in_flag_order_last_fastest() {
        let g = grid(&["traffic.rate=1/s,2/s", "gossipsub.mesh_n=4,6,8"]).expect("grid");
        assert_eq!(g.size(), 6);
        let labels: Vec<String> = g.points().iter().map(|p| g.label(p)).collect();
        assert_eq!(
            labels,
            vec![
                "traffic.rate=1/s, gossipsub.mesh_n=4",
                "traffic.rate=1/s, gossipsub.mesh_n=6",
                "traffic.rate=1/s, gossipsub.mesh_n=8",
                "traffic.rate=2/s, gossipsub.mesh_n=4",
                "traffic.rate=2/s, gossipsub.mesh_n=6",
                "traffic.rate=2/s, gossipsub.mesh_n=8",
            ]
        );
        assert_eq!(g.points()[4], Point(vec![1, 1]));
    }

    #[test]
    fn bad_flags_are_named() {
        let e = |flags: &[&str]| grid(flags).expect_err("refused").to_string();
        let m = e(&["traffic.rate"]);
        assert!(
            m.contains("--set \"traffic.rate\"") && m.contains("PATH=V1"),
            "{m}"
        );
        let m = e(&["traffic.rate=1/s,,2/s"]);
        assert!(
            m.contains("--set traffic.rate: value \"\"") && m.contains("empty"),
            "{m}"
        );
        let m = e(&["traffic.rate=1/s,1/s"]);
        assert!(m.contains("given twice"), "{m}");
        let m = e(&["traffic.rate=1/s", "traffic=x"]);
        assert!(
            m.contains("--set \"traffic\"") && m.contains("overlaps --set traffic.rate"),
            "{m}"
        );
        let m = e(&["a.b=\"x,y"]);
        assert!(m.contains("--set \"a.b=") && m.contains("quote"), "{m}");
        let m = e(&[]);
        assert!(m.contains("no --set"), "{m}");
    }

    #[test]
    fn the_grid_is_bounded() {
        let many: Vec<String> = (0..=MAX_VALUES).map(|i| i.to_string()).collect();
        let flag = format!("gossipsub.mesh_n={}", many.join(","));
        let m = grid(&[&flag]).expect_err("refused").to_string();
        assert!(
            m.contains("--set gossipsub.mesh_n") && m.contains("33 values, at most 32"),
            "{m}"
        );
        let m = grid(&["a.a=1,2,3,4,5,6,7,8", "a.b=1,2,3,4,5,6,7,8", "a.c=1,2"])
            .expect_err("refused")
            .to_string();
        assert!(m.contains("8 × 8 × 2 = 128 points, more than 64"), "{m}");
        let flags: Vec<String> = (0..=MAX_FLAGS).map(|i| format!("a.k{i}=1")).collect();
        let m = Grid::parse(&flags, 1, 1000)
            .expect_err("refused")
            .to_string();
        assert!(m.contains("9 --set flags, at most 8"), "{m}");
        let flags = vec!["a.a=1,2,3,4".to_string()];
        let m = Grid::parse(&flags, 10, 32)
            .expect_err("refused")
            .to_string();
        assert!(
            m.contains("4 points × 10 trials = 40 runs, more than 32"),
            "{m}"
        );
        assert_eq!(
            grid(&["a.a=1,2,3,4,5,6,7,8", "a.b=1,2,3,4,5,6,7,8"]).map(|g| g.size()),
            Ok(64)
        );
    }
}
