//! `vendor`: a declarative reconciler for the external binaries a tree
//! vendors. The library computes and carries out plans; it never prints.
//! The binary (`src/main.rs`) owns the terminal.
#![warn(clippy::print_stdout, clippy::print_stderr)]

pub mod advisory;
pub mod apply;
pub mod apt;
pub mod archive;
pub mod attest;
pub mod cache;
pub mod checksum;
pub mod cli;
pub mod cmd;
pub mod diag;
pub mod direct;
pub mod feed;
pub mod fetch;
pub mod fsx;
pub mod gate;
pub mod hash;
pub mod http_cache;
pub mod inspect;
pub mod install;
pub mod interrupt;
pub mod jobs;
pub mod lock;
pub mod lockdiff;
pub mod manifest;
pub mod notes;
pub mod par;
pub mod pin;
pub mod plan;
pub mod pr;
pub mod registry;
pub mod report;
pub mod resolve;
pub mod sbom;
pub mod secret;
pub mod signature;
pub mod smoke;
pub mod source;
pub mod template;
pub mod term;
pub mod tidy;
pub mod trust;
pub mod updates;
pub mod upstream;
pub mod version;
pub mod yaml;
