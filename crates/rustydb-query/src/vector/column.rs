//! Typed column vectors: the values of one column for a batch of rows, unboxed.
//!
//! An integer column of any width holds `i64`s and a float column of either width holds
//! `f64`s (a float4 widened exactly); the column's [`DataType`] says which SQL type the values
//! have, so a value taken back out ([`Column::value`]) is the same [`Value`] the row executor
//! would hold. NULLs are a separate mask; the payload at a NULL position is a placeholder.

use rustydb_foundation::{DataType, Value};

/// A row number that stands for no row: [`Column::gather_or_null`] gives NULL for it.
pub const NO_ROW: u32 = u32::MAX;

/// The payload of a [`Column`].
#[derive(Debug, Clone, PartialEq)]
pub enum Data {
    /// int2, int4 or int8 values.
    Int(Vec<i64>),
    /// float4 or float8 values.
    Float(Vec<f64>),
    /// Booleans.
    Bool(Vec<bool>),
}

/// One column's values for a batch.
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    /// The SQL type of the values.
    pub ty: DataType,
    /// The values.
    pub data: Data,
    /// `nulls[i]` is true where row `i` is NULL; `None` when no row is.
    pub nulls: Option<Vec<bool>>,
}

/// How a column of a type is held, if it can be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// [`Data::Int`].
    Int,
    /// [`Data::Float`].
    Float,
    /// [`Data::Bool`].
    Bool,
}

impl Kind {
    /// The kind that holds values of `ty`, if there is one.
    pub fn of(ty: DataType) -> Option<Kind> {
        match ty {
            DataType::Int2 | DataType::Int4 | DataType::Int8 => Some(Kind::Int),
            DataType::Float4 | DataType::Float8 => Some(Kind::Float),
            DataType::Bool => Some(Kind::Bool),
            _ => None,
        }
    }
}

impl Column {
    /// An empty column of type `ty` (which must have a [`Kind`]) with room for `capacity` rows.
    pub fn with_capacity(ty: DataType, capacity: usize) -> Column {
        let data = match Kind::of(ty) {
            Some(Kind::Float) => Data::Float(Vec::with_capacity(capacity)),
            Some(Kind::Bool) => Data::Bool(Vec::with_capacity(capacity)),
            _ => Data::Int(Vec::with_capacity(capacity)),
        };
        Column { ty, data, nulls: None }
    }

    /// `len` rows all holding `value` (of type `ty`).
    pub fn constant(ty: DataType, value: &Value, len: usize) -> Column {
        let null = value.is_null();
        let data = match Kind::of(ty) {
            Some(Kind::Float) => Data::Float(vec![value.as_f64().unwrap_or(0.0); len]),
            Some(Kind::Bool) => Data::Bool(vec![*value == Value::Bool(true); len]),
            _ => Data::Int(vec![value.as_i64().unwrap_or(0); len]),
        };
        Column { ty, data, nulls: null.then(|| vec![true; len]) }
    }

    /// The number of rows.
    pub fn len(&self) -> usize {
        match &self.data {
            Data::Int(v) => v.len(),
            Data::Float(v) => v.len(),
            Data::Bool(v) => v.len(),
        }
    }

    /// True if the column has no rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// True if row `i` is NULL.
    #[inline]
    pub fn is_null(&self, i: usize) -> bool {
        self.nulls.as_ref().is_some_and(|n| n[i])
    }

    /// Appends a NULL.
    pub fn push_null(&mut self) {
        let len = self.len();
        self.nulls.get_or_insert_with(|| vec![false; len]).push(true);
        match &mut self.data {
            Data::Int(v) => v.push(0),
            Data::Float(v) => v.push(0.0),
            Data::Bool(v) => v.push(false),
        }
    }

    /// Marks the row just appended as not NULL (keeps the mask as long as the data).
    #[inline]
    pub fn pushed_value(&mut self) {
        if let Some(n) = &mut self.nulls {
            n.push(false);
        }
    }

    /// Row `i` as a value of the column's type.
    pub fn value(&self, i: usize) -> Value {
        if self.is_null(i) {
            return Value::Null;
        }
        match &self.data {
            Data::Int(v) => match self.ty {
                DataType::Int2 => Value::Int2(v[i] as i16),
                DataType::Int4 => Value::Int4(v[i] as i32),
                _ => Value::Int8(v[i]),
            },
            Data::Float(v) => match self.ty {
                DataType::Float4 => Value::Float4(v[i] as f32),
                _ => Value::Float8(v[i]),
            },
            Data::Bool(v) => Value::Bool(v[i]),
        }
    }

