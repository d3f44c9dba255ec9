//! The HTTP server's limits, as configured (`[service.http]`); apart from the server so that
//! `validate` reads them in a build without one.

use std::time::Duration;

/// The server's limits; see the module's documentation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HttpLimits {
    /// Open connections at most.
    pub max_connections: usize,
    /// How long a request's head may take, from its first byte.
    pub header_read_timeout: Duration,
    /// How long a connection may wait for its next request.
    pub idle_timeout: Duration,
    /// How long requests in flight may take to finish once shutdown begins.
    pub shutdown_timeout: Duration,
}

impl Default for HttpLimits {
    fn default() -> Self {
        HttpLimits {
            max_connections: 1024,
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            shutdown_timeout: Duration::from_secs(10),
        }
    }
}
