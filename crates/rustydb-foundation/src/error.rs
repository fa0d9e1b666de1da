//! Errors, sorted by what the caller can do about them.
//!
//! - **Fix the input**: syntax, unknown names, constraint and type errors ([`DbError::Sql`] with a
//!   class `22`, `23`, `42` ... SQLSTATE).
//! - **Retry**: serialization failures and deadlocks ([`DbError::is_retryable`]).
//! - **Give up**: I/O failures, corruption, and an engine that stopped writing after a failed
//!   fsync. These keep their `source()` so the operator sees the real cause.
//!
//! Every SQL-facing error maps to its PostgreSQL SQLSTATE here, in [`DbError::sqlstate`].

use std::fmt;

/// A PostgreSQL SQLSTATE code, as clients and drivers match on them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SqlState {
    /// 0A000 feature_not_supported
    FeatureNotSupported,
    /// 22001 string_data_right_truncation
    StringDataRightTruncation,
    /// 22003 numeric_value_out_of_range
    NumericValueOutOfRange,
    /// 22012 division_by_zero
    DivisionByZero,
    /// 2201F invalid_argument_for_power_function
    InvalidArgumentForPowerFunction,
    /// 2202E array_subscript_error
    ArraySubscriptError,
    /// 2201E invalid_argument_for_logarithm
    InvalidArgumentForLogarithm,
    /// 2201G invalid_argument_for_width_bucket_function
    InvalidArgumentForWidthBucketFunction,
    /// 22011 substring_error
    SubstringError,
    /// 21000 cardinality_violation (a scalar subquery returned several rows)
    CardinalityViolation,
    /// 42712 duplicate_alias
    DuplicateAlias,
    /// 42809 wrong_object_type
    WrongObjectType,
    /// 22014 invalid_argument_for_ntile_function
    InvalidArgumentForNtile,
    /// 22016 invalid_argument_for_nth_value_function
    InvalidArgumentForNthValue,
    /// 42P20 windowing_error
    WindowingError,
    /// 22004 null_value_not_allowed
    NullValueNotAllowed,
    /// 22013 invalid_preceding_or_following_size
    InvalidPrecedingOrFollowingSize,
    /// 42P17 invalid_object_definition (also "infinite recursion" in view expansion)
    InvalidRecursion,
    /// 22023 invalid_parameter_value
    InvalidParameterValue,
    /// 22P02 invalid_text_representation
    InvalidTextRepresentation,
    /// 2201B invalid_regular_expression
    InvalidRegularExpression,
    /// 2BP01 dependent_objects_still_exist
    DependentObjectsStillExist,
    /// 22P04 bad_copy_file_format
    BadCopyFileFormat,
    /// 22007 invalid_datetime_format
    InvalidDatetimeFormat,
    /// 22008 datetime_field_overflow
    DatetimeFieldOverflow,
    /// 22P03 invalid_binary_representation
    InvalidBinaryRepresentation,
    /// 22021 character_not_in_repertoire
    CharacterNotInRepertoire,
    /// 22P05 untranslatable_character
    UntranslatableCharacter,
    /// 26000 invalid_sql_statement_name
    InvalidSqlStatementName,
    /// 34000 invalid_cursor_name
    InvalidCursorName,
    /// 42P05 duplicate_prepared_statement
    DuplicatePreparedStatement,
    /// 42P03 duplicate_cursor
    DuplicateCursor,
    /// 23502 not_null_violation
    NotNullViolation,
    /// 23505 unique_violation
    UniqueViolation,
    /// 23514 check_violation
    CheckViolation,
    /// 23503 foreign_key_violation
    ForeignKeyViolation,
    /// 42830 invalid_foreign_key
    InvalidForeignKey,
    /// 25001 active_sql_transaction
    ActiveSqlTransaction,
    /// 25P01 no_active_sql_transaction
    NoActiveSqlTransaction,
    /// 25P02 in_failed_sql_transaction
    InFailedSqlTransaction,
    /// P0002: a query that must return a row returned none (PL/pgSQL's `SELECT ... INTO STRICT`,
    /// the embedded API's `query_row`).
    NoDataFound,
    /// 25006 read_only_sql_transaction
    ReadOnlySqlTransaction,
    /// 28000 invalid_authorization_specification
    InvalidAuthorization,
    /// 3D000 invalid_catalog_name (unknown database)
    InvalidCatalogName,
    /// 40001 serialization_failure
    SerializationFailure,
    /// 40P01 deadlock_detected
    DeadlockDetected,
    /// 55P03 lock_not_available (NOWAIT, lock_timeout)
    LockNotAvailable,
    /// 3B001 invalid_savepoint_specification
    InvalidSavepointSpecification,
    /// 25P03 idle_in_transaction_session_timeout
    IdleInTransactionSessionTimeout,
    /// 57014 query_canceled (statement_timeout, cancel requests)
    QueryCanceled,
    /// 55P02 cant_change_runtime_param
    CantChangeRuntimeParam,
    /// 42601 syntax_error
    SyntaxError,
    /// 42703 undefined_column
    UndefinedColumn,
    /// 42P02 undefined_parameter
    UndefinedParameter,
    /// 42702 ambiguous_column
    AmbiguousColumn,
    /// 42704 undefined_object
    UndefinedObject,
    /// 42804 datatype_mismatch
    DatatypeMismatch,
    /// 42883 undefined_function
    UndefinedFunction,
    /// 42P01 undefined_table
    UndefinedTable,
    /// 42P07 duplicate_table
    DuplicateTable,
    /// 42P04 duplicate_database
    DuplicateDatabase,
    /// 42701 duplicate_column
    DuplicateColumn,
    /// 42P16 invalid_table_definition
    InvalidTableDefinition,
    /// 42803 grouping_error
    GroupingError,
    /// 42P10 invalid_column_reference
    InvalidColumnReference,
    /// 42501 insufficient_privilege
    InsufficientPrivilege,
    /// 42710 duplicate_object
    DuplicateObject,
    /// 2200H sequence_generator_limit_exceeded
    SequenceGeneratorLimitExceeded,
    /// 55000 object_not_in_prerequisite_state
    ObjectNotInPrerequisiteState,
    /// 55006 object_in_use
    ObjectInUse,
    /// 0LP01 invalid_grant_operation (a privilege the object does not have, a circular role grant)
    InvalidGrantOperation,
    /// 3F000 invalid_schema_name (unknown schema)
    InvalidSchemaName,
    /// 42602 invalid_name (a relation name given as text that does not parse)
    InvalidName,
    /// 42P06 duplicate_schema
    DuplicateSchema,
    /// 42939 reserved_name (a schema named `pg_...`)
    ReservedName,
    /// 28P01 invalid_password
    InvalidPassword,
    /// 54001 statement_too_complex (PostgreSQL's "stack depth limit exceeded")
    StatementTooComplex,
    /// 53300 too_many_connections
    TooManyConnections,
    /// 57P01 admin_shutdown
    AdminShutdown,
    /// 42846 cannot_coerce
    CannotCoerce,
    /// 42725 ambiguous_function (also "operator is not unique")
    AmbiguousFunction,
    /// 2201W invalid_row_count_in_limit_clause
    InvalidRowCountInLimitClause,
    /// 2201X invalid_row_count_in_result_offset_clause
    InvalidRowCountInResultOffsetClause,
    /// 22019 invalid_escape_character
    InvalidEscapeCharacter,
    /// 42P18 indeterminate_datatype
    IndeterminateDatatype,
    /// 08P01 protocol_violation
    ProtocolViolation,
    /// 54000 program_limit_exceeded
    ProgramLimitExceeded,
    /// 53200 out_of_memory
    OutOfMemory,
    /// 58030 io_error
    IoError,
    /// XX001 data_corrupted
    DataCorrupted,
    /// XX000 internal_error
    InternalError,
}

