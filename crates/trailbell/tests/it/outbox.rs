//! The outbox's store and `trailbell outbox status|list|retry|purge` through the real binary. Row
//! states that only delivery produces (dead, delivered) are set with SQL here; tests/it/delivery.rs
//! produces them by delivering.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;
use trailbell::outbox::{
    ListFilter, MessageAttributes, MessageState, NewMessage, Outbox, OutboxError, PurgeSelection,
    RetrySelection, enqueue, idempotency_key, now_ms,
};
use trailbell::targets::RetryPolicy;

fn message(destination: &str, event: &str) -> NewMessage {
    NewMessage {
        destination: destination.to_owned(),
        rule_name: "root-sign-in".to_owned(),
        target_id: "alerts".to_owned(),
        event_id: event.to_owned(),
        idempotency_key: idempotency_key(event, "root-sign-in", destination),
        payload: r#"{"text":"alert"}"#.to_owned(),
        attributes: MessageAttributes::default(),
        retry_policy: RetryPolicy::default(),
        dead_letter_queue_url: None,
        accepted_at_ms: now_ms(),
    }
}

struct Store {
    dir: tempfile::TempDir,
    outbox: Outbox,
}

impl Store {
    fn new() -> Store {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let outbox = Outbox::open(&dir.path().join(trailbell::store::FILE_NAME)).expect("a store");
        Store { dir, outbox }
    }

    fn path(&self) -> PathBuf {
        self.dir.path().join(trailbell::store::FILE_NAME)
    }

    /// Sets rows' state (and, for dead ones, an error and attempts) as delivery would.
    fn set_state(&self, ids: &[i64], state: &str) {
        let connection = rusqlite::Connection::open(self.path()).expect("open the store");
        for id in ids {
            connection
                .execute(
                    "UPDATE outbox SET state = ?2, attempts = 3, finished_at_ms = ?3,
                        last_error = CASE WHEN ?2 = 'dead' THEN 'HTTP_400: answered 400' END
                     WHERE id = ?1",
                    rusqlite::params![id, state, now_ms() - 10 * 86_400_000],
                )
                .expect("update");
        }
    }

    /// Enqueues `count` messages for `destination`; their ids.
    fn fill(&mut self, destination: &str, count: usize) -> Vec<i64> {
        let messages: Vec<NewMessage> = (0..count)
            .map(|n| message(destination, &format!("{destination}-event-{n}")))
            .collect();
        assert_eq!(self.outbox.enqueue(&messages).expect("enqueue"), count);
        messages
            .iter()
            .map(|m| {
                self.outbox
                    .get_by_key(&m.idempotency_key)
                    .expect("read")
                    .expect("the row")
                    .id
            })
            .collect()
    }
}

fn run(args: &[&str], data_dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_trailbell"))
        .arg("outbox")
        .args(args)
        .arg("--data-dir")
        .arg(data_dir)
        .output()
        .expect("trailbell runs")
}

fn json(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|err| {
        panic!(
            "stdout is JSON ({err}): {}",
            String::from_utf8_lossy(&output.stdout)
        )
    })
}

#[test]
fn enqueue_ignores_a_second_message_with_the_same_idempotency_key() {
    let mut store = Store::new();
    let first = message("slack", "event-1");
    let mut again = first.clone();
    again.payload = "a different rendering".to_owned();
    assert_eq!(
        store
            .outbox
            .enqueue(std::slice::from_ref(&first))
            .expect("enqueue"),
        1
    );
    assert_eq!(store.outbox.enqueue(&[again]).expect("enqueue"), 0);
    let rows = store.outbox.list(&ListFilter::default()).expect("list");
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].idempotency_key, first.idempotency_key);
    assert_eq!(rows[0].state, MessageState::Pending);
}

