//! A parsed TOML document that keeps every key's and value's byte span, so that parse and
//! validation problems can be reported as `FILE:LINE:COL: field `a.b[2].c`: message`.

use std::fmt;
use std::ops::Range;
use std::path::Path;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use crate::Diagnostic;

/// One step of a field path: a table key or an array index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seg {
    /// A table key.
    Key(String),
    /// An array index.
    Index(usize),
}

/// A field path such as `groups[1].count`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldPath(Vec<Seg>);

impl FieldPath {
    /// The path of a top-level key.
    pub fn root(key: &str) -> Self {
        FieldPath(vec![Seg::Key(key.to_string())])
    }

    /// This path extended by a key.
    pub fn key(&self, key: &str) -> Self {
        let mut p = self.clone();
        p.0.push(Seg::Key(key.to_string()));
        p
    }

    /// This path extended by an array index.
    pub fn index(&self, i: usize) -> Self {
        let mut p = self.clone();
        p.0.push(Seg::Index(i));
        p
    }

    /// This path without its first segment (`gossipsub.mesh_n` → `mesh_n`).
    pub fn tail(&self) -> Self {
        FieldPath(self.0.iter().skip(1).cloned().collect())
    }

    /// `tail` below this path: `gossipsub` joined with `mesh_n` is `gossipsub.mesh_n`.
    pub fn join(&self, tail: &FieldPath) -> Self {
        let mut p = self.clone();
        p.0.extend(tail.0.iter().cloned());
        p
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, seg) in self.0.iter().enumerate() {
            match seg {
                Seg::Key(k) if i == 0 => write!(f, "{k}")?,
                Seg::Key(k) => write!(f, ".{k}")?,
                Seg::Index(n) => write!(f, "[{n}]")?,
            }
        }
        Ok(())
    }
}

/// The source text of one file and, when it is valid TOML, its span tree.
pub struct Document<'a> {
    path: &'a Path,
    text: &'a str,
    root: Option<Spanned<DeTable<'a>>>,
}

impl<'a> Document<'a> {
    /// Parses `text` for spans. Syntax errors are left to the typed parse, which reports
    /// them with their own span; the document then has no span tree.
    pub fn new(path: &'a Path, text: &'a str) -> Self {
        Document {
            path,
            text,
            root: DeTable::parse(text).ok(),
        }
    }

    /// Deserialises the document into `T`, turning the first parse error into a diagnostic.
    pub fn deserialize<T: serde::de::DeserializeOwned>(&self) -> Result<T, Diagnostic> {
        toml::from_str(self.text).map_err(|e| self.diag_for_toml_error(&e))
    }

    /// A diagnostic for `field`, located at the field's value (or, when the field is absent,
    /// at the nearest enclosing table that is present).
    pub fn diag(&self, field: &FieldPath, message: impl Into<String>) -> Diagnostic {
        let span = self.span_of(field);
        self.diag_at(span.map(|s| s.start), field.to_string(), message.into())
    }

    /// A diagnostic for a problem: at its field, or, when the file does not give that field,
    /// at the first related field it gives (else at the nearest enclosing table).
    pub fn diag_problem(&self, p: &crate::Problem) -> Diagnostic {
        let given = std::iter::once(&p.field)
            .chain(&p.related)
            .find(|f| self.gives(f))
            .unwrap_or(&p.field);
        self.diag(given, p.message.clone())
    }

    /// Whether the file gives a value at `field`.
    pub fn gives(&self, field: &FieldPath) -> bool {
        let (found, _) = self.lookup(field);
        found == field.0.len() && !field.0.is_empty()
    }

    /// A diagnostic for a toml parse error: located at its span, the field path found by
    /// looking the span up in the document.
    fn diag_for_toml_error(&self, e: &toml::de::Error) -> Diagnostic {
        let mut message = e.message().trim().to_string();
        let span = e.span();
        let offset = span.as_ref().map(|s| s.start);
        // The root table's span is the whole document, or empty at 0 (a missing section).
        let whole = span
            .as_ref()
            .is_some_and(|s| s.start == 0 && (s.end == 0 || s.end >= self.text.trim_end().len()));
        let mut field = offset
            .filter(|_| !whole)
            .and_then(|o| self.path_at(o))
            .map(|p| p.to_string())
            .unwrap_or_default();
        // A syntax error leaves no span tree: name a duplicate key from the text, under the
        // table header above it.
        if let (true, Some(s)) = (message == "duplicate key", &span) {
            {
                let key = self.text.get(s.clone()).unwrap_or_default().trim();
                let table = self.header_before(s.start);
                field = if table.is_empty() {
                    key.to_string()
                } else {
                    format!("{table}.{key}")
                };
                message = format!("duplicate key `{key}`: each key may be given once");
            }
        }
        // "missing field `x`" points at the enclosing table: name the missing field too. An
        // element of an array of tables is pointed at by its `[[header]]`: which element it
        // is, the headers before it tell.
        if let Some(missing) = message
            .strip_prefix("missing field `")
            .and_then(|rest| rest.split('`').next())
        {
            if let Some(index) = offset.and_then(|o| self.array_header_index(o)) {
                field = format!("{field}[{index}]");
            }
            if field.is_empty() {
                field = missing.to_string();
            } else {
                field = format!("{field}.{missing}");
            }
        }
        self.diag_at(offset, field, message)
    }