impl SqlState {
    /// The five-character code sent in the `C` field of an ErrorResponse.
    pub fn code(self) -> &'static str {
        use SqlState::*;
        match self {
            FeatureNotSupported => "0A000",
            StringDataRightTruncation => "22001",
            NumericValueOutOfRange => "22003",
            DivisionByZero => "22012",
            InvalidArgumentForPowerFunction => "2201F",
            InvalidArgumentForLogarithm => "2201E",
            ArraySubscriptError => "2202E",
            InvalidArgumentForWidthBucketFunction => "2201G",
            SubstringError => "22011",
            CardinalityViolation => "21000",
            DuplicateAlias => "42712",
            WrongObjectType => "42809",
            InvalidRecursion => "42P17",
            InvalidArgumentForNtile => "22014",
            InvalidArgumentForNthValue => "22016",
            WindowingError => "42P20",
            NullValueNotAllowed => "22004",
            InvalidPrecedingOrFollowingSize => "22013",
            InvalidParameterValue => "22023",
            InvalidTextRepresentation => "22P02",
            InvalidRegularExpression => "2201B",
            DependentObjectsStillExist => "2BP01",
            BadCopyFileFormat => "22P04",
            InvalidDatetimeFormat => "22007",
            DatetimeFieldOverflow => "22008",
            InvalidBinaryRepresentation => "22P03",
            CharacterNotInRepertoire => "22021",
            UntranslatableCharacter => "22P05",
            InvalidSqlStatementName => "26000",
            InvalidCursorName => "34000",
            DuplicatePreparedStatement => "42P05",
            DuplicateCursor => "42P03",
            NotNullViolation => "23502",
            UniqueViolation => "23505",
            CheckViolation => "23514",
            ForeignKeyViolation => "23503",
            InvalidForeignKey => "42830",
            ActiveSqlTransaction => "25001",
            NoActiveSqlTransaction => "25P01",
            InFailedSqlTransaction => "25P02",
            NoDataFound => "P0002",
            ReadOnlySqlTransaction => "25006",
            InvalidAuthorization => "28000",
            InvalidCatalogName => "3D000",
            SerializationFailure => "40001",
            DeadlockDetected => "40P01",
            LockNotAvailable => "55P03",
            InvalidSavepointSpecification => "3B001",
            IdleInTransactionSessionTimeout => "25P03",
            QueryCanceled => "57014",
            CantChangeRuntimeParam => "55P02",
            SyntaxError => "42601",
            UndefinedColumn => "42703",
            UndefinedParameter => "42P02",
            AmbiguousColumn => "42702",
            UndefinedObject => "42704",
            DatatypeMismatch => "42804",
            UndefinedFunction => "42883",
            UndefinedTable => "42P01",
            DuplicateTable => "42P07",
            DuplicateDatabase => "42P04",
            DuplicateColumn => "42701",
            InvalidTableDefinition => "42P16",
            GroupingError => "42803",
            InvalidColumnReference => "42P10",
            IndeterminateDatatype => "42P18",
            InsufficientPrivilege => "42501",
            DuplicateObject => "42710",
            SequenceGeneratorLimitExceeded => "2200H",
            ObjectNotInPrerequisiteState => "55000",
            ObjectInUse => "55006",
            InvalidGrantOperation => "0LP01",
            InvalidSchemaName => "3F000",
            InvalidName => "42602",
            DuplicateSchema => "42P06",
            ReservedName => "42939",
            InvalidPassword => "28P01",
            TooManyConnections => "53300",
            StatementTooComplex => "54001",
            AdminShutdown => "57P01",
            CannotCoerce => "42846",
            AmbiguousFunction => "42725",
            InvalidRowCountInLimitClause => "2201W",
            InvalidRowCountInResultOffsetClause => "2201X",
            InvalidEscapeCharacter => "22019",
            ProtocolViolation => "08P01",
            ProgramLimitExceeded => "54000",
            OutOfMemory => "53200",
            IoError => "58030",
            DataCorrupted => "XX001",
            InternalError => "XX000",
        }
    }
}