#[test]
fn enqueue_commits_or_rolls_back_with_the_callers_transaction() {
    let store = Store::new();
    let mut connection = trailbell::store::open(&store.path()).expect("open");
    connection
        .execute_batch("CREATE TABLE cursor (position INTEGER)")
        .expect("the caller's table");
    {
        let tx = connection.transaction().expect("tx");
        tx.execute("INSERT INTO cursor VALUES (1)", [])
            .expect("caller state");
        assert_eq!(enqueue(&tx, &[message("slack", "e1")]).expect("enqueue"), 1);
        // Dropped without commit: neither the cursor nor the alert is stored.
    }
    assert!(store.outbox.status().expect("status").is_empty());
    let tx = connection.transaction().expect("tx");
    tx.execute("INSERT INTO cursor VALUES (2)", [])
        .expect("caller state");
    enqueue(&tx, &[message("slack", "e2")]).expect("enqueue");
    tx.commit().expect("commit");
    let status = store.outbox.status().expect("status");
    assert_eq!(status.len(), 1);
    assert_eq!(status[0].pending, 1);
}

#[test]
fn enqueue_rejects_retry_policies_outside_eventbridges_ranges() {
    let mut store = Store::new();
    for (attempts, age) in [(186, 3600), (3, 59), (3, 86_401)] {
        let mut bad = message("slack", "event");
        bad.retry_policy = RetryPolicy {
            maximum_retry_attempts: attempts,
            maximum_event_age_seconds: age,
        };
        assert!(matches!(
            store.outbox.enqueue(&[bad]),
            Err(OutboxError::InvalidRetryPolicy { .. })
        ));
    }
    assert!(store.outbox.status().expect("status").is_empty());
}

#[test]
fn status_counts_per_destination_and_exits_1_with_dead_letters() {
    let mut store = Store::new();
    let slack = store.fill("slack", 3);
    store.fill("sqs", 2);

    let output = run(&["status", "--format", "json"], store.dir.path());
    assert_eq!(output.status.code(), Some(0), "no dead letters yet");
    let status = json(&output);
    assert_eq!(status[0]["destination"], "slack");
    assert_eq!(status[0]["pending"], 3);
    assert_eq!(status[1]["destination"], "sqs");
    assert_eq!(status[1]["pending"], 2);

    store.set_state(&slack[..1], "dead");
    store.set_state(&slack[1..2], "delivered");
    let output = run(&["status"], store.dir.path());
    assert_eq!(output.status.code(), Some(1));
    let table = String::from_utf8_lossy(&output.stdout);
    let line = table
        .lines()
        .find(|line| line.starts_with("slack"))
        .expect("a line for slack");
    let counts: Vec<&str> = line.split_whitespace().collect();
    // destination, pending, in flight, delivered, dead, oldest pending
    assert_eq!(&counts[..5], ["slack", "1", "0", "1", "1"]);
}

#[test]
fn list_filters_by_state_and_destination_without_payloads() {
    let mut store = Store::new();
    let slack = store.fill("slack", 3);
    store.fill("sqs", 1);
    store.set_state(&slack[..2], "dead");

    let output = run(
        &["list", "--state", "dead", "--format", "json"],
        store.dir.path(),
    );
    assert_eq!(output.status.code(), Some(0));
    let rows = json(&output);
    let rows = rows.as_array().expect("an array");
    assert_eq!(rows.len(), 2);
    for row in rows {
        assert_eq!(row["state"], "dead");
        assert_eq!(row["destination"], "slack");
        assert_eq!(row["attempts"], 3);
        assert_eq!(row["last_error"], "HTTP_400: answered 400");
        assert!(row.get("payload").is_none());
    }
    let output = run(&["list", "--destination", "sqs"], store.dir.path());
    let table = String::from_utf8_lossy(&output.stdout);
    assert_eq!(table.lines().count(), 2, "{table}");
    assert!(table.lines().nth(1).is_some_and(|l| l.contains("sqs")));
}

