//! TODO(render helper): EventBridge's Input, InputPath and InputTransformer.
