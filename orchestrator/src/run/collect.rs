//! Collection: every node's complete event stream (also from containers that died),
//! merged in time order.

use futures::{StreamExt, TryStreamExt};
use lab_events::Record;

use super::{CONCURRENCY, infra};
use crate::docker::{DockerRunner, LogSource};
use crate::error::Error;

/// Every record the containers `ids` wrote to stdout, sorted by time; lines that are not
/// records are counted in a warning.
pub(super) async fn collect(runner: &DockerRunner, ids: &[String]) -> Result<Vec<Record>, Error> {
    let streams: Vec<Vec<String>> = futures::stream::iter(ids)
        .map(|id| runner.collect_logs(id, LogSource::Stdout))
        .buffer_unordered(CONCURRENCY)
        .try_collect()
        .await
        .map_err(infra)?;
    let mut records = Vec::new();
    let mut bad = 0usize;
    for line in streams.iter().flatten() {
        match Record::parse(line) {
            Ok(r) => records.push(r),
            Err(_) => bad += 1,
        }
    }
    if bad > 0 {
        eprintln!("warning: {bad} output lines were not event records");
    }
    records.sort_by_key(|r| r.ts_ns);
    Ok(records)
}
