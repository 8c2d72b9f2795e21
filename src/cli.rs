//! Command-line arguments (clap derive types only).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum, builder::BoolishValueParser};

/// Declarative reconciler for vendored binaries: pins, downloads,
/// checksums and drift, from `vendor.yaml` and `vendor.lock.yaml`.
#[derive(Debug, Parser)]
#[command(
    name = "vendor",
    version,
    propagate_version = true,
    max_term_width = 100
)]
#[command(
    after_help = "Exit codes: 0 success or in sync, 1 error, 2 changes pending or drift found, 64 usage error."
)]
pub struct Cli {
    /// Run as if started in DIR.
    #[arg(short = 'C', global = true, value_name = "DIR")]
    pub dir: Option<PathBuf>,

    /// Manifest path; the lock sits beside it.
    #[arg(short = 'f', long = "file", global = true, value_name = "FILE")]
    pub file: Option<PathBuf>,

    /// Output format, where the command supports it.
    #[arg(long, global = true, value_enum)]
    pub format: Option<Format>,

    /// When to use colors (also honours NO_COLOR).
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,

    /// Print only errors.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,

    /// Print more detail.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    /// Never touch the network; use the cache.
    #[arg(long, global = true, env = "VENDOR_OFFLINE", value_parser = BoolishValueParser::new())]
    pub offline: bool,

    /// Ask upstream afresh: bypass the HTTP cache of API answers (no
    /// conditional requests; every answer overwrites its entry).
    #[arg(long, global = true)]
    pub refresh: bool,

    /// Fail instead of changing the lock.
    #[arg(long, global = true)]
    pub locked: bool,

    /// Both --locked and --offline.
    #[arg(long, global = true)]
    pub frozen: bool,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Human,
    Json,
    Markdown,
    Github,
    // A commit message: `vendor diff` only.
    Commit,
    // SBOM formats: `vendor sbom` only (documented in its help, hidden
    // from the global list).
    #[value(hide = true)]
    Cyclonedx,
    #[value(hide = true)]
    Spdx,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check vendor.yaml against the schema and its semantic rules; report every problem.
    Validate,
    /// Print the JSON Schema of vendor.yaml.
    Schema,
    /// Show the inventory: items, versions, pins, what ships.
    List,
    /// Show what apply would change.
    Plan(PlanArgs),
    /// Carry out the plan: rewrite pins, install artifacts, write the lock.
    Apply(ApplyArgs),
    /// CI gate: exit 2 if the manifest, lock and tree disagree (offline).
    Check(CheckArgs),
    /// Fill the download cache for later offline runs.
    Fetch(FetchArgs),
    /// Show newer upstream versions allowed by each item's constraint (exit 2 if any).
    Outdated(OutdatedArgs),
    /// Set an item's wanted version after checking upstream has it and every asset.
    Bump(BumpArgs),
    /// Bump to the newest allowed version (one item per change unless --all).
    Update(UpdateArgs),
    /// Render a lock change for review (default: the working tree against HEAD).
    #[command(
        after_help = "Formats: human (default), json, markdown (a pull-request comment), commit (the commit message of a one-item bump). Exits 0 whatever changed, 1 on error."
    )]
    Diff(DiffArgs),
    /// Run the items' smoke checks on the installed artifacts (exit 1 if one fails).
    #[command(
        after_help = "Each executable is inspected (format, architecture, static or dynamic) and each `smoke.run` command run against it. Binaries for another architecture run through qemu-<arch> when it is on PATH, and are otherwise skipped, never passed. Records are saved to .vendor/smoke/<item>.json for `vendor diff --format commit`."
    )]
    Smoke(SmokeArgs),
    /// Fill or list the remote cache on an OCI registry (VENDOR_CACHE_REMOTE).
    #[command(subcommand)]
    Mirror(MirrorCommand),
    /// Print a software bill of materials of what the lock ships (offline).
    #[command(
        after_help = "Formats: cyclonedx (CycloneDX 1.6 JSON, the default) and spdx (SPDX 2.3 JSON). The output depends on the lock alone (same lock, same bytes) unless --timestamp is given."
    )]
    Sbom(SbomArgs),
    /// Print shell completions.
    Completions {
        /// The shell to generate completions for.
        shell: clap_complete::Shell,
    },
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// Items to plan (default: all).
    pub items: Vec<String>,
    /// Exit 2 when there are changes.
    #[arg(long)]
    pub detailed_exitcode: bool,
    /// Save the plan as JSON for `vendor apply FILE`.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// A saved plan file, or items to apply (default: all).
    pub targets: Vec<String>,
    /// Install without running the smoke checks on the staged artifacts.
    #[arg(long)]
    pub no_smoke: bool,
}

