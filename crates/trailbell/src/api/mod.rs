//! The EventBridge-compatible API: AWS JSON 1.1 over HTTP (`POST /`, `X-Amz-Target:
//! AWSEvents.<Action>`), SigV4-authenticated, over the [`crate::registry::Registry`]; accepted
//! events go to the service as [`crate::service::Submission`]s. See
//! docs/decisions/0007-eventbridge-api.md.

#[cfg(feature = "service")]
mod actions;
#[cfg(feature = "service")]
pub mod connections;
#[cfg(feature = "service")]
mod error;
mod limits;
#[cfg(feature = "service")]
mod replay;
#[cfg(feature = "service")]
mod server;
#[cfg(feature = "service")]
pub mod sigv4;

#[cfg(feature = "service")]
pub use error::AwsError;
pub use limits::HttpLimits;
#[cfg(feature = "service")]
pub use server::{ApiAuth, ApiLimits, ApiState, ServeError, serve, serve_with};
