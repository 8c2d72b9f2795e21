//! The `vendor.yaml` data model: serde for reading, schemars for the
//! published JSON Schema. Field docs become schema descriptions, which
//! editors show as completion help.

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The manifest: what the tree wants to vendor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "vendor.yaml", extend("$id" = "https://vendor.invalid/vendor.schema.json"))]
pub struct Manifest {
    /// Manifest format version; must be 1.
    #[schemars(range(min = 1, max = 1))]
    pub version: u32,
    /// The vendored items, keyed by id (lowercase letters, digits, `-`, `_`).
    #[schemars(extend("propertyNames" = { "pattern": "^[a-z0-9][a-z0-9_-]*$" }))]
    pub items: IndexMap<String, Item>,
    /// Download cache settings shared by the tree.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache: Option<CacheSettings>,
}

/// Download cache settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CacheSettings {
    /// A remote cache on an OCI registry, `oci://host[:port]/name`:
    /// downloads are asked of it by sha256 first and verified ones pushed
    /// to it (`VENDOR_CACHE_REMOTE` overrides it; `off` turns it off).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("pattern" = "^oci://[^/@?#]+/[a-z0-9]"))]
    pub remote: Option<String>,
}

/// One vendored item: an upstream, a version, what ships and where it is pinned.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Item {
    /// Human description shown by `vendor list`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The wanted version, in the item's versioning scheme (e.g. `3.3.4`,
    /// `1.20240306`, `20240301T000000Z`, `6.8.0-45-generic`).
    #[schemars(length(min = 1))]
    pub version: String,
    /// Where the item comes from.
    pub source: Source,
    /// How versions are compared when looking for updates: `semver`,
    /// `date`, `loose`, or `{regex: PATTERN}`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "serde_yaml::with::singleton_map"
    )]
    #[schemars(with = "Option<Versioning>")]
    pub versioning: Option<Versioning>,
    /// Which upstream versions `outdated`/`update` may take, e.g. `~3.3` or `>=3, <4`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub constraint: Option<String>,
    /// Consider pre-releases when looking for updates.
    #[serde(default, skip_serializing_if = "is_false")]
    pub prereleases: bool,
    /// Platforms the item ships for, as `os/arch` (e.g. `linux/amd64`).
    /// Asset templates are expanded once per platform.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("items" = { "type": "string", "pattern": "^[a-z0-9_]+/[a-z0-9_]+$" }))]
    pub platforms: Vec<String>,
    /// Files downloaded from the source and installed into the tree.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub assets: Vec<Asset>,
    /// Places in the tree that hold the version.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pins: Vec<Pin>,
    /// Signatures to verify before anything is installed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verify: Option<Verify>,
    /// Checks run against installed artifacts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub smoke: Option<Smoke>,
    /// Change policy: sign-off, deferral, notes.
    #[serde(default, skip_serializing_if = "Policy::is_default")]
    pub policy: Policy,
    /// Package URL of the item in SBOMs (template: `{item}`, `{version}`,
    /// `{tag}`, each percent-encoded), e.g. `pkg:deb/ubuntu/dracut@{version}`.
    /// Default: `pkg:github/OWNER/REPO@TAG` for GitHub sources,
    /// `pkg:generic/ITEM@VERSION` otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purl: Option<String>,
    /// Where security advisories for the item come from, and the ones
    /// accepted (`vendor check --advisories`, `vendor outdated`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub advisories: Option<Advisories>,
}

/// Security advisory sources and accepted risks of an item.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Advisories {
    /// Read the GitHub repository's security advisories (default: true for
    /// GitHub sources).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub github: Option<bool>,
    /// The item's package in the OSV database.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub osv: Option<OsvPackage>,
    /// Advisories accepted as risks until a date; an expired acceptance
    /// fails the gate again.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allow: Vec<AllowedAdvisory>,
}

