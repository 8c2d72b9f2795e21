//! Upstreams: where versions are resolved and what they publish. Only this
//! module and [`crate::fetch`] touch the network; both are async and leave
//! the runtime to the caller.

pub mod git;
pub mod github;