    /// When `offset` is at an `[[array]]` header, the index of the element it opens.
    fn array_header_index(&self, offset: usize) -> Option<usize> {
        let rest = self.text.get(offset..)?;
        let header = rest.lines().next()?.trim();
        if !header.starts_with("[[") {
            return None;
        }
        let before = self.text.get(..offset)?;
        Some(before.lines().filter(|l| l.trim() == header).count())
    }

    /// The name in the last `[table]` or `[[array]]` header before `offset` (empty at the
    /// top level).
    fn header_before(&self, offset: usize) -> String {
        let before = self.text.get(..offset).unwrap_or(self.text);
        before
            .lines()
            .rev()
            .map(str::trim)
            .find(|l| l.starts_with('['))
            .map(|l| l.trim_matches(|c| c == '[' || c == ']').trim().to_string())
            .unwrap_or_default()
    }

    fn diag_at(&self, offset: Option<usize>, field: String, message: String) -> Diagnostic {
        let (line, column) = self.line_col(offset.unwrap_or(0));
        Diagnostic {
            file: self.path.to_path_buf(),
            line,
            column,
            field,
            message,
        }
    }

    /// 1-based line and column (in characters) of a byte offset.
    fn line_col(&self, offset: usize) -> (usize, usize) {
        let mut offset = offset.min(self.text.len());
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        let before = &self.text[..offset];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = before[line_start..].chars().count() + 1;
        (line, column)
    }

    /// The span of the value at `field`, or of the deepest present ancestor.
    fn span_of(&self, field: &FieldPath) -> Option<Range<usize>> {
        self.lookup(field).1
    }

    /// How many leading segments of `field` the file gives, and the span of the deepest
    /// of them.
    fn lookup(&self, field: &FieldPath) -> (usize, Option<Range<usize>>) {
        let Some(root) = self.root.as_ref() else {
            return (0, None);
        };
        let (mut found, mut span) = (0, None);
        let mut table: Option<&DeTable<'_>> = Some(root.get_ref());
        let mut value: Option<&Spanned<DeValue<'_>>> = None;
        for seg in &field.0 {
            let next = match (seg, table, value) {
                (Seg::Key(k), Some(t), _) => t.get(k.as_str()),
                (Seg::Index(i), _, Some(v)) => v.get_ref().get(*i),
                _ => None,
            };
            let Some(next) = next else { break };
            found += 1;
            span = Some(next.span());
            table = next.get_ref().as_table();
            value = Some(next);
        }
        (found, span)
    }

    /// The field path at `offset`: the key or scalar value covering it, else the smallest
    /// table or array covering it (e.g. the table a missing field belongs to).
    fn path_at(&self, offset: usize) -> Option<FieldPath> {
        let root = self.root.as_ref()?;
        let mut found = Found {
            offset,
            leaf: None,
            container: None,
        };
        walk_table(root.get_ref(), &mut FieldPath::default(), &mut found);
        found.leaf.or(found.container.map(|(p, _)| p))
    }
}

/// What [`Document::path_at`] has found so far.
struct Found {
    offset: usize,
    leaf: Option<FieldPath>,
    container: Option<(FieldPath, usize)>,
}

impl Found {
    fn container(&mut self, path: &FieldPath, span: &Range<usize>) {
        if covers(span, self.offset) {
            let len = span.end.saturating_sub(span.start);
            if self.container.as_ref().is_none_or(|(_, l)| len < *l) {
                self.container = Some((path.clone(), len));
            }
        }
    }
}

fn covers(span: &Range<usize>, offset: usize) -> bool {
    span.start <= offset && offset < span.end.max(span.start + 1)
}

fn walk_table(table: &DeTable<'_>, path: &mut FieldPath, found: &mut Found) {
    for (key, value) in table.iter() {
        if found.leaf.is_some() {
            return;
        }
        path.0.push(Seg::Key(key.get_ref().to_string()));
        if covers(&key.span(), found.offset) {
            found.leaf = Some(path.clone());
        } else {
            walk_value(value, path, found);
        }
        path.0.pop();
    }
}

fn walk_value(value: &Spanned<DeValue<'_>>, path: &mut FieldPath, found: &mut Found) {
    match value.get_ref() {
        DeValue::Table(t) => {
            found.container(path, &value.span());
            walk_table(t, path, found);
        }
        DeValue::Array(items) => {
            found.container(path, &value.span());
            // An element of an array of tables also owns the text before its first key
            // (its `[[header]]`), where a missing field in it is reported.
            let mut prev_end = value.span().start;
            for (i, item) in items.iter().enumerate() {
                if found.leaf.is_some() {
                    return;
                }
                path.0.push(Seg::Index(i));
                found.container(path, &(prev_end..item.span().end));
                prev_end = item.span().end;
                walk_value(item, path, found);
                path.0.pop();
            }
        }
        _ => {
            if covers(&value.span(), found.offset) {
                found.leaf = Some(path.clone());
            }
        }
    }
}