/// An OSV package: ecosystem and name (e.g. `Go` and
/// `github.com/traefik/traefik/v3`, or `Ubuntu:24.04:LTS` and `linux`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OsvPackage {
    #[schemars(length(min = 1))]
    pub ecosystem: String,
    #[schemars(length(min = 1))]
    pub package: String,
}

/// An accepted advisory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AllowedAdvisory {
    /// The advisory id or an alias (`GHSA-…`, `CVE-…`, an OSV id).
    #[schemars(length(min = 1))]
    pub id: String,
    /// Why the risk is accepted.
    #[schemars(length(min = 1))]
    pub reason: String,
    /// Last day the acceptance holds, `YYYY-MM-DD`.
    #[schemars(pattern(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"))]
    pub expires: String,
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// The upstream of an item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Source {
    /// Assets of a GitHub release.
    GithubRelease {
        /// `owner/name`.
        #[schemars(pattern(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$"))]
        repo: String,
        /// Release tag for a version; default `{version}`.
        #[serde(default = "default_tag", skip_serializing_if = "is_default_tag")]
        tag: String,
    },
    /// Raw files of a GitHub repository at a tag or branch; the ref is
    /// locked together with the commit it resolved to.
    GithubFiles {
        /// `owner/name`.
        #[schemars(pattern(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$"))]
        repo: String,
        /// Git ref for a version; default `{version}`.
        #[serde(
            default = "default_tag",
            rename = "ref",
            skip_serializing_if = "is_default_tag"
        )]
        git_ref: String,
    },
    /// Plain URLs; each asset names its own `url` template.
    Url {
        /// Allow plain `http://` to non-loopback hosts.
        #[serde(default, skip_serializing_if = "is_false")]
        allow_http: bool,
    },
    /// A Debian/Ubuntu archive snapshot timestamp (`YYYYMMDDTHHMMSSZ`).
    /// With `suites` and a `keyring`, every suite's signed `InRelease` at
    /// `{url}/{version}/dists/SUITE/` is verified and the tracked
    /// `packages` are read through it; otherwise the URL is only checked
    /// to answer.
    AptSnapshot {
        /// Snapshot service base URL (the snapshot is `{url}/{version}`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        url: Option<String>,
        /// Suites (pockets) the build installs from, e.g. `noble`,
        /// `noble-updates`, `noble-security`.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        suites: Vec<String>,
        /// Archive components; default `[main]`.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        components: Vec<String>,
        /// Debian architectures whose `Packages` indexes are read (`amd64`).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        architectures: Vec<String>,
        /// The archive's OpenPGP signing keyring, a file in the tree
        /// (relative to the manifest); never fetched.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        keyring: Option<String>,
        /// Packages whose versions the lock records (e.g. `dracut`).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        packages: Vec<String>,
        /// URL of the archive's newest state (where its `dists/` is), for
        /// `outdated` and `bump ITEM latest`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        latest: Option<String>,
    },
    /// A package of a verified `apt-snapshot` item's snapshot (a kernel
    /// ABI): it must exist at the pinned snapshot.
    AptPackage {
        /// The id of the `apt-snapshot` item.
        snapshot: String,
        /// The package name for a version (template), e.g.
        /// `linux-image-{version}`.
        package: String,
    },
    /// No upstream the tool can query: the version is set by hand.
    Manual,
}

fn default_tag() -> String {
    "{version}".to_owned()
}

fn is_default_tag(s: &str) -> bool {
    s == "{version}"
}

/// Version schemes for comparing upstream versions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Versioning {
    /// Semantic versions, optional `v` prefix and build metadata (`v1.30.4+k3s1`).
    Semver,
    /// Date-like versions (`1.20240306`, `20240301T000000Z`), compared by their digits.
    Date,
    /// Dotted numbers with suffixes (`6.8.0-45-generic`).
    Loose,
    /// A regex matching the whole version: its named groups `major`,
    /// `minor`, `patch`, `build` (or, without those, every group) are
    /// compared as numbers in order; a `prerelease` group marks pre-releases.
    Regex(String),
}

