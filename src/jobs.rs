//! How many upstream conversations run at once, and running a list of
//! them with results in the list's order.
//!
//! Network round trips, not CPU, dominate real runs (DESIGN §8): items are
//! resolved, re-checked and looked up concurrently, up to [`limit`] at a
//! time over the one HTTP client's connection pool. Results keep the input
//! order, so output, and which failure is reported first, never depend on
//! which server answered first.

use std::future::Future;

use futures_util::StreamExt as _;

/// Items handled at once when `VENDOR_JOBS` does not say. Requests in
/// flight are capped separately by the client (API requests at
/// [`crate::fetch::MAX_IN_FLIGHT`], small files at
/// [`crate::fetch::MAX_FILES_IN_FLIGHT`]), so many items cost round trips,
/// not a flood of connections.
pub const DEFAULT_JOBS: usize = 64;

/// `VENDOR_JOBS` (a positive number), else [`DEFAULT_JOBS`].
pub fn limit() -> usize {
    std::env::var("VENDOR_JOBS")
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok())
        .filter(|n| *n > 0)
        .unwrap_or(DEFAULT_JOBS)
}

/// Runs `f` over `items`, [`limit`] at a time; the results in `items`'
/// order.
pub async fn ordered<I, T, F, Fut>(items: I, f: F) -> Vec<T>
where
    I: IntoIterator,
    F: FnMut(I::Item) -> Fut,
    Fut: Future<Output = T>,
{
    futures_util::stream::iter(items)
        .map(f)
        .buffered(limit())
        .collect()
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_keep_the_input_order_whoever_finishes_first() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap_or_else(|e| panic!("{e}"));
        let out = runtime.block_on(ordered([30u64, 0, 20, 10], |ms| async move {
            tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
            ms
        }));
        assert_eq!(out, [30, 0, 20, 10]);
    }
}
