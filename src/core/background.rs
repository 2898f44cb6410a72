//! Background loops that stop with the server instead of being cut off by it.
//!
//! `startup` owns one [`Background`]. A loop is started with [`Background::spawn`], which hands it
//! a [`Stopping`]; the loop checks [`Stopping::is_stopping`] between rounds (or waits on
//! [`Stopping::wait`] beside its sleep) and, once told, finishes the round in hand, puts back
//! what it claimed and returns. After the HTTP server has finished its in-flight requests
//! (SIGTERM or SIGINT), [`Background::stop`] tells every loop and waits for them, up to a grace
//! period: a loop that has not returned by then is cut off with the process, and what it claimed
//! is taken over by another worker after its stale-claim timeout.

use std::future::Future;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Handed to a background loop: tells it when the service is stopping.
#[derive(Clone)]
pub struct Stopping(watch::Receiver<bool>);

impl Stopping {
    pub fn is_stopping(&self) -> bool {
        *self.0.borrow()
    }

    /// Resolves once the service is stopping (at once if it already is).
    pub async fn wait(&mut self) {
        // An error means the `Background` is gone: stopping too.
        let _ = self.0.wait_for(|stop| *stop).await;
    }

    /// Runs `work` on each of a claimed batch, `concurrency` at once, starting none once the
    /// service is stopping (those under way finish; the rest stay claimed, for the loop to put
    /// back). The first error ends the batch.
    pub async fn run_each<T, E, Fut>(
        &self,
        items: Vec<T>,
        concurrency: usize,
        work: impl FnMut(T) -> Fut,
    ) -> Result<(), E>
    where
        Fut: Future<Output = Result<(), E>>,
    {
        use futures_util::StreamExt;
        let mut results = futures_util::stream::iter(items)
            .take_while(|_| std::future::ready(!self.is_stopping()))
            .map(work)
            .buffer_unordered(concurrency);
        while let Some(result) = results.next().await {
            result?;
        }
        Ok(())
    }
}

/// The background loops of one server.
pub struct Background {
    stop: watch::Sender<bool>,
    tasks: Vec<(&'static str, JoinHandle<()>)>,
}

impl Default for Background {
    fn default() -> Self {
        Self {
            stop: watch::channel(false).0,
            tasks: Vec::new(),
        }
    }
}

impl Background {
    /// Starts `run(stopping)` on the current runtime, named for the logs.
    pub fn spawn<F>(&mut self, name: &'static str, run: impl FnOnce(Stopping) -> F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let stopping = Stopping(self.stop.subscribe());
        self.tasks.push((name, tokio::spawn(run(stopping))));
    }

    /// Tells every loop to stop and waits for them, `grace` at most in all.
    pub async fn stop(self, grace: Duration) {
        self.stop.send_replace(true);
        let deadline = tokio::time::Instant::now() + grace;
        for (name, task) in self.tasks {
            match tokio::time::timeout_at(deadline, task).await {
                Ok(Ok(())) => tracing::info!(task = name, "background task stopped"),
                Ok(Err(e)) => tracing::warn!(task = name, error = %e, "background task failed"),
                Err(_) => tracing::warn!(task = name, "background task did not stop in time"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn stop_tells_every_loop_and_waits_for_it() {
        let mut background = Background::default();
        let (done_tx, mut done_rx) = tokio::sync::mpsc::unbounded_channel();
        for _ in 0..2 {
            let done = done_tx.clone();
            background.spawn("test loop", move |mut stopping| async move {
                stopping.wait().await;
                assert!(stopping.is_stopping());
                // Work after the signal still runs before `stop` returns.
                tokio::time::sleep(Duration::from_millis(20)).await;
                let _ = done.send(());
            });
        }
        background.stop(Duration::from_secs(5)).await;
        assert!(done_rx.try_recv().is_ok());
        assert!(done_rx.try_recv().is_ok());
    }

    #[tokio::test]
    async fn a_loop_that_does_not_stop_is_left_after_the_grace_period() {
        let mut background = Background::default();
        background.spawn("stuck loop", |_| async {
            tokio::time::sleep(Duration::from_secs(3600)).await;
        });
        let started = std::time::Instant::now();
        background.stop(Duration::from_millis(50)).await;
        assert!(started.elapsed() < Duration::from_secs(5));
    }
}
