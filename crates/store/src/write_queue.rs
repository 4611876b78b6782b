//! SQLite's busy writes, run together: every task hands its write to one queue, and one
//! task runs what has queued up meanwhile in a single transaction.
//!
//! SQLite writes one transaction at a time. Run one by one, each write pays for its own
//! begin and commit, for the log pages its commit writes (the same table and index pages,
//! again and again) and for the hand-offs between the writing task and the connection's
//! thread, while every other writer waits. Together, a batch pays once: under load the
//! queue is never empty, so the batches grow with it.
//!
//! A write that fails in a batch would take the others down with it. When a batch fails,
//! it is rolled back and each of its writes is run again alone, so only the faulty one
//! reports an error. Writes are therefore written to be run again: they own their
//! parameters and build their statements afresh from them on every run.
//!
//! A caller that stops waiting does not stop its write: the queue's task finishes it, so a
//! write is either wholly stored or not at all, never left half-done on the connection.

use std::future::Future;
use std::pin::Pin;

use sqlx::sqlite::{SqliteConnection, SqlitePool};
use sqlx::Connection;
use tokio::sync::{mpsc, oneshot};

/// A write's statements running on the connection it borrows.
pub(crate) type Running<'c, T> = Pin<Box<dyn Future<Output = Result<T, sqlx::Error>> + Send + 'c>>;

/// The most writes run in one transaction; a larger backlog waits for the next one.
const LARGEST_BATCH: usize = 64;

/// How many writes may wait; a caller beyond it waits to queue.
const QUEUE_LENGTH: usize = 1024;

/// Where writes are queued; cloning shares the queue.
#[derive(Clone)]
pub(crate) struct WriteQueue {
    jobs: mpsc::Sender<Box<dyn Job>>,
}

/// One queued write: what it does on the connection, and whom it reports to.
trait Job: Send {
    /// Runs the write on `connection`, inside the batch's transaction, and keeps what it
    /// returned until the batch is committed.
    fn run<'c>(&'c mut self, connection: &'c mut SqliteConnection) -> Running<'c, ()>;

    /// Reports the write's outcome: what it kept once its transaction is committed, or
    /// the error that stopped it.
    fn report(self: Box<Self>, outcome: Result<(), sqlx::Error>);
}

/// A write as the caller gave it: `work` builds and runs its statements from `params`.
struct Queued<P, T, W> {
    params: P,
    work: W,
    kept: Option<T>,
    done: oneshot::Sender<Result<T, sqlx::Error>>,
}

impl<P, T, W> Job for Queued<P, T, W>
where
    P: Send + Sync + 'static,
    T: Send + 'static,
    W: for<'c> Fn(&'c P, &'c mut SqliteConnection) -> Running<'c, T> + Send + Sync + 'static,
{
    fn run<'c>(&'c mut self, connection: &'c mut SqliteConnection) -> Running<'c, ()> {
        Box::pin(async move {
            self.kept = Some((self.work)(&self.params, connection).await?);
            Ok(())
        })
    }

    fn report(self: Box<Self>, outcome: Result<(), sqlx::Error>) {
        let Queued { kept, done, .. } = *self;
        let result = outcome.and_then(|()| {
            kept.ok_or_else(|| sqlx::Error::Protocol("a write reported before it ran".into()))
        });
        // A caller that stopped waiting has nothing to hear; its write is stored anyway.
        let _ = done.send(result);
    }
}

impl WriteQueue {
    /// Starts the task that runs the writes, on `writer`'s connection.
    pub(crate) fn start(writer: SqlitePool) -> WriteQueue {
        let (jobs, queued) = mpsc::channel(QUEUE_LENGTH);
        tokio::spawn(serve(writer, queued));
        WriteQueue { jobs }
    }

    /// Queues `work` on `params` and waits for its outcome. `work` runs inside a
    /// transaction it must not end, and may run more than once (see the module's notes).
    pub(crate) async fn write<P, T, W>(&self, params: P, work: W) -> Result<T, sqlx::Error>
    where
        P: Send + Sync + 'static,
        T: Send + 'static,
        W: for<'c> Fn(&'c P, &'c mut SqliteConnection) -> Running<'c, T> + Send + Sync + 'static,
    {
        let (done, outcome) = oneshot::channel();
        let job = Box::new(Queued {
            params,
            work,
            kept: None,
            done,
        });
        // The queue's task ends only with the runtime that started it.
        let stopped = || sqlx::Error::WorkerCrashed;
        self.jobs.send(job).await.map_err(|_| stopped())?;
        outcome.await.map_err(|_| stopped())?
    }
}

/// Runs batches until every queue handle is gone.
async fn serve(writer: SqlitePool, mut queued: mpsc::Receiver<Box<dyn Job>>) {
    let mut batch = Vec::with_capacity(LARGEST_BATCH);
    while queued.recv_many(&mut batch, LARGEST_BATCH).await > 0 {
        run_batch(&writer, std::mem::take(&mut batch)).await;
    }
}

async fn run_batch(writer: &SqlitePool, mut batch: Vec<Box<dyn Job>>) {
    match run_together(writer, &mut batch).await {
        Ok(()) => {
            for job in batch {
                job.report(Ok(()));
            }
        }
        Err(err) if batch.len() == 1 => {
            if let Some(job) = batch.pop() {
                job.report(Err(err));
            }
        }
        Err(err) => {
            // One write failed and took the batch with it: each again on its own.
            let writes = batch.len();
            tracing::debug!(%err, writes, "a batch of writes failed; running each alone");
            for mut job in batch {
                let outcome = run_together(writer, std::slice::from_mut(&mut job)).await;
                job.report(outcome);
            }
        }
    }
}

/// Runs `batch` in one transaction, committed only if every write succeeded.
async fn run_together(writer: &SqlitePool, batch: &mut [Box<dyn Job>]) -> Result<(), sqlx::Error> {
    let mut connection = writer.acquire().await?;
    let mut transaction = connection.begin_with("BEGIN IMMEDIATE").await?;
    for job in batch.iter_mut() {
        job.run(&mut transaction).await?;
    }
    transaction.commit().await
}
