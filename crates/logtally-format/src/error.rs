//! Errors in format specifications.

/// Why a format specification was rejected.
///
/// ```
/// use logtally_format::LogFormat;
/// let e = LogFormat::nginx("$remote_addr $foo").unwrap_err();
/// assert_eq!(e.to_string(), "unknown nginx variable `$foo` at byte 13");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormatError {
    /// Not a preset name (and no `$` / `%` to make it a format string).
    #[error("unknown preset `{name}` (known: {known})")]
    UnknownPreset {
        /// The name given.
        name: String,
        /// The known presets, comma separated.
        known: String,
    },
    /// An nginx variable that nginx does not define (or that cannot be logged).
    #[error("unknown nginx variable `${name}` at byte {pos}")]
    UnknownNginxVariable {
        /// Variable name, without `$`.
        name: String,
        /// Byte offset of the `$`.
        pos: usize,
    },
    /// An Apache directive that is not supported.
    #[error("Apache directive `{directive}` at byte {pos} is not supported")]
    UnsupportedApacheDirective {
        /// The directive as written, e.g. `%Z`.
        directive: String,
        /// Byte offset of the `%`.
        pos: usize,
    },
    /// Malformed syntax in a format string.
    #[error("{dialect} format: {message} at byte {pos}")]
    Syntax {
        /// `nginx` or `Apache`.
        dialect: &'static str,
        /// What is wrong.
        message: &'static str,
        /// Byte offset.
        pos: usize,
    },
    /// Two fields with no literal text between them: where one ends is unknowable.
    #[error("`{first}` and `{second}` at byte {pos} are adjacent with no literal text between them, so where one ends is ambiguous")]
    AdjacentFields {
        /// The first field as written.
        first: String,
        /// The second field as written.
        second: String,
        /// Byte offset of the second field.
        pos: usize,
    },
    /// The format has no field at all.
    #[error("format `{0}` has no field")]
    NoField(String),
}
