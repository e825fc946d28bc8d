//! The labels every resource the lab creates carries, so that it can be found and
//! removed by label.

use std::collections::HashMap;

/// Set (to `"1"`) on every container, network and image the lab creates.
pub const LABEL_LAB: &str = "meshlab";
/// The run a container or network belongs to.
pub const LABEL_RUN: &str = "meshlab.run";
/// A container's role in its run (e.g. `honest`, `shaper`, `nat`).
pub const LABEL_ROLE: &str = "meshlab.role";
/// The node a container (or an exported node's objects) is.
pub const LABEL_NODE: &str = "meshlab.node";
/// The content hash an image was built from.
pub const LABEL_CONTEXT: &str = "meshlab.context";

/// The labels of a resource belonging to `run_id`.
pub(crate) fn run_labels(run_id: &str) -> HashMap<String, String> {
    HashMap::from([
        (LABEL_LAB.to_owned(), "1".to_owned()),
        (LABEL_RUN.to_owned(), run_id.to_owned()),
    ])
}

/// An engine list filter selecting resources with `key=value`.
pub(crate) fn label_filter(key: &str, value: &str) -> HashMap<String, Vec<String>> {
    HashMap::from([("label".to_owned(), vec![format!("{key}={value}")])])
}
