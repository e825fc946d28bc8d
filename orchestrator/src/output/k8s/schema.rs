//! Validation of manifests against the Kubernetes JSON schemas of the export's API version
//! (`tests/k8s-schema/`, whose README says where they come from), offline.

use std::path::{Path, PathBuf};

use jsonschema::{Registry, Validator};
use serde_json::Value;

/// Where the kinds' schemas find the shared definitions (against their `$id`).
const DEFINITIONS_URI: &str = "https://kubernetes.io/api/_definitions.json";

/// Each kind the export writes: its `apiVersion`, `kind` and schema file.
const KINDS: [(&str, &str, &str); 5] = [
    ("v1", "Namespace", "namespace-v1.json"),
    ("v1", "ConfigMap", "configmap-v1.json"),
    ("v1", "Service", "service-v1.json"),
    ("v1", "Pod", "pod-v1.json"),
    ("apps/v1", "DaemonSet", "daemonset-apps-v1.json"),
];

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/k8s-schema")
}

fn read(name: &str) -> Value {
    let path = dir().join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path:?}: {e}"))
}

/// The validators of the kinds the export writes.
pub(super) struct Schemas {
    validators: Vec<(&'static str, &'static str, Validator)>,
}

impl Schemas {
    /// Compiles every kind's schema with the shared definitions registered.
    pub(super) fn load() -> Schemas {
        let registry = Registry::new()
            .add(DEFINITIONS_URI, read("_definitions.json"))
            .expect("definitions register")
            .prepare()
            .expect("definitions resolve");
        let validators = KINDS
            .iter()
            .map(|&(api, kind, file)| {
                let validator = jsonschema::options()
                    .with_registry(&registry)
                    .build(&read(file))
                    .unwrap_or_else(|e| panic!("{file}: {e}"));
                (api, kind, validator)
            })
            .collect();
        Schemas { validators }
    }

    /// What is wrong with `object` against its kind's schema, one line each (empty when it
    /// is valid); an object of a kind the export does not write is wrong too.
    pub(super) fn problems(&self, object: &Value) -> Vec<String> {
        let api = object["apiVersion"].as_str().unwrap_or_default();
        let kind = object["kind"].as_str().unwrap_or_default();
        let Some((_, _, validator)) = self
            .validators
            .iter()
            .find(|(a, k, _)| *a == api && *k == kind)
        else {
            return vec![format!("no schema for apiVersion {api:?} kind {kind:?}")];
        };
        validator
            .iter_errors(object)
            .map(|e| format!("{kind} {}: {e}", e.instance_path()))
            .collect()
    }
}