#[test]
fn list_counts_a_dead_letters_retries_as_its_attempts_after_the_first() {
    let mut store = Store::new();
    let slack = store.fill("slack", 1);
    // Three attempts: the first and two retries, as `MaximumRetryAttempts = 2` allows.
    store.set_state(&slack, "dead");
    let output = run(&["list", "--format", "json"], store.dir.path());
    let rows = json(&output);
    assert_eq!(rows[0]["attempts"], 3, "{rows}");
    assert_eq!(rows[0]["retries"], 2, "{rows}");
    let output = run(&["list"], store.dir.path());
    let table = String::from_utf8_lossy(&output.stdout);
    let header: Vec<&str> = table.lines().next().unwrap_or("").split("  ").collect();
    let row: Vec<&str> = table
        .lines()
        .nth(1)
        .unwrap_or("")
        .split_whitespace()
        .collect();
    let retries = header
        .iter()
        .filter(|cell| !cell.is_empty())
        .position(|cell| cell.trim() == "RETRIES")
        .unwrap_or_else(|| panic!("a RETRIES column: {table}"));
    assert_eq!(row.get(retries), Some(&"2"), "{table}");
}

#[test]
fn retry_makes_dead_letters_pending_with_attempts_reset() {
    let mut store = Store::new();
    let slack = store.fill("slack", 3);
    let sqs = store.fill("sqs", 1);
    store.set_state(&slack, "dead");
    store.set_state(&sqs, "dead");

    let output = run(&["retry", &slack[0].to_string()], store.dir.path());
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(
        String::from_utf8_lossy(&output.stdout).trim(),
        "retried 1 row"
    );
    let row = store.outbox.get(slack[0]).expect("read").expect("row");
    assert_eq!(row.state, MessageState::Pending);
    assert_eq!(row.attempts, 0);
    assert!(row.next_attempt_at_ms <= now_ms());

    let output = run(
        &[
            "retry",
            "--all-dead",
            "--destination",
            "slack",
            "--format",
            "json",
        ],
        store.dir.path(),
    );
    assert_eq!(json(&output)["retried"], 2);
    assert_eq!(
        store.outbox.get(sqs[0]).expect("read").expect("row").state,
        MessageState::Dead
    );
    // Nothing dead is left for slack: a negative answer.
    let output = run(
        &["retry", "--all-dead", "--destination", "slack"],
        store.dir.path(),
    );
    assert_eq!(output.status.code(), Some(1));
    // A pending row is not retried by id.
    assert_eq!(
        store
            .outbox
            .retry(&RetrySelection::Ids(vec![slack[1]]))
            .expect("retry"),
        0
    );
}

#[test]
fn purge_deletes_dead_letters_old_deliveries_and_rows_by_id() {
    let mut store = Store::new();
    let ids = store.fill("slack", 5);
    store.set_state(&ids[..2], "dead");
    store.set_state(&ids[2..3], "delivered"); // finished ten days ago

    let output = run(
        &["purge", "--delivered-older-than", "1day"],
        store.dir.path(),
    );
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(
        String::from_utf8_lossy(&output.stdout).trim(),
        "purged 1 row"
    );
    assert!(store.outbox.get(ids[2]).expect("read").is_none());

    let output = run(&["purge", "--dead"], store.dir.path());
    assert_eq!(
        String::from_utf8_lossy(&output.stdout).trim(),
        "purged 2 rows"
    );
    let output = run(&["purge", &ids[3].to_string()], store.dir.path());
    assert_eq!(output.status.code(), Some(0));
    let left: Vec<i64> = store
        .outbox
        .list(&ListFilter::default())
        .expect("list")
        .iter()
        .map(|row| row.id)
        .collect();
    assert_eq!(left, vec![ids[4]]);
    // Recent deliveries stay.
    store.set_state(&ids[4..], "delivered");
    assert_eq!(
        store
            .outbox
            .purge(&PurgeSelection::DeliveredBefore(now_ms() - 20 * 86_400_000))
            .expect("purge"),
        0
    );
}

#[test]
fn a_data_dir_without_a_store_is_an_error() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let output = run(&["status"], dir.path());
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("no outbox store"));
    assert!(!dir.path().join(trailbell::store::FILE_NAME).exists());
}
