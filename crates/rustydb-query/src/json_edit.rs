//! The jsonb functions and operators that make a new value from an old one: `||`, `-`, `#-`,
//! `jsonb_set`, `jsonb_insert`, `json[b]_strip_nulls` and `jsonb_pretty`, with PostgreSQL
//! 15's rules and errors (`jsonfuncs.c`). Values are [`Json`] trees in jsonb form (keys
//! unique and in jsonb order), so every result is made canonical again before it is returned.

use rustydb_foundation::json::{Json, quote};
use rustydb_foundation::{DbError, Result, SqlState};

fn invalid(message: impl Into<String>) -> DbError {
    DbError::sql(SqlState::InvalidParameterValue, message)
}

/// 22P02 for a path step that must index an array but is not an integer.
fn not_an_integer(position: usize, step: &str) -> DbError {
    DbError::sql(
        SqlState::InvalidTextRepresentation,
        format!("path element at position {position} is not an integer: \"{step}\""),
    )
}

/// An array index from a path step: `Ok(None)` is not a number.
fn index_of(step: &str) -> Option<i64> {
    step.trim().parse::<i64>().ok()
}

/// `a || b`: objects merge (the right's members win), arrays concatenate, and anything else is
/// an element of a one-element array first.
pub fn concat(a: Json, b: Json) -> Json {
    match (a, b) {
        (Json::Object(mut left), Json::Object(right)) => {
            left.extend(right);
            Json::Object(left).canonical()
        }
        (Json::Array(mut left), Json::Array(right)) => {
            left.extend(right);
            Json::Array(left)
        }
        (Json::Array(mut left), other) => {
            left.push(other);
            Json::Array(left)
        }
        (other, Json::Array(right)) => {
            let mut items = vec![other];
            items.extend(right);
            Json::Array(items)
        }
        (left, right) => Json::Array(vec![left, right]),
    }
}

/// `j - key`: an object without that key, an array without the strings equal to it.
pub fn delete_key(j: Json, key: &str) -> Result<Json> {
    delete_keys(j, &[key])
}

/// `j - keys`: [`delete_key`] for each.
pub fn delete_keys(j: Json, keys: &[&str]) -> Result<Json> {
    match j {
        Json::Object(members) => {
            Ok(Json::Object(members.into_iter().filter(|(k, _)| !keys.contains(&k.as_str())).collect()))
        }
        Json::Array(items) => Ok(Json::Array(
            items.into_iter().filter(|item| !matches!(item, Json::String(s) if keys.contains(&s.as_str()))).collect(),
        )),
        _ => Err(invalid("cannot delete from scalar")),
    }
}

/// `j - index`: an array without that element (from the end when negative; unchanged when out
/// of range).
pub fn delete_index(j: Json, index: i64) -> Result<Json> {
    match j {
        Json::Array(mut items) => {
            if let Some(at) = position(items.len(), index) {
                items.remove(at);
            }
            Ok(Json::Array(items))
        }
        Json::Object(_) => Err(invalid("cannot delete from object using integer index")),
        _ => Err(invalid("cannot delete from scalar")),
    }
}

/// The element `index` names in an array of `len` (negative: from the end), if there is one.
fn position(len: usize, index: i64) -> Option<usize> {
    let at = if index < 0 { len as i64 + index } else { index };
    usize::try_from(at).ok().filter(|at| *at < len)
}

/// `j #- path`: without the member or element the path leads to (unchanged if none).
pub fn delete_path(j: Json, path: &[&str]) -> Result<Json> {
    if !matches!(j, Json::Array(_) | Json::Object(_)) {
        return Err(invalid("cannot delete path in scalar"));
    }
    let mut j = j;
    if !path.is_empty() {
        remove_at(&mut j, path, 1)?;
    }
    Ok(j)
}

fn remove_at(j: &mut Json, path: &[&str], position_in_path: usize) -> Result<()> {
    let (step, rest) = (path[0], &path[1..]);
    match j {
        Json::Object(members) => {
            let Some(at) = members.iter().position(|(k, _)| k == step) else { return Ok(()) };
            if rest.is_empty() {
                members.remove(at);
                Ok(())
            } else {
                remove_at(&mut members[at].1, rest, position_in_path + 1)
            }
        }
        Json::Array(items) => {
            let index = index_of(step).ok_or_else(|| not_an_integer(position_in_path, step))?;
            let Some(at) = position(items.len(), index) else { return Ok(()) };
            if rest.is_empty() {
                items.remove(at);
                Ok(())
            } else {
                remove_at(&mut items[at], rest, position_in_path + 1)
            }
        }
        _ => Ok(()),
    }
}

