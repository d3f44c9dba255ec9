//! TODO(api helper): the EventBridge-compatible API.