/// A file taken from the source, for each platform.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Asset {
    /// Release asset name, or path in the repository for `github-files`
    /// (template).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Full URL (template); required for `url` sources.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Platforms this asset applies to; default: all of the item's platforms.
    /// Assets of an item without platforms are fetched once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platforms: Option<Vec<String>>,
    /// How the download's sha256 is established.
    // serde_yaml reads newtype variants only as `!tags`; a one-key map
    // (`file: NAME`) is what the schema and editors expect.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "serde_yaml::with::singleton_map"
    )]
    #[schemars(with = "Option<Checksum>")]
    pub checksum: Option<Checksum>,
    /// What to take out of an archive; absent: install the download itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extract: Option<Extract>,
    /// Install path relative to the manifest's directory (template). A
    /// directory when `extract.member` is a glob.
    pub install: String,
    /// File mode of installed files, octal (e.g. `"0755"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(pattern(r"^0?[0-7]{3}$"))]
    pub mode: Option<String>,
}

/// Where a download's expected sha256 comes from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub enum Checksum {
    /// The `digest` GitHub publishes for a release asset.
    GithubDigest,
    /// Trust the first download and record its hash in the lock.
    FirstUse,
    /// An upstream checksum file (`sha256sum`, BSD or single-hash format):
    /// a release asset name or a full URL (template).
    File(String),
    /// A sha256 written in the manifest.
    Sha256(String),
}

/// Archive extraction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Extract {
    /// Archive format; default: from the asset's file name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<ArchiveFormat>,
    /// Member path or glob inside the archive (template).
    pub member: String,
    /// Leading path components dropped from glob matches before install.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub strip_components: u32,
    /// Most bytes the archive may expand to, all entries together (e.g.
    /// `2GiB`); default `512MiB`. Extraction stops at this size.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(pattern(r"^[0-9]+ ?([KMGT]i?B|B)$"))]
    pub max_size: Option<String>,
}

/// How [`parse_size`] wants a size written, for diagnostics.
pub const SIZE_HELP: &str = "a size is a whole number and a unit, e.g. `512MiB` or `2GiB` \
     (B, KB, MB, GB, TB, KiB, MiB, GiB or TiB)";

/// Bytes in a size written as digits and a unit: `B`, decimal `KB` `MB`
/// `GB` `TB` or binary `KiB` `MiB` `GiB` `TiB`, optionally spaced
/// (`512MiB`, `2 GiB`). `Err` says what is wrong.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let digits_end = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (digits, unit) = text.split_at(digits_end);
    let unit = unit.strip_prefix(' ').unwrap_or(unit);
    let scale: u64 = match unit {
        "B" => 1,
        "KB" => 1_000,
        "MB" => 1_000_000,
        "GB" => 1_000_000_000,
        "TB" => 1_000_000_000_000,
        "KiB" => 1 << 10,
        "MiB" => 1 << 20,
        "GiB" => 1 << 30,
        "TiB" => 1 << 40,
        "" => return Err("it has no unit".to_owned()),
        _ => return Err(format!("`{unit}` is not a unit")),
    };
    if digits.is_empty() {
        return Err("it has no number".to_owned());
    }
    let n: u64 = digits
        .parse()
        .map_err(|_| "the number is too large".to_owned())?;
    match n.checked_mul(scale) {
        Some(0) => Err("it must be more than 0".to_owned()),
        Some(bytes) => Ok(bytes),
        None => Err("the size is too large".to_owned()),
    }
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum ArchiveFormat {
    Tar,
    TarGz,
    TarXz,
    TarZst,
    Zip,
    Gz,
    Xz,
    /// A Debian package: an `ar` container whose `data.tar.{xz,zst,gz}`
    /// (or plain `data.tar`) member holds the files.
    Deb,
}

