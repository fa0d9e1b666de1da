//! Stopping a running statement: a cancel request (the client's CancelRequest, psql's
//! Ctrl-C) or `statement_timeout`, both 57014 as in PostgreSQL.
//!
//! A statement does not stop at an arbitrary point: it checks at the points where work
//! repeats — every batch an operator hands up and every page a scan reads — so it stops
//! within one batch's work and its transaction rolls back as after any error.

use rustydb_foundation::{DbError, Result, SqlState};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

/// What may stop a statement.
#[derive(Debug, Clone, Default)]
pub struct Interrupt {
    /// Set by a cancel request for the session.
    cancel: Option<Arc<AtomicBool>>,
    /// `statement_timeout` expires then.
    deadline: Option<Instant>,
}

impl Interrupt {
    /// Stops on `cancel` being set, or at `deadline`.
    pub fn new(cancel: Arc<AtomicBool>, deadline: Option<Instant>) -> Self {
        Interrupt { cancel: Some(cancel), deadline }
    }

    /// The deadline, if there is one.
    pub fn deadline(&self) -> Option<Instant> {
        self.deadline
    }

    /// 57014 if the statement must stop now.
    pub fn check(&self) -> Result<()> {
        if self.cancel.as_ref().is_some_and(|c| c.load(Ordering::Relaxed)) {
            return Err(DbError::sql(SqlState::QueryCanceled, "canceling statement due to user request"));
        }
        if self.deadline.is_some_and(|d| Instant::now() >= d) {
            return Err(timed_out());
        }
        Ok(())
    }
}

/// 57014 for `statement_timeout`.
pub fn timed_out() -> DbError {
    DbError::sql(SqlState::QueryCanceled, "canceling statement due to statement timeout")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_cancel_or_a_passed_deadline_stops_the_statement() {
        let flag = Arc::new(AtomicBool::new(false));
        let i = Interrupt::new(flag.clone(), Some(Instant::now() + Duration::from_secs(60)));
        assert!(i.check().is_ok());
        flag.store(true, Ordering::Relaxed);
        assert!(i.check().unwrap_err().to_string().contains("user request"));
        let late = Interrupt::new(Arc::default(), Some(Instant::now()));
        assert!(late.check().unwrap_err().to_string().contains("statement timeout"));
        assert!(Interrupt::default().check().is_ok());
    }
}