impl fmt::Display for SqlState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// The optional lines of a [`DbError::Sql`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ErrorExtra {
    /// DETAIL.
    pub detail: Option<String>,
    /// HINT: what the user might do about it.
    pub hint: Option<String>,
    /// CONTEXT: where the error happened (`COPY t, line 3`).
    pub context: Option<String>,
}

/// The one error type of RustyDB.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// An error a client caused and can fix (or retry): carries its SQLSTATE.
    #[error("{message}")]
    Sql {
        /// The SQLSTATE sent to the client.
        state: SqlState,
        /// The primary, human-readable message (PostgreSQL's wording where one exists).
        message: String,
        /// The optional DETAIL, HINT and CONTEXT lines, boxed: errors travel in every
        /// `Result`, and deep recursions (binding, evaluating) pay for their size per frame.
        extra: Option<Box<ErrorExtra>>,
    },
    /// An operating-system I/O failure, with what we were doing when it happened.
    #[error("{context}: {source}")]
    Io {
        /// What was being done, naming the file.
        context: String,
        /// The underlying OS error.
        #[source]
        source: std::io::Error,
    },
    /// Stored bytes failed a checksum or structural check. Never returned as data.
    #[error("data corrupted: {0}")]
    Corruption(String),
    /// The engine refuses writes: an fsync failed, so durability can no longer be promised.
    #[error("writes are stopped: {0}")]
    WritesStopped(String),
    /// A broken internal invariant that is still better reported than panicked on.
    #[error("internal error: {0}")]
    Internal(String),
}

/// Result with [`DbError`].
pub type Result<T, E = DbError> = std::result::Result<T, E>;

impl DbError {
    /// A client-facing error with a SQLSTATE.
    pub fn sql(state: SqlState, message: impl Into<String>) -> Self {
        DbError::Sql { state, message: message.into(), extra: None }
    }

    /// Adds a DETAIL line to a [`DbError::Sql`]; other variants are returned unchanged.
    pub fn with_detail(mut self, text: impl Into<String>) -> Self {
        if let DbError::Sql { extra, .. } = &mut self {
            extra.get_or_insert_default().detail = Some(text.into());
        }
        self
    }