/// A place in the tree that holds the item's version. Exactly one locator
/// key (`make`, `yaml`, `json`, `toml`, `regex`, `apt_sources`) is given;
/// `regex` may be combined with `yaml` to search only inside that key's
/// value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Pin {
    /// File path relative to the manifest's directory.
    pub file: String,
    /// Makefile variable name (`NAME = …`, `:=`, `?=`, `::=`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub make: Option<String>,
    /// YAML key path, dot-separated; numeric segments index sequences
    /// (`jobs.build.steps.2.env.X`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub yaml: Option<String>,
    /// JSON key path, dot-separated; numeric segments index arrays.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub json: Option<String>,
    /// TOML key path, dot-separated (`package.metadata.tool.version`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub toml: Option<String>,
    /// Regular expression with a named group `version` whose match is the pin.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub regex: Option<String>,
    /// An APT source list (one-line `sources.list` or deb822 `.sources`):
    /// the snapshot base URL whose timestamp, in every URI under it, is
    /// the pin (`{base}/{timestamp}`). The list must install only from
    /// suites, components and architectures the item verifies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub apt_sources: Option<String>,
    /// How the version is written at this place; default `{version}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// How many places the locator must match; default 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub count: Option<u32>,
}

/// Signature verification (before install).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Verify {
    /// Every signature listed must verify.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub signatures: Vec<Signature>,
    /// A keyless Sigstore attestation (GitHub artifact attestation) over
    /// each asset, verified offline against a trusted root in the tree.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attestation: Option<Attestation>,
}

/// A Sigstore bundle attesting each asset, and the identity that must
/// have signed it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Attestation {
    /// `artifact`: a GitHub artifact attestation made in GitHub Actions;
    /// `release`: the release attestation GitHub signs for an immutable
    /// release.
    #[serde(default)]
    pub kind: AttestationKind,
    /// The source repository (`owner/name`) the certificate must name.
    pub repository: String,
    /// The git ref the certificate must name (template), e.g.
    /// `refs/tags/{tag}`; any ref when absent.
    #[serde(default, rename = "ref", skip_serializing_if = "Option::is_none")]
    pub git_ref: Option<String>,
    /// The workflow that signed (artifact attestations):
    /// `owner/name/.github/workflows/FILE`, or `.github/workflows/FILE` in
    /// `repository`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workflow: Option<String>,
    /// The release's tag (release attestations; template, default
    /// `{tag}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    /// The statement's predicate type; default SLSA provenance v1 for
    /// artifact attestations, in-toto release v0.1 for release ones.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub predicate_type: Option<String>,
    /// Sigstore `trusted_root.json` in the repository, relative to the
    /// manifest; never fetched.
    pub trusted_root: String,
    /// Where the bundle comes from: `bundle` (default: the file `bundle`
    /// names) or `github-api` (GitHub's attestations API of `repository`,
    /// asked for the asset's sha256, which must then be known before the
    /// download: a checksum file, `github-digest` or `sha256`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<BundleFrom>,
    /// The bundle: a release asset name, a file beside the asset, or a URL
    /// (template; `{asset}` is the attested file's name). Default
    /// `{asset}.sigstore.json`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bundle: Option<String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum BundleFrom {
    #[default]
    Bundle,
    GithubApi,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum AttestationKind {
    #[default]
    Artifact,
    Release,
}

/// A detached signature and the key that must have made it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Signature {
    /// `minisign`, `cosign` (key-based blob signature, ECDSA P-256) or `pgp`.
    pub kind: SignatureKind,
    /// Public key (minisign `.pub`, cosign PEM) or OpenPGP keyring file in
    /// the repository, relative to the manifest; never fetched.
    pub key: String,
    /// Signature file: a release asset name, a file beside the signed one,
    /// or a URL (template; `{asset}` is the signed file's name).
    pub signature: String,
    /// What is signed: each asset, or the checksum file (whose trust then
    /// extends to every artifact listed in it).
    #[serde(default)]
    pub over: SignedObject,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum SignatureKind {
    Minisign,
    Cosign,
    Pgp,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum SignedObject {
    #[default]
    Asset,
    ChecksumFile,
}

/// Smoke checks for installed artifacts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Smoke {
    /// Binary inspection of installed executables.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inspect: Option<Inspect>,
    /// Commands run against an installed artifact.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub run: Vec<SmokeRun>,
}