/// How [`set_path`] treats the place the path ends at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placing {
    /// `jsonb_set`: replace what is there; add it (when `create`) if nothing is.
    Set {
        /// `create_if_missing`.
        create: bool,
    },
    /// `jsonb_insert`: add before the element (after, with `after`); a key already there is
    /// an error.
    Insert {
        /// `insert_after`.
        after: bool,
    },
}

/// `jsonb_set(j, path, value, create)` and `jsonb_insert(j, path, value, after)`. A path through
/// something missing leaves `j` as it is.
pub fn set_path(j: Json, path: &[&str], value: Json, placing: Placing) -> Result<Json> {
    if !matches!(j, Json::Array(_) | Json::Object(_)) {
        return Err(invalid("cannot set path in scalar"));
    }
    let mut j = j;
    if !path.is_empty() {
        set_at(&mut j, path, value, placing, 1)?;
    }
    Ok(j.canonical())
}

fn set_at(j: &mut Json, path: &[&str], value: Json, placing: Placing, position_in_path: usize) -> Result<()> {
    let (step, rest) = (path[0], &path[1..]);
    let last = rest.is_empty();
    match j {
        Json::Object(members) => match members.iter().position(|(k, _)| k == step) {
            Some(at) if last => match placing {
                Placing::Set { .. } => {
                    members[at].1 = value;
                    Ok(())
                }
                Placing::Insert { .. } => Err(invalid("cannot replace existing key")
                    .with_hint("Try using the function jsonb_set to replace key value.")),
            },
            Some(at) => set_at(&mut members[at].1, rest, value, placing, position_in_path + 1),
            None if last && placing != (Placing::Set { create: false }) => {
                members.push((step.to_string(), value));
                Ok(())
            }
            None => Ok(()),
        },
        Json::Array(items) => {
            let index = index_of(step).ok_or_else(|| not_an_integer(position_in_path, step))?;
            let len = items.len() as i64;
            if !last {
                return match position(items.len(), index) {
                    Some(at) => set_at(&mut items[at], rest, value, placing, position_in_path + 1),
                    None => Ok(()),
                };
            }
            match (placing, position(items.len(), index)) {
                (Placing::Set { .. }, Some(at)) => items[at] = value,
                (Placing::Insert { after }, Some(at)) => items.insert(at + usize::from(after), value),
                (Placing::Set { create: false }, None) => {}
                // Out of range: added at the end, or at the start for an index before it.
                (_, None) if index < 0 && index < -len => items.insert(0, value),
                (_, None) => items.push(value),
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// `json[b]_strip_nulls`: without object members whose value is null, throughout (array
/// elements that are null stay).
pub fn strip_nulls(j: Json) -> Json {
    match j {
        Json::Object(members) => Json::Object(
            members.into_iter().filter(|(_, v)| !matches!(v, Json::Null)).map(|(k, v)| (k, strip_nulls(v))).collect(),
        ),
        Json::Array(items) => Json::Array(items.into_iter().map(strip_nulls).collect()),
        other => other,
    }
}

/// json's text without any whitespace, as PostgreSQL prints a json value it built
/// (`json_strip_nulls`).
pub fn compact_text(j: &Json) -> String {
    let mut out = String::new();
    write_compact(j, &mut out);
    out
}

fn write_compact(j: &Json, out: &mut String) {
    match j {
        Json::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_compact(item, out);
            }
            out.push(']');
        }
        Json::Object(members) => {
            out.push('{');
            for (i, (k, v)) in members.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                quote(k, out);
                out.push(':');
                write_compact(v, out);
            }
            out.push('}');
        }
        scalar => out.push_str(&scalar.to_text()),
    }
}

/// `jsonb_pretty`: one member or element per line, four spaces per level.
pub fn pretty(j: &Json) -> String {
    let mut out = String::new();
    write_pretty(j, 0, &mut out);
    out
}

fn write_pretty(j: &Json, depth: usize, out: &mut String) {
    let indent = |out: &mut String, depth: usize| out.extend(std::iter::repeat_n("    ", depth));
    match j {
        Json::Array(items) => {
            out.push_str("[\n");
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(",\n");
                }
                indent(out, depth + 1);
                write_pretty(item, depth + 1, out);
            }
            if !items.is_empty() {
                out.push('\n');
            }
            indent(out, depth);
            out.push(']');
        }
        Json::Object(members) => {
            out.push_str("{\n");
            for (i, (k, v)) in members.iter().enumerate() {
                if i > 0 {
                    out.push_str(",\n");
                }
                indent(out, depth + 1);
                quote(k, out);
                out.push_str(": ");
                write_pretty(v, depth + 1, out);
            }
            if !members.is_empty() {
                out.push('\n');
            }
            indent(out, depth);
            out.push('}');
        }
        scalar => out.push_str(&scalar.to_text()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustydb_foundation::json::parse;

    fn j(text: &str) -> Json {
        parse(text).unwrap().canonical()
    }

    #[test]
    fn set_and_insert_follow_postgresql() {
        // PostgreSQL 15's answers.
        let set = |t, p: &[&str], v, create| set_path(j(t), p, j(v), Placing::Set { create }).unwrap().to_text();
        assert_eq!(set(r#"{"a":{"b":1}}"#, &["a", "b"], "2", true), r#"{"a": {"b": 2}}"#);
        assert_eq!(set(r#"{"a":{"b":1}}"#, &["a", "c"], r#""x""#, true), r#"{"a": {"b": 1, "c": "x"}}"#);
        assert_eq!(set(r#"{"a":{"b":1}}"#, &["a", "c"], r#""x""#, false), r#"{"a": {"b": 1}}"#);
        assert_eq!(set("[1,2,3]", &["5"], "9", true), "[1, 2, 3, 9]");
        assert_eq!(set("[1,2,3]", &["-9"], "0", true), "[0, 1, 2, 3]");
        assert_eq!(set(r#"{"a":1}"#, &["x", "y"], "2", true), r#"{"a": 1}"#);
        let insert = |t, p: &[&str], v, after| set_path(j(t), p, j(v), Placing::Insert { after }).unwrap().to_text();
        assert_eq!(insert(r#"{"a":[0,1,2]}"#, &["a", "1"], r#""new""#, false), r#"{"a": [0, "new", 1, 2]}"#);
        assert_eq!(insert(r#"{"a":[0,1,2]}"#, &["a", "1"], r#""new""#, true), r#"{"a": [0, 1, "new", 2]}"#);
        assert_eq!(insert("[1,2]", &["-1"], "9", true), "[1, 2, 9]");
        assert_eq!(insert("[1,2]", &["7"], "9", false), "[1, 2, 9]");
        let e = set_path(j(r#"{"a":{"b":1}}"#), &["a", "b"], j("3"), Placing::Insert { after: false }).unwrap_err();
        assert_eq!(e.to_string(), "cannot replace existing key");
        let e = set_path(j("[1]"), &["a"], j("2"), Placing::Set { create: true }).unwrap_err();
        assert_eq!(e.sqlstate(), SqlState::InvalidTextRepresentation);
        assert!(set_path(j("1"), &["a"], j("2"), Placing::Set { create: true }).is_err());
    }

    #[test]
    fn concatenation_and_deletion_follow_postgresql() {
        let cat = |a, b| concat(j(a), j(b)).to_text();
        assert_eq!(cat(r#"{"a":1,"b":2}"#, r#"{"b":3,"c":4}"#), r#"{"a": 1, "b": 3, "c": 4}"#);
        assert_eq!(cat("[1]", "2"), "[1, 2]");
        assert_eq!(cat("1", "2"), "[1, 2]");
        assert_eq!(cat(r#"{"a":1}"#, "[1]"), r#"[{"a": 1}, 1]"#);
        assert_eq!(delete_key(j(r#"["a","b","a"]"#), "a").unwrap().to_text(), r#"["b"]"#);
        assert_eq!(delete_index(j("[1,2,3]"), -1).unwrap().to_text(), "[1, 2]");
        assert_eq!(delete_index(j("[1,2,3]"), 5).unwrap().to_text(), "[1, 2, 3]");
        assert!(delete_index(j(r#"{"a":1}"#), 0).is_err());
        assert_eq!(
            delete_path(j(r#"{"a":{"b":[1,2,3]}}"#), &["a", "b", "1"]).unwrap().to_text(),
            r#"{"a": {"b": [1, 3]}}"#
        );
        assert_eq!(delete_path(j("[1,[2,3]]"), &["1", "-1"]).unwrap().to_text(), "[1, [2]]");
        assert_eq!(strip_nulls(j(r#"{"a":null,"b":[1,null,{"c":null}]}"#)).to_text(), r#"{"b": [1, null, {}]}"#);
        assert_eq!(compact_text(&strip_nulls(j(r#"{"a":null,"b":[1,null,{"c":null}]}"#))), r#"{"b":[1,null,{}]}"#);
        let pretty_text = pretty(&j(r#"{"a":1,"b":[1,{"c":null}],"d":{},"e":[]}"#));
        let want = "{\n    \"a\": 1,\n    \"b\": [\n        1,\n        {\n            \"c\": null\n        }\n    ],\n    \"d\": {\n    },\n    \"e\": [\n    ]\n}";
        assert_eq!(pretty_text, want);
    }
}