    /// Adds a HINT line to a [`DbError::Sql`]; other variants are returned unchanged.
    pub fn with_hint(mut self, text: impl Into<String>) -> Self {
        if let DbError::Sql { extra, .. } = &mut self {
            extra.get_or_insert_default().hint = Some(text.into());
        }
        self
    }

    /// The HINT line, if any.
    pub fn hint(&self) -> Option<&str> {
        match self {
            DbError::Sql { extra: Some(extra), .. } => extra.hint.as_deref(),
            _ => None,
        }
    }

    /// Adds a CONTEXT line to a [`DbError::Sql`]; other variants are returned unchanged.
    pub fn with_context(mut self, text: impl Into<String>) -> Self {
        if let DbError::Sql { extra, .. } = &mut self {
            extra.get_or_insert_default().context = Some(text.into());
        }
        self
    }

    /// The CONTEXT line, if any.
    pub fn context(&self) -> Option<&str> {
        match self {
            DbError::Sql { extra: Some(extra), .. } => extra.context.as_deref(),
            _ => None,
        }
    }

    /// 42601: a syntax error.
    pub fn syntax(message: impl Into<String>) -> Self {
        Self::sql(SqlState::SyntaxError, message)
    }

    /// 0A000: a feature RustyDB does not (yet) support.
    pub fn unsupported(what: impl fmt::Display) -> Self {
        Self::sql(SqlState::FeatureNotSupported, format!("{what} is not supported"))
    }

    /// 42P01: `relation "name" does not exist`.
    pub fn undefined_table(name: impl std::fmt::Display) -> Self {
        Self::sql(SqlState::UndefinedTable, format!("relation \"{name}\" does not exist"))
    }

    /// 42703: `column "name" does not exist`.
    pub fn undefined_column(name: &str) -> Self {
        Self::sql(SqlState::UndefinedColumn, format!("column \"{name}\" does not exist"))
    }

    /// 22012: `division by zero`.
    pub fn division_by_zero() -> Self {
        Self::sql(SqlState::DivisionByZero, "division by zero")
    }

    /// 40001: a concurrent transaction changed a row this one needs.
    pub fn serialization_failure() -> Self {
        Self::sql(SqlState::SerializationFailure, "could not serialize access due to concurrent update")
    }

    /// An I/O error with context naming what was being done.
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        DbError::Io { context: context.into(), source }
    }

    /// The SQLSTATE a client sees for this error.
    pub fn sqlstate(&self) -> SqlState {
        match self {
            DbError::Sql { state, .. } => *state,
            DbError::Io { .. } | DbError::WritesStopped(_) => SqlState::IoError,
            DbError::Corruption(_) => SqlState::DataCorrupted,
            DbError::Internal(_) => SqlState::InternalError,
        }
    }

    /// The DETAIL line, if any.
    pub fn detail(&self) -> Option<&str> {
        match self {
            DbError::Sql { extra: Some(extra), .. } => extra.detail.as_deref(),
            _ => None,
        }
    }

    /// True when running the same transaction again may succeed (serialization failure,
    /// deadlock): drivers and pgbench retry these.
    pub fn is_retryable(&self) -> bool {
        self.sqlstate().code().starts_with("40")
    }

    /// True for errors the client caused by its input (classes 22, 23, 42 and similar).
    pub fn is_user_error(&self) -> bool {
        matches!(self, DbError::Sql { .. }) && !self.is_retryable()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlstates_match_postgres_codes() {
        assert_eq!(DbError::syntax("x").sqlstate().code(), "42601");
        assert_eq!(DbError::undefined_table("t").sqlstate().code(), "42P01");
        assert_eq!(DbError::division_by_zero().sqlstate().code(), "22012");
        let io = DbError::io("reading x", std::io::Error::other("boom"));
        assert_eq!(io.sqlstate().code(), "58030");
        assert!(std::error::Error::source(&io).is_some());
    }

    #[test]
    fn retryable_is_class_40_only() {
        assert!(DbError::serialization_failure().is_retryable());
        assert!(!DbError::syntax("x").is_retryable());
        assert!(DbError::syntax("x").is_user_error());
        assert!(!DbError::Corruption("page 3".into()).is_user_error());
    }

    #[test]
    fn detail_is_attached_to_sql_errors() {
        let e = DbError::sql(SqlState::UniqueViolation, "dup").with_detail("Key (id)=(1) already exists.");
        assert_eq!(e.detail(), Some("Key (id)=(1) already exists."));
        assert_eq!(e.to_string(), "dup");
    }
}
