//! Renderers: plans, findings and inventories as text for people
//! (`human`), pull requests (`markdown`), CI annotations (`github`) and
//! machines (`json`). Renderers return strings; the binary prints them.

pub mod advisory;
pub mod annotation;
mod check;
mod diff;
mod list;
mod outdated;
mod paint;
mod plan;
mod smoke;

pub use check::{ManifestLines, check_github, check_human, check_json};
pub use diff::{Sides, SmokeEvidence, diff_commit, diff_human, diff_json, diff_markdown};
pub use list::{Row, list_human, list_json, list_markdown};
pub use outdated::{outdated_human, outdated_json, outdated_markdown};
pub use paint::Paint;
pub use plan::{plan_human, plan_json, plan_markdown, summary_line};
pub use smoke::{
    smoke_checks_human, smoke_evidence, smoke_human, smoke_json, smoke_markdown,
    verdict as smoke_verdict,
};
