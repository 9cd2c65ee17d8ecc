//! faultline own node.