    /// Appends `v`, a value of the column's type (or NULL), as [`Column::value`] gives it back.
    pub fn push_value(&mut self, v: &Value) {
        if v.is_null() {
            self.push_null();
            return;
        }
        match &mut self.data {
            Data::Int(d) => d.push(v.as_i64().unwrap_or(0)),
            Data::Float(d) => d.push(v.as_f64().unwrap_or(0.0)),
            Data::Bool(d) => d.push(*v == Value::Bool(true)),
        }
        self.pushed_value();
    }

    /// Appends `other`'s rows (of the same type).
    pub fn append(&mut self, other: &Column) {
        let before = self.len();
        match (&mut self.data, &other.data) {
            (Data::Int(a), Data::Int(b)) => a.extend_from_slice(b),
            (Data::Float(a), Data::Float(b)) => a.extend_from_slice(b),
            (Data::Bool(a), Data::Bool(b)) => a.extend_from_slice(b),
            _ => unreachable!("appending a column of another kind"),
        }
        match (&mut self.nulls, &other.nulls) {
            (None, None) => {}
            (Some(a), None) => a.resize(a.len() + other.len(), false),
            (mine, Some(b)) => mine.get_or_insert_with(|| vec![false; before]).extend_from_slice(b),
        }
    }

    /// The rows at `rows`, in that order, with NULL where `rows` holds [`NO_ROW`].
    pub fn gather_or_null(&self, rows: &[u32]) -> Column {
        fn pick<T: Copy + Default>(v: &[T], rows: &[u32]) -> Vec<T> {
            rows.iter().map(|&r| if r == NO_ROW { T::default() } else { v[r as usize] }).collect()
        }
        let data = match &self.data {
            Data::Int(v) => Data::Int(pick(v, rows)),
            Data::Float(v) => Data::Float(pick(v, rows)),
            Data::Bool(v) => Data::Bool(pick(v, rows)),
        };
        let nulls: Vec<bool> = rows.iter().map(|&r| r == NO_ROW || self.is_null(r as usize)).collect();
        Column { ty: self.ty, data, nulls: nulls.contains(&true).then_some(nulls) }
    }

    /// The rows at `rows`, in that order.
    pub fn gather(&self, rows: &[u32]) -> Column {
        fn pick<T: Copy>(v: &[T], rows: &[u32]) -> Vec<T> {
            rows.iter().map(|&r| v[r as usize]).collect()
        }
        let data = match &self.data {
            Data::Int(v) => Data::Int(pick(v, rows)),
            Data::Float(v) => Data::Float(pick(v, rows)),
            Data::Bool(v) => Data::Bool(pick(v, rows)),
        };
        let nulls = self.nulls.as_ref().map(|n| pick(n, rows)).filter(|n| n.contains(&true));
        Column { ty: self.ty, data, nulls }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pushed_values_come_back_as_they_went_in() {
        let values = [Value::Float4(1.5), Value::Null, Value::Float4(-0.0), Value::Float4(f32::NAN)];
        let mut c = Column::with_capacity(DataType::Float4, 4);
        values.iter().for_each(|v| c.push_value(v));
        let back: Vec<Value> = (0..4).map(|i| c.value(i)).collect();
        assert_eq!(back[..2], values[..2]);
        assert!(matches!(back[2], Value::Float4(z) if z == 0.0 && z.is_sign_negative()));
        assert!(matches!(back[3], Value::Float4(n) if n.is_nan()));
        let mut b = Column::with_capacity(DataType::Bool, 2);
        [Value::Bool(true), Value::Null].iter().for_each(|v| b.push_value(v));
        assert_eq!((b.value(0), b.value(1)), (Value::Bool(true), Value::Null));
    }

    #[test]
    fn values_come_back_with_their_sql_type_and_nulls() {
        let mut c = Column::with_capacity(DataType::Int4, 4);
        if let Data::Int(v) = &mut c.data {
            v.push(7);
        }
        c.pushed_value();
        c.push_null();
        if let Data::Int(v) = &mut c.data {
            v.push(-3);
        }
        c.pushed_value();
        assert_eq!(c.len(), 3);
        assert_eq!((c.value(0), c.value(1), c.value(2)), (Value::Int4(7), Value::Null, Value::Int4(-3)));
        let g = c.gather(&[2, 0]);
        assert_eq!((g.value(0), g.value(1)), (Value::Int4(-3), Value::Int4(7)));
        assert!(g.nulls.is_none(), "a gather without NULLs drops the mask");
        let f = Column::constant(DataType::Float4, &Value::Float4(1.5), 2);
        assert_eq!(f.value(1), Value::Float4(1.5));
        let n = Column::constant(DataType::Bool, &Value::Null, 2);
        assert_eq!(n.value(0), Value::Null);
    }
}
