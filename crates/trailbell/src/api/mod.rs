//! The EventBridge-compatible API: AWS JSON 1.1 over HTTP (`POST /`, `X-Amz-Target:
//! AWSEvents.<Action>`), SigV4-authenticated, over the [`crate::registry::Registry`]; accepted
//! events go to the service as [`crate::service::Submission`]s. See
//! docs/decisions/0007-eventbridge-api.md.

mod limits;
service_only! {
    mod actions;
    pub mod connections;
    mod error;
    mod replay;
    mod server;
    pub mod sigv4;
}

#[cfg(feature = "service")]
pub use error::AwsError;
pub use limits::HttpLimits;
#[cfg(feature = "service")]
pub use server::{ApiAuth, ApiLimits, ApiState, ServeError, serve, serve_with};
