//! TODO(outbox helper)
