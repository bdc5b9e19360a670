//! One SQLite file (bundled SQLite, WAL mode) shared by the embedded documents and queues.
//! rusqlite is synchronous, so every call runs on the blocking pool, never on the runtime.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rusqlite::Connection;

use crate::store::{StoreError, StoreResult};

/// Opened on first use, like the Azure clients: creating the file and its schema costs a few
/// fsyncs that a cold start should not wait for.
#[derive(Clone)]
pub struct Sqlite {
    path: Arc<PathBuf>,
    conn: Arc<Mutex<Option<Connection>>>,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS docs (
    container  TEXT NOT NULL,
    pk         TEXT NOT NULL,
    id         TEXT NOT NULL,
    body       TEXT NOT NULL,
    etag       TEXT NOT NULL,
    expires_at INTEGER,
    PRIMARY KEY (container, pk, id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS docs_expiry ON docs (expires_at) WHERE expires_at IS NOT NULL;
CREATE TABLE IF NOT EXISTS queue_messages (
    queue          TEXT NOT NULL,
    id             TEXT NOT NULL PRIMARY KEY,
    body           TEXT NOT NULL,
    inserted_at    INTEGER NOT NULL,
    expires_at     INTEGER NOT NULL,
    visible_at     INTEGER NOT NULL,
    dequeue_count  INTEGER NOT NULL DEFAULT 0,
    pop_receipt    TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS queue_visible ON queue_messages (queue, visible_at);
";

fn connect(path: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open(path)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    conn.execute_batch(SCHEMA)?;
    Ok(conn)
}

impl Sqlite {
    pub fn open(path: &Path) -> Self {
        Self {
            path: Arc::new(path.to_owned()),
            conn: Arc::new(Mutex::new(None)),
        }
    }

    /// Runs `f` with the connection on the blocking pool. One connection behind a mutex
    /// serialises writers, which is what SQLite does anyway, and makes every closure atomic
    /// with respect to the others.
    pub async fn run<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> StoreResult<T> + Send + 'static,
    {
        let conn = self.conn.clone();
        let path = self.path.clone();
        tokio::task::spawn_blocking(move || {
            let mut guard = conn.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            if guard.is_none() {
                let opened = connect(&path).map_err(|e| {
                    StoreError::Unavailable(anyhow::anyhow!("opening {}: {e}", path.display()))
                })?;
                *guard = Some(opened);
            }
            f(guard.as_mut().expect("opened above"))
        })
        .await
        .map_err(|e| StoreError::Other(e.into()))?
    }
}

/// A statement meant to touch one row: none touched means the row (or receipt) is not there.
pub fn one_row(changed: usize) -> StoreResult<()> {
    if changed == 0 {
        Err(StoreError::NotFound)
    } else {
        Ok(())
    }
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        match e {
            rusqlite::Error::SqliteFailure(err, _)
                if err.code == rusqlite::ErrorCode::ConstraintViolation =>
            {
                StoreError::Conflict
            }
            rusqlite::Error::SqliteFailure(err, _)
                if matches!(
                    err.code,
                    rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked
                ) =>
            {
                StoreError::Unavailable(e.into())
            }
            other => StoreError::Other(other.into()),
        }
    }
}
