//! Collection: every node's events file, read whole once the nodes have stopped (also
//! the files of nodes that died: what a node wrote is in its file), merged in time order.

use lab_events::Record;

use super::events_dir::EventsDir;
use super::follow::Follower;
use crate::error::Error;

/// Bytes read from a file at once.
const READ: usize = 4 << 20;

/// Every record in the events files of `nodes`, sorted by time. Lines that are not
/// records, lines too long to be one and unterminated last lines (a write cut short by
/// SIGKILL) are counted in a warning.
pub(super) async fn collect(events: &EventsDir, nodes: &[String]) -> Result<Vec<Record>, Error> {
    let paths: Vec<_> = nodes.iter().map(|n| events.host_file(n)).collect();
    // Tens of megabytes at 100 nodes: read off the runtime's threads.
    tokio::task::spawn_blocking(move || {
        let mut records = Vec::new();
        let mut bad = Tally::default();
        for path in &paths {
            read_file(&mut Follower::new(path), &mut records, &mut bad)?;
        }
        bad.warn();
        records.sort_by_key(|r| r.ts_ns);
        Ok(records)
    })
    .await
    .map_err(|e| Error::Infra(format!("read the events files: {e}")))?
}

/// Lines of the events files that gave no record.
#[derive(Debug, Default, PartialEq, Eq)]
struct Tally {
    not_records: usize,
    too_long: usize,
    unterminated: usize,
}

impl Tally {
    fn warn(&self) {
        if self.not_records > 0 {
            eprintln!(
                "warning: {} lines of the events files were not event records",
                self.not_records
            );
        }
        if self.too_long > 0 {
            eprintln!(
                "warning: {} lines of the events files were too long to be records",
                self.too_long
            );
        }
        if self.unterminated > 0 {
            eprintln!(
                "warning: {} events files ended in an unfinished line (a node killed while writing)",
                self.unterminated
            );
        }
    }
}

/// Adds every record of the followed file to `records`, counting the lines that are not.
fn read_file(f: &mut Follower, records: &mut Vec<Record>, bad: &mut Tally) -> Result<(), Error> {
    loop {
        let new = f.read_new(READ)?;
        for line in &new.lines {
            match Record::parse(line) {
                Ok(r) => records.push(r),
                Err(_) => bad.not_records += 1,
            }
        }
        if !new.more {
            break;
        }
    }
    bad.too_long += f.skipped();
    bad.unterminated += usize::from(f.unterminated().is_some());
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use lab_events::Event;

    use super::*;

    fn line(ts_ns: u64) -> String {
        let mut l = Record {
            ts_ns,
            node: "n".into(),
            event: Event::PublishFailed {
                seq: ts_ns,
                reason: "r".into(),
            },
        }
        .to_line();
        l.push('\n');
        l
    }

    #[test]
    fn a_file_gives_its_records_and_counts_what_is_not_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("n.jsonl");
        let torn = line(3);
        let text = format!("{}oops\n{}{}", line(1), line(2), &torn[..torn.len() / 2]);
        std::fs::write(&path, text).unwrap();
        let (mut records, mut bad) = (Vec::new(), Tally::default());
        read_file(&mut Follower::new(&path), &mut records, &mut bad).unwrap();
        let ts: Vec<u64> = records.iter().map(|r| r.ts_ns).collect();
        assert_eq!(ts, [1, 2]);
        assert_eq!(
            bad,
            Tally {
                not_records: 1,
                too_long: 0,
                unterminated: 1
            }
        );
    }

    #[tokio::test]
    async fn the_files_of_every_node_are_merged_in_time_order() {
        let reports = tempfile::tempdir().unwrap();
        let events = EventsDir::create(reports.path(), "r", ["a", "b", "c"]).unwrap();
        std::fs::write(events.host_file("a"), format!("{}{}", line(1), line(4))).unwrap();
        std::fs::write(events.host_file("b"), format!("{}{}", line(2), line(3))).unwrap();
        let nodes = ["a", "b", "c"].map(String::from);
        let records = collect(&events, &nodes).await.unwrap();
        let ts: Vec<u64> = records.iter().map(|r| r.ts_ns).collect();
        assert_eq!(ts, [1, 2, 3, 4]);
    }
}
