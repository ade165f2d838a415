//! Log formats for logtally.
//!
//! A [`LogFormat`] is a preset ([`PRESETS`]), an nginx `log_format` string or an
//! Apache `LogFormat` string, compiled into a flat matcher. [`LogFormat::parser`]
//! gives a per-file [`LineParser`] that turns each line into [`Fields`] without
//! allocating in the common case. [`detect`] picks a preset from sample lines.
//!
//! ```
//! use logtally_format::{LogFormat, Parsed};
//! let format = LogFormat::parse("combined").unwrap();
//! let mut parser = format.parser();
//! let line = br#"127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /a.gif HTTP/1.0" 200 2326 "http://example.com/" "Mozilla/4.08""#;
//! let Parsed::Record(f) = parser.parse(line) else { panic!() };
//! assert_eq!(f.host.as_deref(), Some(&b"127.0.0.1"[..]));
//! assert_eq!(f.request.as_deref(), Some(&b"GET /a.gif HTTP/1.0"[..]));
//! ```

mod caddy;
mod dialects;
mod error;
mod fields;
mod format;
mod steps;
mod w3c;

pub use error::FormatError;
pub use fields::{Fields, Parsed, TimeText};
pub use format::{detect, Detection, LineParser, LogFormat, PRESETS};
