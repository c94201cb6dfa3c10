//! The threads that fetch records ahead of a paging client.
//!
//! Read-ahead is CPU work (decompressing record blocks, indexing and rendering records) that no
//! request waits for. On the async runtime's workers it competed with the requests themselves: a
//! task spawned from a request handler runs on that handler's worker, after it (Tokio keeps the
//! newest task in a slot other workers cannot steal from), so page after page the answer, the
//! client and the read-ahead took turns on one core while the other idled. On their own threads
//! the operating system runs them on whichever core is free.
//!
//! The queue is bounded: when it is full a lookup simply does not read ahead, and the pages it
//! would have prepared are fetched when asked for.

use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex};

type Job = Box<dyn FnOnce() + Send>;

pub(crate) struct ReadAheadPool {
    queue: SyncSender<Job>,
}

impl ReadAheadPool {
    /// `threads` workers sharing a queue of at most `queued` jobs. The workers end when the pool
    /// is dropped (after finishing the jobs already queued).
    pub fn new(threads: usize, queued: usize) -> std::io::Result<Self> {
        let (queue, jobs) = sync_channel::<Job>(queued);
        let jobs = Arc::new(Mutex::new(jobs));
        for i in 0..threads.max(1) {
            let jobs = jobs.clone();
            std::thread::Builder::new()
                .name(format!("cairn-readahead-{i}"))
                .spawn(move || work(&jobs))?;
        }
        Ok(ReadAheadPool { queue })
    }

    /// Queues `job`; false (and `job` dropped unrun) when the queue is full.
    pub fn try_submit(&self, job: impl FnOnce() + Send + 'static) -> bool {
        match self.queue.try_send(Box::new(job)) {
            Ok(()) => true,
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => false,
        }
    }
}

fn work(jobs: &Mutex<Receiver<Job>>) {
    loop {
        // The lock is held only while waiting for the next job, not while running it.
        let job = match jobs.lock() {
            Ok(rx) => rx.recv(),
            Err(_) => return,
        };
        match job {
            // A job that panics loses its fetch, not the thread.
            Ok(job) => {
                if std::panic::catch_unwind(std::panic::AssertUnwindSafe(job)).is_err() {
                    tracing::error!("a lookup read-ahead job panicked");
                }
            }
            Err(_) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_jobs_and_refuses_beyond_its_queue() {
        let pool = ReadAheadPool::new(1, 1).unwrap();
        let (release, hold) = std::sync::mpsc::channel::<()>();
        let (started_tx, started) = std::sync::mpsc::channel::<()>();
        // The worker takes this one and blocks in it...
        assert!(pool.try_submit(move || {
            started_tx.send(()).unwrap();
            hold.recv().unwrap();
        }));
        started.recv().unwrap();
        // ...so one more fits in the queue, and the next does not.
        let (done_tx, done) = std::sync::mpsc::channel::<u32>();
        let tx = done_tx.clone();
        assert!(pool.try_submit(move || tx.send(1).unwrap()));
        assert!(!pool.try_submit(move || done_tx.send(2).unwrap()));
        release.send(()).unwrap();
        assert_eq!(done.recv().unwrap(), 1);
        // The refused job was dropped unrun: its sender is gone with it.
        assert!(done.recv().is_err());
    }
}
