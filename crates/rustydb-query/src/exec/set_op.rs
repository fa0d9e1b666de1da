//! UNION, INTERSECT and EXCEPT, with and without ALL. The right input is read into a
//! multiset first (except for UNION, which streams both); left rows then stream through:
//! - UNION ALL: left, then right; UNION: the same with duplicates removed.
//! - INTERSECT [ALL]: a left row passes while the right has copies of it left (ALL consumes
//!   one per row; without ALL each distinct row passes once).
//! - EXCEPT [ALL]: a left row passes if the right has no copy left (ALL consumes one copy per
//!   left row instead); without ALL each distinct row passes once.

use super::{Batch, HashKey, Operator};
use crate::context::ExecContext;
use crate::rel::SetOpKind;
use rustydb_foundation::Result;
use std::collections::{HashMap, HashSet};

/// The set operation operator.
pub struct SetOpOp<'p> {
    kind: SetOpKind,
    all: bool,
    left: Box<dyn Operator + 'p>,
    right: Option<Box<dyn Operator + 'p>>,
    left_done: bool,
    counts: HashMap<HashKey, usize>,
    emitted: HashSet<HashKey>,
}

impl<'p> SetOpOp<'p> {
    /// `left kind [ALL] right`.
    pub fn new(kind: SetOpKind, all: bool, left: Box<dyn Operator + 'p>, right: Box<dyn Operator + 'p>) -> Self {
        SetOpOp {
            kind,
            all,
            left,
            right: Some(right),
            left_done: false,
            counts: HashMap::new(),
            emitted: HashSet::new(),
        }
    }

    fn first_time(&mut self, ctx: &mut ExecContext<'_>, key: &HashKey) -> Result<bool> {
        if self.emitted.contains(key) {
            return Ok(false);
        }
        ctx.hold_row(&key.0, "a set operation")?;
        self.emitted.insert(key.clone());
        Ok(true)
    }
}

impl Operator for SetOpOp<'_> {
    fn next(&mut self, ctx: &mut ExecContext<'_>) -> Result<Option<Batch>> {
        if self.kind == SetOpKind::Union {
            loop {
                let batch = if !self.left_done {
                    match self.left.next(ctx)? {
                        Some(b) => b,
                        None => {
                            self.left_done = true;
                            continue;
                        }
                    }
                } else {
                    match self.right.as_mut() {
                        Some(r) => match r.next(ctx)? {
                            Some(b) => b,
                            None => return Ok(None),
                        },
                        None => return Ok(None),
                    }
                };
                if self.all {
                    return Ok(Some(batch));
                }
                let mut out = Vec::new();
                for row in batch {
                    let key = HashKey(row);
                    if self.first_time(ctx, &key)? {
                        out.push(key.0);
                    }
                }
                if !out.is_empty() {
                    return Ok(Some(out));
                }
            }
        }
        if let Some(mut right) = self.right.take() {
            while let Some(batch) = right.next(ctx)? {
                for row in batch {
                    let key = HashKey(row);
                    if !self.counts.contains_key(&key) {
                        ctx.hold_row(&key.0, "a set operation")?;
                    }
                    *self.counts.entry(key).or_default() += 1;
                }
            }
        }
        while let Some(batch) = self.left.next(ctx)? {
            let mut out = Vec::new();
            for row in batch {
                let key = HashKey(row);
                let pass = match (self.kind, self.all) {
                    (SetOpKind::Intersect, true) => match self.counts.get_mut(&key) {
                        Some(n) if *n > 0 => {
                            *n -= 1;
                            true
                        }
                        _ => false,
                    },
                    (SetOpKind::Intersect, false) => self.counts.contains_key(&key) && self.first_time(ctx, &key)?,
                    (SetOpKind::Except, true) => match self.counts.get_mut(&key) {
                        Some(n) if *n > 0 => {
                            *n -= 1;
                            false
                        }
                        _ => true,
                    },
                    (SetOpKind::Except, false) => !self.counts.contains_key(&key) && self.first_time(ctx, &key)?,
                    (SetOpKind::Union, _) => true,
                };
                if pass {
                    out.push(key.0);
                }
            }
            if !out.is_empty() {
                return Ok(Some(out));
            }
        }
        Ok(None)
    }
}
