//! A small work pool for scoped threads: two FIFO queues (digests before log files), workers that
//! run until the pool is closed and drained.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex};

type Job<'a> = Box<dyn FnOnce() + Send + 'a>;

#[derive(Default)]
struct Queues<'a> {
    high: VecDeque<Job<'a>>,
    low: VecDeque<Job<'a>>,
    closed: bool,
}

pub(crate) struct Pool<'a> {
    queues: Mutex<Queues<'a>>,
    ready: Condvar,
    /// Set when the run stops early: queued jobs are dropped unrun.
    aborted: AtomicBool,
}

impl<'a> Pool<'a> {
    pub fn new() -> Pool<'a> {
        Pool {
            queues: Mutex::new(Queues::default()),
            ready: Condvar::new(),
            aborted: AtomicBool::new(false),
        }
    }

    pub fn submit(&self, urgent: bool, job: impl FnOnce() + Send + 'a) {
        let mut q = self.queues.lock().unwrap_or_else(|e| e.into_inner());
        if urgent {
            q.high.push_back(Box::new(job));
        } else {
            q.low.push_back(Box::new(job));
        }
        drop(q);
        self.ready.notify_one();
    }

    /// No more jobs: workers return once the queues are empty.
    pub fn close(&self) {
        self.queues.lock().unwrap_or_else(|e| e.into_inner()).closed = true;
        self.ready.notify_all();
    }

    pub fn abort(&self) {
        self.aborted.store(true, Ordering::Relaxed);
        let mut q = self.queues.lock().unwrap_or_else(|e| e.into_inner());
        q.high.clear();
        q.low.clear();
        q.closed = true;
        drop(q);
        self.ready.notify_all();
    }

    /// A worker's loop.
    pub fn work(&self) {
        loop {
            let job = {
                let mut q = self.queues.lock().unwrap_or_else(|e| e.into_inner());
                loop {
                    if let Some(j) = q.high.pop_front().or_else(|| q.low.pop_front()) {
                        break j;
                    }
                    if q.closed {
                        return;
                    }
                    q = self.ready.wait(q).unwrap_or_else(|e| e.into_inner());
                }
            };
            if !self.aborted.load(Ordering::Relaxed) {
                job();
            }
        }
    }
}
