//! TODO(render helper)