/// Binary inspection: the format, and the architecture of the platform
/// each file is installed for, are always checked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Inspect {
    /// Expected executable format.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<BinaryFormat>,
    /// Require a statically linked binary.
    #[serde(default, skip_serializing_if = "is_false")]
    pub r#static: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum BinaryFormat {
    Elf,
    MachO,
    Pe,
}

/// A command run against each installed executable of the item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SmokeRun {
    /// Command and arguments (templates; `{path}` is the installed file).
    /// It must exit 0.
    #[schemars(length(min = 1))]
    pub args: Vec<String>,
    /// Regular expression the output (stdout, then stderr) must match;
    /// placeholders such as `{version}` match literally.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expect: Option<String>,
}

/// Change policy for an item.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// Who must approve a change of this item (e.g. `release-engineering`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sign_off: Option<String>,
    /// Listed but not shipped yet: artifacts are not required to be installed.
    #[serde(default, skip_serializing_if = "is_false")]
    pub deferred: bool,
    /// Free text for reviewers (smoke procedure, rollback notes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
}

impl Policy {
    fn is_default(&self) -> bool {
        self == &Policy::default()
    }
}

impl Pin {
    /// The locator kinds set on this pin, in a fixed order.
    pub fn locator_keys(&self) -> Vec<&'static str> {
        let mut keys = Vec::new();
        if self.make.is_some() {
            keys.push("make");
        }
        if self.yaml.is_some() {
            keys.push("yaml");
        }
        if self.json.is_some() {
            keys.push("json");
        }
        if self.toml.is_some() {
            keys.push("toml");
        }
        if self.regex.is_some() {
            keys.push("regex");
        }
        if self.apt_sources.is_some() {
            keys.push("apt_sources");
        }
        keys
    }

    /// The value template; `{version}` when not given.
    pub fn value_template(&self) -> &str {
        self.value.as_deref().unwrap_or("{version}")
    }

    pub fn expected_count(&self) -> usize {
        self.count.map_or(1, |c| c as usize)
    }
}

impl Source {
    pub fn kind(&self) -> &'static str {
        match self {
            Source::GithubRelease { .. } => "github-release",
            Source::GithubFiles { .. } => "github-files",
            Source::Url { .. } => "url",
            Source::AptSnapshot { .. } => "apt-snapshot",
            Source::AptPackage { .. } => "apt-package",
            Source::Manual => "manual",
        }
    }

    /// Whether the item opted in to plain `http://` downloads.
    pub fn allows_http(&self) -> bool {
        matches!(self, Source::Url { allow_http: true })
    }

    /// Whether assets of this source must be resolved against an upstream.
    pub fn downloads(&self) -> bool {
        matches!(
            self,
            Source::GithubRelease { .. }
                | Source::GithubFiles { .. }
                | Source::Url { .. }
                | Source::AptPackage { .. }
        )
    }
}

#[cfg(test)]
mod tests {
    use super::parse_size;

    #[test]
    fn sizes() {
        for (text, bytes) in [
            ("512MiB", 512 << 20),
            ("2 GiB", 2 << 30),
            ("300MB", 300_000_000),
            ("64KiB", 64 << 10),
            ("1B", 1),
            ("1TiB", 1 << 40),
        ] {
            assert_eq!(parse_size(text), Ok(bytes), "{text}");
        }
        for text in [
            "0MiB",
            "12",
            "MiB",
            "1 parsec",
            "1.5GiB",
            "99999999999TiB",
            "1  MiB",
        ] {
            assert!(parse_size(text).is_err(), "{text}");
        }
    }
}
