//! Command line: a TOML config (file or environment) with per-field flag overrides.

use std::path::{Path, PathBuf};

use clap::Parser;
use lab_config::bounds::{MAX_NODE_MILLIS, MAX_THREADS};

use crate::config::{ConfigError, NodeConfig, Role, TrafficConfig};

/// A libp2p gossip node with ML-DSA-signed messages. Writes one JSON event per line to
/// stdout (or to the file `--events` names) and human-readable logs to stderr (level from
/// RUST_LOG, default info).
#[derive(Debug, Parser)]
#[command(name = "meshnode", version)]
pub struct Args {
    /// TOML config file (see README for every field).
    #[arg(long, env = "MESHNODE_CONFIG")]
    pub config: Option<PathBuf>,
    /// TOML config as text; used when --config is not given (how containers are configured).
    #[arg(long, env = "MESHNODE_CONFIG_TOML", hide_env_values = true)]
    pub config_toml: Option<String>,
    /// Node name written into every event.
    #[arg(long)]
    pub name: Option<String>,
    /// Role: honest or invalid-signature.
    #[arg(long, value_enum)]
    pub role: Option<RoleArg>,
    /// Listen multiaddr (repeatable); replaces the config's list.
    #[arg(long)]
    pub listen: Vec<String>,
    /// Bootstrap multiaddr to dial (repeatable); added to the config's list.
    #[arg(long)]
    pub bootstrap: Vec<String>,
    /// ML-DSA level: 44, 65 or 87.
    #[arg(long)]
    pub mldsa_level: Option<u16>,
    /// Enable mDNS discovery.
    #[arg(long)]
    pub mdns: bool,
    /// Port of the Prometheus /metrics endpoint (0 disables it).
    #[arg(long)]
    pub metrics_port: Option<u16>,
    /// Publish this many messages per second (enables built-in traffic).
    #[arg(long)]
    pub publish_rate: Option<f64>,
    /// Number of messages to publish (with --publish-rate); absent: until stopped.
    #[arg(long)]
    pub publish_count: Option<u64>,
    /// Payload size in bytes (with --publish-rate).
    #[arg(long, default_value_t = 1024)]
    pub publish_size: usize,
    /// Delay before the first publish, in milliseconds (with --publish-rate; at most a day).
    #[arg(long, default_value_t = 5000, value_parser = clap::value_parser!(u64).range(0..=MAX_NODE_MILLIS))]
    pub publish_after_ms: u64,
    /// Append the event records to this file instead of writing them to stdout.
    #[arg(long)]
    pub events: Option<PathBuf>,
    /// Runtime worker threads (1: a single-threaded runtime; at most 64).
    #[arg(long, env = "MESHNODE_THREADS", default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=MAX_THREADS as i64))]
    pub threads: u16,
}

/// Roles as accepted on the command line.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum RoleArg {
    /// Follows the protocol.
    Honest,
    /// Publishes envelopes whose signatures do not verify.
    InvalidSignature,
}

impl Args {
    /// The effective configuration: file or environment TOML, then flags on top.
    ///
    /// Problems in the TOML are located in it; a problem caused by a flag names the flag.
    pub fn resolve(&self) -> Result<NodeConfig, ConfigError> {
        let mut c = match (&self.config, &self.config_toml) {
            (Some(path), _) => NodeConfig::from_file(path).map_err(ConfigError::Invalid)?,
            (None, Some(text)) => NodeConfig::from_toml(text, Path::new("MESHNODE_CONFIG_TOML"))
                .map_err(ConfigError::Invalid)?,
            (None, None) => NodeConfig::default(),
        };
        let own_bootstrap = c.bootstrap.len();
        if let Some(n) = &self.name {
            c.name = Some(n.clone());
        }
        if let Some(r) = self.role {
            c.role = match r {
                RoleArg::Honest => Role::Honest,
                RoleArg::InvalidSignature => Role::InvalidSignature,
            };
        }
        if !self.listen.is_empty() {
            c.listen = self.listen.clone();
        }
        c.bootstrap.extend(self.bootstrap.iter().cloned());
        if let Some(l) = self.mldsa_level {
            c.mldsa_level = l;
        }
        if self.mdns {
            c.mdns = true;
        }
        if let Some(p) = self.metrics_port {
            c.metrics_port = p;
        }
        if let Some(path) = &self.events {
            c.events = Some(path.clone());
        }
        if let Some(rate) = self.publish_rate {
            c.traffic = Some(TrafficConfig {
                start_at_ms: Some(
                    (lab_events::now_ns() / 1_000_000).saturating_add(self.publish_after_ms),
                ),
                delay_ms: 0,
                rate_per_sec: rate,
                size: self.publish_size,
                count: self.publish_count,
            });
        }
        match c.check().into_iter().next() {
            None => Ok(c),
            Some(p) => Err(ConfigError::Flag {
                flag: self.flag_of(&p.field.to_string(), own_bootstrap),
                message: p.message,
            }),
        }
    }

    /// The flag that set `field`, for a problem found after the flags were applied (the
    /// TOML alone was valid, so a flag caused it).
    fn flag_of(&self, field: &str, own_bootstrap: usize) -> String {
        let flag = match field {
            "name" => "--name",
            "mldsa_level" => "--mldsa-level",
            "traffic.rate_per_sec" => "--publish-rate",
            "traffic.size" => "--publish-size",
            "traffic.count" => "--publish-count",
            "traffic.start_at_ms" => "--publish-after-ms",
            "events" if self.events.is_some() => "--events",
            f if f.starts_with("listen") && !self.listen.is_empty() => "--listen",
            f if f.starts_with("bootstrap[") => {
                let i: usize = f["bootstrap[".len()..]
                    .trim_end_matches(']')
                    .parse()
                    .unwrap_or(0);
                return match i
                    .checked_sub(own_bootstrap)
                    .and_then(|k| self.bootstrap.get(k))
                {
                    Some(addr) => format!("--bootstrap {addr}"),
                    None => format!("field `{f}`"),
                };
            }
            other => return format!("field `{other}`"),
        };
        flag.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_override_the_toml() {
        let args = Args::parse_from([
            "meshnode",
            "--config-toml",
            "mldsa_level = 44\nmetrics_port = 1",
            "--metrics-port",
            "0",
            "--role",
            "invalid-signature",
            "--bootstrap",
            "/ip4/127.0.0.1/tcp/1",
        ]);
        let c = args.resolve().expect("valid");
        assert_eq!(c.mldsa_level, 44);
        assert_eq!(c.metrics_port, 0);
        assert_eq!(c.role, Role::InvalidSignature);
        assert_eq!(c.bootstrap, vec!["/ip4/127.0.0.1/tcp/1".to_string()]);
        assert_eq!(c.events, None);
        let args = Args::parse_from([
            "meshnode",
            "--config-toml",
            "events = \"/a.jsonl\"",
            "--events",
            "/b.jsonl",
        ]);
        assert_eq!(
            args.resolve().expect("valid").events,
            Some("/b.jsonl".into())
        );
    }

    #[test]
    fn a_bad_events_flag_is_named() {
        let args = Args::parse_from(["meshnode", "--events", "/events/"]);
        let e = args.resolve().expect_err("a directory");
        assert!(e.to_string().starts_with("accept --events: "), "{e}");
    }

    #[test]
    fn bad_level_flag_is_an_error_not_a_panic() {
        let args = Args::parse_from(["meshnode", "--mldsa-level", "12"]);
        assert!(args.resolve().is_err());
    }
}