#[derive(Debug, Args)]
pub struct SmokeArgs {
    /// Items to smoke-test (default: every item with smoke checks).
    pub items: Vec<String>,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Items to check (default: all).
    pub items: Vec<String>,
    /// Also require every artifact to be installed.
    #[arg(long)]
    pub installed: bool,
    /// Also ask upstream whether what the lock recorded still holds: a tag
    /// moved to another commit, an asset replaced or removed under the same
    /// tag (needs the network).
    #[arg(long)]
    pub upstream: bool,
    /// Also apply the change policy against this git revision: one bump per
    /// change, and name who must sign off.
    #[arg(long, value_name = "REV")]
    pub base: Option<String>,
    /// Also fail (exit 2) when a known security advisory affects a locked
    /// version and vendor.yaml does not accept it (needs the network;
    /// offline: the last answer).
    #[arg(long)]
    pub advisories: bool,
}

#[derive(Debug, Args)]
pub struct SbomArgs {
    /// Record when the SBOM was made (SOURCE_DATE_EPOCH if set, else now);
    /// without it the output is a function of the lock alone.
    #[arg(long)]
    pub timestamp: bool,
}

#[derive(Debug, Subcommand)]
pub enum MirrorCommand {
    /// Put every artifact the lock names into the remote cache (from the local cache, else upstream), with a manifest per item version.
    Push(MirrorPushArgs),
    /// List the item versions the remote cache holds.
    List,
}

#[derive(Debug, Args)]
pub struct MirrorPushArgs {
    /// Items to push (default: every locked item).
    pub items: Vec<String>,
}

#[derive(Debug, Args)]
pub struct FetchArgs {
    /// Items to fetch (default: all).
    pub items: Vec<String>,
}

#[derive(Debug, Args)]
pub struct DiffArgs {
    /// Compare the lock at this git revision with the working tree's.
    #[arg(long, value_name = "REV", conflicts_with = "old")]
    pub base: Option<String>,
    /// The old lock file (with NEW: compare two files instead of git revisions).
    #[arg(value_name = "OLD", requires = "new")]
    pub old: Option<PathBuf>,
    /// The new lock file.
    #[arg(value_name = "NEW")]
    pub new: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct OutdatedArgs {
    /// Items to look at (default: all).
    pub items: Vec<String>,
    /// Only updates that fix a security advisory affecting the locked
    /// version (looks advisories up for every item; without it, only for
    /// items with an `advisories` block).
    #[arg(long)]
    pub security: bool,
}

#[derive(Debug, Args)]
pub struct BumpArgs {
    /// The item to bump.
    pub item: String,
    /// The new wanted version (in the item's own form, e.g. 3.3.5).
    #[arg(value_name = "VERSION")]
    pub new_version: String,
    /// Also apply the change.
    #[arg(long)]
    pub apply: bool,
    /// With --pr: only say what would be pushed and opened.
    #[arg(long, requires = "pr")]
    pub dry_run: bool,
    #[command(flatten)]
    pub pr: PrArgs,
}

/// One pull request per bump (`bump --pr`, `update --pr`).
#[derive(Debug, Clone, Args)]
pub struct PrArgs {
    /// Apply each bump on a branch of its own, commit, push it and open
    /// (or update) its pull request on GitHub.
    #[arg(long, conflicts_with = "apply")]
    pub pr: bool,
    /// The branch pull requests merge into (default: the current branch).
    #[arg(long, value_name = "BRANCH", requires = "pr")]
    pub base: Option<String>,
    /// The git remote to push to.
    #[arg(long, value_name = "NAME", default_value = "origin")]
    pub remote: String,
    /// The GitHub repository of the pull requests (default: from the
    /// remote's URL).
    #[arg(long, value_name = "OWNER/NAME", requires = "pr")]
    pub repo: Option<String>,
    /// Prefix of the bump branches (`<prefix><item>-<version>`).
    #[arg(
        long,
        value_name = "PREFIX",
        env = "VENDOR_PR_BRANCH_PREFIX",
        default_value = crate::pr::DEFAULT_PREFIX
    )]
    pub branch_prefix: String,
}

#[derive(Debug, Args)]
pub struct UpdateArgs {
    /// Items to update (default: the first outdated one).
    pub items: Vec<String>,
    /// Update every outdated item at once instead of the first.
    #[arg(long)]
    pub all: bool,
    /// Only say what would be bumped (exit 2 if anything would); with
    /// --pr, what would be pushed and opened.
    #[arg(long)]
    pub dry_run: bool,
    /// Also apply the change.
    #[arg(long)]
    pub apply: bool,
    #[command(flatten)]
    pub pr: PrArgs,
}

impl Cli {
    pub fn offline(&self) -> bool {
        self.offline || self.frozen
    }

    pub fn locked(&self) -> bool {
        self.locked || self.frozen
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_command_line_definition_is_consistent() {
        <super::Cli as clap::CommandFactory>::command().debug_assert();
    }
}
