//! Semantic checks of a loaded manifest: what the schema cannot express.
//!
//! Every check adds to one list; nothing stops at the first problem. Each
//! problem has a stable code from [`crate::diag::codes`], points at the key,
//! value or even the `{placeholder}` inside a string it is about, and says
//! what to write instead.
//!
//! The format version and item ids are checked by the schema during
//! loading (`unsupported-version`, `invalid-item-id`), so a [`Loaded`]
//! manifest already has them right.

use std::collections::{HashMap, HashSet};
use std::ops::Range;
use std::path::Path;

use super::load::{self, Loaded, NodePath, Part};
use super::model::{ArchiveFormat, Asset, Checksum, Item, Pin, SIZE_HELP, Source, parse_size};
use crate::diag::{Problem, Problems, codes, one_of, suggest};
use crate::pin::{Locator, split_path};
use crate::template::{self, allowed};

/// What [`validate`] checks besides the manifest itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ValidateOptions {
    /// Check that pin files and signature keys exist on disk (relative to
    /// the manifest's directory). On for `vendor validate`.
    pub check_files: bool,
}

impl Default for ValidateOptions {
    fn default() -> Self {
        ValidateOptions { check_files: true }
    }
}

impl ValidateOptions {
    /// Checks of the manifest alone, without looking at the tree.
    pub fn without_files() -> Self {
        ValidateOptions { check_files: false }
    }
}

/// Loads the manifest at `path` and runs every check on it.
pub fn load_and_validate(path: &Path, opts: ValidateOptions) -> Result<Loaded, Problems> {
    let loaded = load::load(path)?;
    validate(&loaded, opts)?;
    Ok(loaded)
}

/// Runs every semantic check on `loaded`; all problems at once.
pub fn validate(loaded: &Loaded, opts: ValidateOptions) -> Result<(), Problems> {
    let mut checker = Checker {
        loaded,
        opts,
        out: Vec::new(),
        installs: Vec::new(),
        locator_rules: HashMap::new(),
        key_path_pins: Vec::new(),
    };
    for (id, item) in &loaded.manifest.items {
        checker.item(id, item);
    }
    checker.key_paths_in_files();
    checker.collisions();
    let mut problems = checker.out;
    load::sort_problems(&mut problems);
    Problems::check(loaded.source.name(), problems)
}

/// The archive format a file name implies, from its extension (a URL's
/// query and fragment are ignored).
pub fn archive_format_of(name: &str) -> Option<ArchiveFormat> {
    let name = name
        .split(['?', '#'])
        .next()
        .unwrap_or(name)
        .to_ascii_lowercase();
    const SUFFIXES: &[(&str, ArchiveFormat)] = &[
        (".tar.gz", ArchiveFormat::TarGz),
        (".tgz", ArchiveFormat::TarGz),
        (".tar.xz", ArchiveFormat::TarXz),
        (".txz", ArchiveFormat::TarXz),
        (".tar.zst", ArchiveFormat::TarZst),
        (".tzst", ArchiveFormat::TarZst),
        (".tar", ArchiveFormat::Tar),
        (".zip", ArchiveFormat::Zip),
        (".gz", ArchiveFormat::Gz),
        (".xz", ArchiveFormat::Xz),
        (".deb", ArchiveFormat::Deb),
    ];
    SUFFIXES
        .iter()
        .find(|(suffix, _)| name.ends_with(suffix))
        .map(|(_, format)| *format)
}

/// Every placeholder any template knows.
fn known_placeholders() -> impl Iterator<Item = &'static str> {
    [
        allowed::PIN,
        allowed::TAG,
        allowed::ASSET,
        allowed::SIGNATURE,
        allowed::SMOKE,
    ]
    .into_iter()
    .flatten()
    .copied()
}

/// A kind of template: what it may use and how messages name it.
#[derive(Clone, Copy)]
struct Tmpl {
    allowed: &'static [&'static str],
    what: &'static str,
    /// The item has platforms for `{os}`/`{arch}` to take values from.
    platforms: bool,
}

/// One install target, for the collision check.
struct Install {
    /// Normalised path relative to the manifest's directory.
    path: String,
    /// A directory (the asset extracts a glob).
    dir: bool,
    /// Where the asset's `install` is written.
    node: NodePath,
    platform: Option<String>,
}

struct Checker<'a> {
    loaded: &'a Loaded,
    opts: ValidateOptions,
    out: Vec<Problem>,
    installs: Vec<Install>,
    /// [`Locator::from_pin`]'s verdict per set of locator keys: it depends
    /// only on which keys are set, and computing it compiles a regex.
    locator_rules: HashMap<Vec<&'static str>, Result<(), String>>,
    /// Key-path pins to look up in their files (with `check_files`), done
    /// after the items so each file is read and parsed once.
    key_path_pins: Vec<KeyPathPin>,
}

/// A key-path pin whose path is checked against its file.
struct KeyPathPin {
    /// The locator key in the manifest (`….yaml`).
    node: NodePath,
    file: std::path::PathBuf,
    /// The file as the manifest names it.
    name: String,
    locator: Locator,
    keys: Vec<String>,
}

impl Checker<'_> {
    fn at(
        &self,
        code: &'static str,
        message: impl Into<String>,
        path: &NodePath,
        part: Part,
    ) -> Problem {
        self.loaded.problem(code, message, path, part)
    }

    fn push(&mut self, problem: Problem) {
        self.out.push(problem);
    }

    fn item(&mut self, id: &str, item: &Item) {
        let base = NodePath::root().key("items").key(id);
        let platforms = !item.platforms.is_empty();
        self.source(&base, item);
        for (i, asset) in item.assets.iter().enumerate() {
            self.asset(&base, id, item, &base.key("assets").index(i), asset);
        }
        for (i, pin) in item.pins.iter().enumerate() {
            self.pin(&base.key("pins").index(i), pin);
        }
        if let Some(verify) = &item.verify {
            for (i, sig) in verify.signatures.iter().enumerate() {
                let path = base.key("verify").key("signatures").index(i);
                self.relative_file(&path.key("key"), &sig.key, "signature key");
                let tmpl = Tmpl {
                    allowed: allowed::SIGNATURE,
                    what: "a signature name",
                    platforms,
                };
                self.template(&path.key("signature"), &sig.signature, tmpl);
                self.maybe_url(&path.key("signature"), &sig.signature, false);
                if sig.over == super::model::SignedObject::ChecksumFile {
                    self.signed_checksum_files(&base, &path, item);
                }
            }
            if let Some(att) = &verify.attestation {
                self.attestation(&base.key("verify").key("attestation"), att, platforms);
            }
        }
        if let Some(smoke) = &item.smoke {
            self.smoke(&base.key("smoke"), smoke, platforms);
        }
        self.versioning(&base, item);
        self.constraint(&base, item);
        self.purl(&base, id, item);
        self.advisory_allow(&base, item);
        if let Some(sign_off) = &item.policy.sign_off
            && sign_off.trim().is_empty()
        {
            let path = base.key("policy").key("sign_off");
            let problem = self
                .at(codes::EMPTY_VALUE, format!("{} is empty", path.describe()), &path, Part::Value)
                .label("empty")
                .help("name who must approve a change (e.g. `release-engineering`), or remove the key");
            self.push(problem);
        }
    }

    /// `verify.attestation`: the trusted root is a file in the tree, the
    /// identity is well formed, the templates are known.
    fn attestation(&mut self, path: &NodePath, att: &super::model::Attestation, platforms: bool) {
        self.relative_file(&path.key("trusted_root"), &att.trusted_root, "trusted root");
        let repo_ok = att.repository.split('/').count() == 2
            && att.repository.split('/').all(|p| {
                !p.is_empty()
                    && p.bytes()
                        .all(|c| c.is_ascii_alphanumeric() || b"-_.".contains(&c))
            });
        if !repo_ok {
            let at = path.key("repository");
            let problem = self
                .at(codes::INVALID_VALUE, format!("{} is not `owner/name`", at.describe()), &at, Part::Value)
                .label("not owner/name")
                .help("the GitHub repository the attestation must be made for, e.g. `traefik/traefik`");
            self.push(problem);
        }
        let release = att.kind == super::model::AttestationKind::Release;
        match (&att.workflow, release) {
            (Some(_), true) => {
                let at = path.key("workflow");
                let problem = self
                    .at(
                        codes::INVALID_VALUE,
                        format!("{} is set for a release attestation", at.describe()),
                        &at,
                        Part::Key,
                    )
                    .label("GitHub signs release attestations, no workflow")
                    .help("remove `workflow`, or use `kind: artifact`");
                self.push(problem);
            }
            (None, false) => {
                let problem = self
                    .at(codes::MISSING_KEY, format!("{} has no `workflow`: an artifact attestation names the workflow that signed", path.describe()), path, Part::Key)
                    .label("no workflow")
                    .help("add `workflow: .github/workflows/FILE.yml` (or `owner/name/.github/workflows/FILE.yml`)");
                self.push(problem);
            }
            _ => {}
        }
        let workflow = att.workflow.as_deref().unwrap_or(".github/x");
        let wf = workflow.strip_prefix(".github/").map_or(workflow, |_| "");
        let wf_ok = !workflow.is_empty()
            && !workflow.contains("..")
            && !workflow
                .bytes()
                .any(|c| c.is_ascii_whitespace() || c == b',' || c == b'@')
            && (wf.is_empty() || wf.splitn(3, '/').count() == 3);
        if !wf_ok {
            let at = path.key("workflow");
            let problem = self
                .at(codes::INVALID_VALUE, format!("{} is not a workflow path", at.describe()), &at, Part::Value)
                .label("not a workflow path")
                .help("write `owner/name/.github/workflows/FILE.yml`, or `.github/workflows/FILE.yml` in `repository`");
            self.push(problem);
        }
        if let Some(t) = &att.tag {
            let tmpl = Tmpl {
                allowed: allowed::SIGNATURE,
                what: "an attestation tag",
                platforms,
            };
            self.template(&path.key("tag"), t, tmpl);
        }
        let tmpl = Tmpl {
            allowed: allowed::SIGNATURE,
            what: "an attestation bundle name",
            platforms,
        };
        if let (Some(super::model::BundleFrom::GithubApi), Some(_)) = (att.from, &att.bundle) {
            let at = path.key("bundle");
            let problem = self
                .at(codes::INVALID_VALUE, format!("{} is set, but the bundle comes from the GitHub API", at.describe()), &at, Part::Key)
                .label("not used with `from: github-api`")
                .help("remove `bundle`, or remove `from: github-api` to take the bundle from that file");
            self.push(problem);
        }
        if let Some(bundle) = &att.bundle {
            self.template(&path.key("bundle"), bundle, tmpl);
            self.maybe_url(&path.key("bundle"), bundle, false);
        }
        if let Some(r) = &att.git_ref {
            let tmpl = Tmpl {
                allowed: allowed::SIGNATURE,
                what: "an attestation ref",
                platforms,
            };
            self.template(&path.key("ref"), r, tmpl);
        }
    }

    // ----- sources --------------------------------------------------------

    fn source(&mut self, base: &NodePath, item: &Item) {
        let path = base.key("source");
        let tmpl = Tmpl {
            allowed: allowed::TAG,
            what: "the source tag",
            platforms: false,
        };
        match &item.source {
            Source::GithubRelease { tag, .. } => {
                self.template(&path.key("tag"), tag, tmpl);
            }
            Source::GithubFiles { git_ref, .. } => {
                let tmpl = Tmpl {
                    what: "the source ref",
                    ..tmpl
                };
                self.template(&path.key("ref"), git_ref, tmpl);
            }
            Source::AptSnapshot {
                url,
                suites,
                components,
                architectures,
                keyring,
                latest,
                ..
            } => {
                self.snapshot(&base.key("version"), &item.version);
                if let Some(url) = url {
                    self.url(&path.key("url"), url, false);
                }
                if let Some(latest) = latest {
                    self.url(&path.key("latest"), latest, false);
                }
                if let Some(keyring) = keyring {
                    self.relative_file(&path.key("keyring"), keyring, "archive keyring");
                }
                self.apt_snapshot(&path, url, suites, components, architectures, keyring);
            }
            Source::AptPackage { snapshot, package } => {
                let tmpl = Tmpl {
                    what: "the package name",
                    ..tmpl
                };
                self.template(&path.key("package"), package, tmpl);
                let verified = self
                    .loaded
                    .manifest
                    .items
                    .get(snapshot)
                    .is_some_and(|s| crate::apt::SnapshotSource::of(s).is_some());
                if !verified {
                    let problem = self
                        .at(
                            codes::APT_SOURCE,
                            format!("`{snapshot}` is not a verified apt-snapshot item of this manifest"),
                            &path.key("snapshot"),
                            Part::Value,
                        )
                        .label("no such snapshot item")
                        .help("name an item with `type: apt-snapshot` that sets `url`, `suites`, `architectures` and `keyring`");
                    self.push(problem);
                }
            }
            Source::Url { .. } | Source::Manual => {}
        }
        if !item.source.downloads() && !item.assets.is_empty() {
            let kind = item.source.kind();
            let problem = self
                .at(
                    codes::ASSETS_WITHOUT_DOWNLOAD,
                    format!("a `{kind}` source downloads nothing, but the item lists assets"),
                    &base.key("assets"),
                    Part::Key,
                )
                .label("assets of a pin-only item")
                .help("remove `assets`, or use a `github-release`, `github-files` or `url` source");
            self.push(problem);
        }
    }

    /// A snapshot with suites is verified: it needs the archive URL, the
    /// keyring and the architectures; names are single path segments.
    fn apt_snapshot(
        &mut self,
        path: &NodePath,
        url: &Option<String>,
        suites: &[String],
        components: &[String],
        architectures: &[String],
        keyring: &Option<String>,
    ) {
        for (key, list) in [
            ("suites", suites),
            ("components", components),
            ("architectures", architectures),
        ] {
            for (i, name) in list.iter().enumerate() {
                let ok = !name.is_empty()
                    && name
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"-_.+~".contains(&b))
                    && name != "."
                    && name != "..";
                if !ok {
                    let problem = self
                        .at(
                            codes::APT_SOURCE,
                            format!("`{name}` is not a name of the archive's {key}"),
                            &path.key(key).index(i),
                            Part::Value,
                        )
                        .label("letters, digits, `-`, `_`, `.`, `+`, `~`")
                        .help(
                            "names are single path segments under `dists/`, e.g. `noble-updates`",
                        );
                    self.push(problem);
                }
            }
        }
        if suites.is_empty() {
            return;
        }
        let mut missing = Vec::new();
        if url.is_none() {
            missing.push("url");
        }
        if keyring.is_none() {
            missing.push("keyring");
        }
        if architectures.is_empty() {
            missing.push("architectures");
        }
        if !missing.is_empty() {
            let problem = self
                .at(
                    codes::APT_SOURCE,
                    format!(
                        "a snapshot with `suites` is verified, and needs {}",
                        missing.iter().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", ")
                    ),
                    &path.key("suites"),
                    Part::Key,
                )
                .label("verified snapshot")
                .help("set the archive's base `url`, its signing `keyring` (a file in the tree) and the `architectures` to read");
            self.push(problem);
        }
    }

    /// `YYYYMMDDTHHMMSSZ` with plausible date and time fields.
    fn snapshot(&mut self, path: &NodePath, version: &str) {
        if is_snapshot_timestamp(version) {
            return;
        }
        let problem = self
            .at(
                codes::INVALID_SNAPSHOT,
                format!("`{version}` is not an apt snapshot timestamp"),
                path,
                Part::Value,
            )
            .label("expected YYYYMMDDTHHMMSSZ")
            .help("write the snapshot time in UTC as `YYYYMMDDTHHMMSSZ`, e.g. `20240301T000000Z`");
        self.push(problem);
    }

    // ----- assets ---------------------------------------------------------

    fn asset(&mut self, base: &NodePath, id: &str, item: &Item, path: &NodePath, asset: &Asset) {
        let platforms =
            !item.platforms.is_empty() || asset.platforms.as_ref().is_some_and(|p| !p.is_empty());
        let tmpl = |what| Tmpl {
            allowed: allowed::ASSET,
            what,
            platforms,
        };
        self.asset_origin(path, item, asset);
        let allow_http = matches!(item.source, Source::Url { allow_http: true });
        if let Some(name) = &asset.name {
            self.template(&path.key("name"), name, tmpl("an asset name"));
        }
        if let Some(url) = &asset.url {
            self.template(&path.key("url"), url, tmpl("an asset URL"));
            self.url(&path.key("url"), url, allow_http);
        }
        self.template(
            &path.key("install"),
            &asset.install,
            tmpl("an install path"),
        );
        self.relative_path(&path.key("install"), &asset.install, "install path");
        if let Some(extract) = &asset.extract {
            let member = path.key("extract").key("member");
            self.template(&member, &extract.member, tmpl("an extract member"));
            self.extract_format(path, asset);
            if let Some(size) = &extract.max_size {
                self.max_size(&path.key("extract").key("max_size"), size);
            }
        }
        match &asset.checksum {
            Some(Checksum::File(file)) => {
                let p = path.key("checksum").key("file");
                self.template(&p, file, tmpl("a checksum file"));
                self.maybe_url(&p, file, allow_http);
            }
            Some(Checksum::Sha256(hex)) => self.sha256(&path.key("checksum").key("sha256"), hex),
            _ => {}
        }
        if let Some(list) = &asset.platforms {
            self.asset_platforms(base, path, item, list);
        }
        self.collect_installs(id, item, path, asset);
    }

    /// Where the download comes from: `name` for GitHub, `url` for URLs.
    fn asset_origin(&mut self, path: &NodePath, item: &Item, asset: &Asset) {
        let problem = match &item.source {
            Source::GithubRelease { .. } | Source::GithubFiles { .. } if asset.name.is_none() => {
                let what = if matches!(item.source, Source::GithubFiles { .. }) {
                    "the file's path in the repository, e.g. `boot/start4.elf`"
                } else {
                    "the release asset's file name, e.g. `tool_{tag}_{os}_{arch}.tar.gz`"
                };
                self.at(
                    codes::ASSET_NEEDS_NAME,
                    format!("{} has no `name`", path.describe()),
                    path,
                    Part::Key,
                )
                .label("needs `name`")
                .help(format!("add `name:` with {what}"))
            }
            Source::Url { .. } if asset.url.is_none() => self
                .at(
                    codes::ASSET_NEEDS_URL,
                    format!("{} has no `url`", path.describe()),
                    path,
                    Part::Key,
                )
                .label("needs `url`")
                .help("a `url` source downloads each asset from its own `url:` template, e.g. `https://example.com/tool-{version}.tar.gz`"),
            _ => return,
        };
        self.push(problem);
    }

    /// `extract.max_size` beyond the schema's pattern: not zero, and not
    /// more bytes than a 64-bit count holds.
    fn max_size(&mut self, path: &NodePath, text: &str) {
        let Err(reason) = parse_size(text) else {
            return;
        };
        let problem = self
            .at(
                codes::INVALID_VALUE,
                format!(
                    "`{text}` is not a usable size for {}: {reason}",
                    path.describe()
                ),
                path,
                Part::Value,
            )
            .label("not a size")
            .help(SIZE_HELP);
        self.push(problem);
    }

    fn extract_format(&mut self, path: &NodePath, asset: &Asset) {
        let Some(extract) = &asset.extract else {
            return;
        };
        if extract.format.is_some() {
            return;
        }
        let name = asset.name.as_deref().or_else(|| {
            asset
                .url
                .as_deref()
                .map(|u| u.rsplit('/').next().unwrap_or(u))
        });
        let Some(name) = name else { return };
        if archive_format_of(name).is_some() {
            return;
        }
        let problem = self
            .at(
                codes::EXTRACT_FORMAT_UNKNOWN,
                format!("cannot tell the archive format of `{name}`"),
                &path.key("extract"),
                Part::Key,
            )
            .label("extract from what kind of archive?")
            .help("set `extract.format` (tar, tar-gz, tar-xz, tar-zst, zip, gz, xz or deb), or remove `extract` to install the download as it is");
        self.push(problem);
    }

    fn sha256(&mut self, path: &NodePath, hex: &str) {
        let is_hex = |b: u8| b.is_ascii_digit() || (b'a'..=b'f').contains(&b);
        if hex.len() == 64 && hex.bytes().all(is_hex) {
            return;
        }
        let help = if hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            "write the digest in lowercase".to_owned()
        } else {
            format!(
                "a sha256 is 64 lowercase hex digits (this has {} characters), as the first field printed by `sha256sum FILE`",
                hex.chars().count()
            )
        };
        let problem = self
            .at(
                codes::INVALID_SHA256,
                format!("`{hex}` is not a sha256 digest"),
                path,
                Part::Value,
            )
            .label("not 64 lowercase hex digits")
            .help(help);
        self.push(problem);
    }

    fn asset_platforms(&mut self, base: &NodePath, path: &NodePath, item: &Item, list: &[String]) {
        for (i, platform) in list.iter().enumerate() {
            let p = path.key("platforms").index(i);
            if !is_platform(platform) {
                let problem = self
                    .at(
                        codes::INVALID_PLATFORM,
                        format!("`{platform}` is not an `os/arch` platform"),
                        &p,
                        Part::Value,
                    )
                    .label("expected os/arch")
                    .help("a platform is `os/arch` in lowercase, e.g. `linux/amd64`");
                self.push(problem);
            } else if !item.platforms.contains(platform) {
                let help = if item.platforms.is_empty() {
                    format!(
                        "the item lists no platforms; add `platforms: [{platform}]` to {}",
                        base.describe()
                    )
                } else {
                    let near = suggest(platform, &item.platforms)
                        .map(|n| format!("did you mean `{n}`? "))
                        .unwrap_or_default();
                    format!("{near}the item's platforms are {}", one_of(&item.platforms))
                };
                let problem = self
                    .at(
                        codes::UNKNOWN_PLATFORM,
                        format!("`{platform}` is not one of the item's platforms"),
                        &p,
                        Part::Value,
                    )
                    .label("not in the item's `platforms`")
                    .help(help);
                self.push(problem);
            }
        }
    }

    // ----- install collisions ---------------------------------------------

    /// Expands the asset's install path for each platform it ships on.
    fn collect_installs(&mut self, id: &str, item: &Item, path: &NodePath, asset: &Asset) {
        let dir = asset
            .extract
            .as_ref()
            .is_some_and(|e| e.member.contains(['*', '?', '[']));
        let platforms: Vec<Option<&str>> = match &asset.platforms {
            Some(list) if !list.is_empty() => list.iter().map(|p| Some(p.as_str())).collect(),
            _ if !item.platforms.is_empty() => {
                item.platforms.iter().map(|p| Some(p.as_str())).collect()
            }
            _ => vec![None],
        };
        let tag = tag_of(id, item);
        for platform in platforms {
            let (os, arch) = platform.and_then(|p| p.split_once('/')).unzip();
            let lookup = |name: &str| match name {
                "version" => Some(item.version.as_str()),
                "tag" => Some(tag.as_str()),
                "item" => Some(id),
                "os" => os,
                "arch" => arch,
                _ => None,
            };
            let Ok(expanded) = template::expand(&asset.install, lookup) else {
                continue;
            };
            self.installs.push(Install {
                path: normalise(&expanded),
                dir,
                node: path.key("install"),
                platform: platform.map(str::to_owned),
            });
        }
    }

    /// Two assets writing one path, or one writing into another's directory.
    fn collisions(&mut self) {
        let mut first: HashMap<&str, usize> = HashMap::new();
        let mut dirs: HashMap<&str, usize> = HashMap::new();
        let mut reported: HashSet<(NodePath, NodePath)> = HashSet::new();
        let mut found = Vec::new();
        for (i, install) in self.installs.iter().enumerate() {
            match first.get(install.path.as_str()) {
                Some(&j) => found.push((j, i, false)),
                None => {
                    first.insert(&install.path, i);
                }
            }
            if install.dir {
                dirs.entry(&install.path).or_insert(i);
            }
        }
        for (i, install) in self.installs.iter().enumerate() {
            for ancestor in ancestors(&install.path) {
                if let Some(&j) = dirs.get(ancestor)
                    && j != i
                {
                    found.push((j, i, true));
                }
            }
        }
        for (j, i, inside) in found {
            let (a, b) = (&self.installs[j], &self.installs[i]);
            if !reported.insert((a.node.clone(), b.node.clone())) {
                continue;
            }
            let problem = self.collision(a, b, inside);
            self.out.push(problem);
        }
    }

    fn collision(&self, first: &Install, second: &Install, inside: bool) -> Problem {
        let on = |p: &Install| {
            p.platform
                .as_deref()
                .map(|p| format!(" ({p})"))
                .unwrap_or_default()
        };
        if first.node == second.node {
            let platforms = [&first.platform, &second.platform]
                .map(|p| p.as_deref().unwrap_or("every platform"));
            return self
                .at(
                    codes::INSTALL_COLLISION,
                    format!(
                        "`{}` is the install path for both {} and {}",
                        second.path, platforms[0], platforms[1]
                    ),
                    &second.node,
                    Part::Value,
                )
                .label("the same path for several platforms")
                .help(
                    "add `{os}` and/or `{arch}` to `install`, or limit the asset with `platforms:`",
                );
        }
        let other = self.loaded.doc().span(&first.node, Part::Value);
        let message = if inside {
            format!(
                "`{}` lies inside `{}`, which {}{} extracts into",
                second.path,
                first.path,
                first.node.parent().unwrap_or_default().describe(),
                on(first)
            )
        } else {
            format!(
                "`{}` is also installed by {}{}",
                second.path,
                first.node.parent().unwrap_or_default().describe(),
                on(first)
            )
        };
        self.at(codes::INSTALL_COLLISION, message, &second.node, Part::Value)
            .label(format!("installs `{}`{}", second.path, on(second)))
            .also(other, "first installed here")
            .help("give each asset its own install path")
    }

    // ----- pins -----------------------------------------------------------

    fn pin(&mut self, path: &NodePath, pin: &Pin) {
        self.relative_file(&path.key("file"), &pin.file, "pin file");
        self.pin_regex(path, pin);
        for (key, value) in [
            ("yaml", &pin.yaml),
            ("json", &pin.json),
            ("toml", &pin.toml),
        ] {
            if let Some(value) = value {
                self.key_path(&path.key(key), value);
            }
        }
        if let Some(make) = &pin.make
            && make.trim().is_empty()
        {
            let p = path.key("make");
            let problem = self
                .at(
                    codes::EMPTY_VALUE,
                    format!("{} is empty", p.describe()),
                    &p,
                    Part::Value,
                )
                .label("empty")
                .help("name the Makefile variable that holds the version, e.g. `TRAEFIK_VERSION`");
            self.push(problem);
        }
        self.pin_locators(path, pin);
        self.queue_key_path(path, pin);
        if let Some(value) = &pin.value {
            self.pin_value(&path.key("value"), value);
        }
    }

    /// A regex versioning scheme compiles and has a group to compare.
    fn versioning(&mut self, base: &NodePath, item: &Item) {
        let Some(versioning) = &item.versioning else {
            return;
        };
        if let Err(err) = crate::version::Scheme::from_versioning(versioning) {
            let path = base.key("versioning").key("regex");
            let problem = self
                .at(codes::INVALID_REGEX, err.to_string(), &path, Part::Value)
                .help("a versioning regex matches a whole version, with named groups such as `major`, `minor`, `patch`");
            self.out.push(problem);
        }
    }

    /// The update constraint parses in the item's versioning scheme.
    fn constraint(&mut self, base: &NodePath, item: &Item) {
        let Some(constraint) = &item.constraint else {
            return;
        };
        let scheme = crate::version::Scheme::default_for(item);
        if let Err(err) = crate::version::Constraint::parse(constraint, &scheme) {
            let path = base.key("constraint");
            let problem = self
                .at(codes::INVALID_VALUE, err.to_string(), &path, Part::Value)
                .help("e.g. `~3.3`, `^1.30`, `>=3.3, <4`, `3.3.*`");
            self.out.push(problem);
        }
    }

    /// The SBOM package URL template expands to a package URL.
    fn purl(&mut self, base: &NodePath, id: &str, item: &Item) {
        let Some(template) = &item.purl else { return };
        let v = &item.version;
        if let Err(err) = crate::sbom::expand_purl(id, template, v, v) {
            let path = base.key("purl");
            let problem = self
                .at(codes::INVALID_VALUE, err.to_string(), &path, Part::Value)
                .help("e.g. `pkg:deb/ubuntu/dracut@{version}`; placeholders: {item}, {version}, {tag}");
            self.out.push(problem);
        }
    }

    /// Accepted advisories expire on a real date.
    fn advisory_allow(&mut self, base: &NodePath, item: &Item) {
        let Some(advisories) = &item.advisories else {
            return;
        };
        for (i, entry) in advisories.allow.iter().enumerate() {
            if crate::advisory::is_date(&entry.expires) {
                continue;
            }
            let path = base.key("advisories").key("allow").index(i).key("expires");
            let problem = self
                .at(
                    codes::INVALID_VALUE,
                    format!("`{}` is not a date (YYYY-MM-DD)", entry.expires),
                    &path,
                    Part::Value,
                )
                .help("an acceptance expires on a day, e.g. `2026-06-30`; it fails the gate again after that");
            self.out.push(problem);
        }
    }

    /// The pin regex compiles and has a `version` group.
    fn pin_regex(&mut self, path: &NodePath, pin: &Pin) {
        let Some(pattern) = &pin.regex else { return };
        if crate::pin::compile_version_regex(pattern).is_ok() {
            // Compiled (and cached for planning) with a `version` group.
            return;
        }
        let p = path.key("regex");
        let problem = match regex::Regex::new(pattern) {
            Err(err) => self
                .at(
                    codes::INVALID_REGEX,
                    format!("invalid regex: {}", regex_error_summary(&err)),
                    &p,
                    Part::Value,
                )
                .label("does not compile")
                .help("fix the regular expression (Rust `regex` syntax; no look-around or backreferences)"),
            Ok(re) if !re.capture_names().flatten().any(|n| n == "version") => self
                .at(
                    codes::REGEX_WITHOUT_VERSION,
                    "the pin regex has no named group `version`",
                    &p,
                    Part::Value,
                )
                .label("no `version` group")
                .help("wrap the part that holds the version in `(?P<version>...)`, e.g. `VERSION=(?P<version>[0-9.]+)`"),
            Ok(_) => return,
        };
        self.push(problem);
    }

    fn key_path(&mut self, path: &NodePath, value: &str) {
        let Err(message) = split_path(value) else {
            return;
        };
        let problem = self
            .at(codes::INVALID_KEY_PATH, message, path, Part::Value)
            .label("bad key path")
            .help("write keys separated by single dots, e.g. `build.firmware_ref` or `jobs.build.env.X`; quote a key that holds dots: `metadata.labels.\"app.kubernetes.io/version\"`");
        self.push(problem);
    }

    /// With `check_files`, a key-path pin that should match is looked up in
    /// its file later, by [`Checker::key_paths_in_files`].
    fn queue_key_path(&mut self, path: &NodePath, pin: &Pin) {
        if !self.opts.check_files || pin.count == Some(0) {
            return;
        }
        let Ok(locator) = Locator::from_pin(pin) else {
            return;
        };
        let (key, keys) = match &locator {
            Locator::Yaml { path, .. } => ("yaml", path.clone()),
            Locator::Json(path) => ("json", path.clone()),
            Locator::Toml(path) => ("toml", path.clone()),
            Locator::Make(_) | Locator::Regex(_) | Locator::AptSources(_) => return,
        };
        self.key_path_pins.push(KeyPathPin {
            node: path.key(key),
            file: self.loaded.resolve(&pin.file),
            name: pin.file.clone(),
            locator,
            keys,
        });
    }

    /// A key path that resolves to nothing in its file is reported with
    /// the keys that exist where it stops matching, and the nearest path.
    /// Files that cannot be read or parsed are left to planning, which
    /// reports them with the pin's context.
    fn key_paths_in_files(&mut self) {
        let mut pins = std::mem::take(&mut self.key_path_pins);
        pins.sort_by(|a, b| a.file.cmp(&b.file));
        for group in pins.chunk_by(|a, b| a.file == b.file) {
            let Ok(text) = crate::pin::read_file(&group[0].file) else {
                continue;
            };
            let parsed = crate::pin::Parsed::new(&text);
            for pin in group {
                if !matches!(crate::pin::find_in(&parsed, &pin.locator), Ok(m) if m.is_empty()) {
                    continue;
                }
                let Some(miss) = crate::pin::miss(&parsed, &pin.locator) else {
                    continue;
                };
                let shown: Vec<String> = miss
                    .keys
                    .iter()
                    .take(8)
                    .map(|k| format!("`{}`", crate::pin::join_path(std::slice::from_ref(k))))
                    .collect();
                let there = if miss.found.is_empty() {
                    "at the top".to_owned()
                } else {
                    format!("under `{}`", crate::pin::join_path(&miss.found))
                };
                // Only a path that leads somewhere is worth suggesting.
                let near = miss.nearest(&pin.keys).filter(|near| {
                    split_path(near)
                        .ok()
                        .and_then(|keys| pin.locator.with_path(keys))
                        .is_some_and(
                            |l| !matches!(crate::pin::find_in(&parsed, &l), Ok(m) if m.is_empty()),
                        )
                });
                let mut help = match near {
                    Some(near) => format!("did you mean `{near}`? "),
                    None => String::new(),
                };
                if shown.is_empty() {
                    help.push_str(&format!("there are no keys {there}"));
                } else {
                    help.push_str(&format!(
                        "keys {there}: {}{}",
                        shown.join(", "),
                        if miss.keys.len() > shown.len() {
                            ", …"
                        } else {
                            ""
                        }
                    ));
                }
                help.push_str("; quote a key that holds dots: `a.\"b.c\"`");
                let problem = self
                    .at(
                        codes::INVALID_KEY_PATH,
                        format!(
                            "`{}` matches nothing in {}: there is no key `{}` {there}",
                            crate::pin::join_path(&pin.keys),
                            pin.name,
                            miss.missing
                        ),
                        &pin.node,
                        Part::Value,
                    )
                    .label("matches nothing")
                    .help(help);
                self.push(problem);
            }
        }
    }

    /// One locator per pin, by the rules of [`Locator::from_pin`]. Regex
    /// and key-path contents are checked separately; stand-ins keep their
    /// errors out of this one.
    fn pin_locators(&mut self, path: &NodePath, pin: &Pin) {
        let keys = pin.locator_keys();
        let verdict = self.locator_rules.entry(keys.clone()).or_insert_with(|| {
            let probe = Pin {
                regex: pin.regex.as_ref().map(|_| "(?P<version>x)".to_owned()),
                yaml: pin.yaml.as_ref().map(|_| "a".to_owned()),
                json: pin.json.as_ref().map(|_| "a".to_owned()),
                toml: pin.toml.as_ref().map(|_| "a".to_owned()),
                apt_sources: pin.apt_sources.as_ref().map(|_| "https://a".to_owned()),
                ..pin.clone()
            };
            Locator::from_pin(&probe).map(|_| ())
        });
        let Err(message) = verdict.clone() else {
            return;
        };
        let problem = match keys.as_slice() {
            [] => self
                .at(codes::PIN_LOCATOR, message, path, Part::Key)
                .label("no locator")
                .help("say where the version is: `make: VAR`, `yaml: a.b`, `json: a.b`, `toml: a.b`, `regex: '...(?P<version>...)...'` or `apt_sources: SNAPSHOT-BASE-URL`"),
            [first, second, ..] => self
                .at(codes::PIN_LOCATOR, message, &path.key(*second), Part::Key)
                .label("second locator")
                .also(
                    self.loaded.doc().span(&path.key(*first), Part::Key),
                    "first locator",
                )
                .help("split it into one pin per place, or keep one locator (`regex` may be combined with `yaml` only)"),
            [only] => self
                .at(codes::PIN_LOCATOR, message, &path.key(*only), Part::Key)
                .label("locator"),
        };
        self.push(problem);
    }

    fn pin_value(&mut self, path: &NodePath, value: &str) {
        let tmpl = Tmpl {
            allowed: allowed::PIN,
            what: "a pin value",
            platforms: false,
        };
        if !self.template(path, value, tmpl) {
            return;
        }
        let has_version = template::placeholders(value)
            .map(|ps| ps.iter().any(|p| p.name == "version" || p.name == "tag"))
            .unwrap_or(true);
        if !has_version {
            let problem = self
                .at(
                    codes::VALUE_WITHOUT_VERSION,
                    format!("the pin value `{value}` does not contain the version"),
                    path,
                    Part::Value,
                )
                .label("no `{version}` or `{tag}`")
                .help("write how the version appears at this place, e.g. `v{version}`");
            self.push(problem);
        }
    }

    // ----- smoke ----------------------------------------------------------

    fn smoke(&mut self, path: &NodePath, smoke: &super::model::Smoke, platforms: bool) {
        let tmpl = |what| Tmpl {
            allowed: allowed::SMOKE,
            what,
            platforms,
        };
        for (i, run) in smoke.run.iter().enumerate() {
            let p = path.key("run").index(i);
            for (j, arg) in run.args.iter().enumerate() {
                self.template(&p.key("args").index(j), arg, tmpl("a smoke command"));
            }
            if let Some(expect) = &run.expect {
                let e = p.key("expect");
                if self.template(&e, expect, tmpl("a smoke expectation")) {
                    self.expect_regex(&e, expect);
                }
            }
        }
    }

    /// The expectation must compile once its placeholders are filled in.
    fn expect_regex(&mut self, path: &NodePath, expect: &str) {
        let Ok(sample) = template::expand(expect, |_| Some("x")) else {
            return;
        };
        if let Err(err) = regex::Regex::new(&sample) {
            let problem = self
                .at(
                    codes::INVALID_REGEX,
                    format!("invalid regex: {}", regex_error_summary(&err)),
                    path,
                    Part::Value,
                )
                .label("does not compile")
                .help("fix the regular expression; write `{{` and `}}` for literal braces such as `\\d{{8}}`");
            self.push(problem);
        }
    }

    // ----- templates ------------------------------------------------------

    /// Checks the placeholders of `text` (the string at `path`); `true`
    /// when the template is well-formed and every placeholder has a value.
    fn template(&mut self, path: &NodePath, text: &str, tmpl: Tmpl) -> bool {
        let placeholders = match template::placeholders(text) {
            Ok(p) => p,
            Err(bad) => {
                let span = self.span_in(path, bad.offset..bad.offset + 1);
                let problem = Problem::new(
                    codes::MALFORMED_TEMPLATE,
                    format!("malformed template in {}: {}", tmpl.what, bad.message),
                )
                .at(&self.loaded.source, span)
                .label(bad.message)
                .help("placeholders are `{name}`; write `{{` and `}}` for literal braces");
                self.push(problem);
                return false;
            }
        };
        let mut ok = true;
        for ph in placeholders {
            if let Some(problem) = self.placeholder(path, &ph, tmpl) {
                self.push(problem);
                ok = false;
            }
        }
        ok
    }

    fn placeholder(
        &self,
        path: &NodePath,
        ph: &template::Placeholder,
        tmpl: Tmpl,
    ) -> Option<Problem> {
        let name = ph.name.as_str();
        // Spans are looked up only for problems: finding a node walks the
        // `items` mapping, which would make clean manifests quadratic.
        let span = || self.span_in(path, ph.range.clone());
        let here = || {
            let names: Vec<String> = tmpl.allowed.iter().map(|n| format!("{{{n}}}")).collect();
            one_of(&names)
        };
        if tmpl.allowed.contains(&name) {
            if matches!(name, "os" | "arch") && !tmpl.platforms {
                let item = path.iter().take(2).cloned().collect::<NodePath>();
                return Some(
                    Problem::new(
                        codes::PLATFORMS_MISSING,
                        format!("`{{{name}}}` needs platforms, but {} lists none", item.describe()),
                    )
                    .at(&self.loaded.source, span())
                    .label("no platform to take this from")
                    .help("add `platforms: [linux/amd64, …]` to the item, or write the OS and architecture out"),
                );
            }
            return None;
        }
        if known_placeholders().any(|k| k == name) {
            return Some(
                Problem::new(
                    codes::PLACEHOLDER_NOT_ALLOWED,
                    format!("`{{{name}}}` has no value in {}", tmpl.what),
                )
                .at(&self.loaded.source, span())
                .label("not available here")
                .help(format!("placeholders in {}: {}", tmpl.what, here())),
            );
        }
        let mut help = match suggest(name, tmpl.allowed) {
            Some(near) => format!("did you mean `{{{near}}}`? "),
            None => String::new(),
        };
        help.push_str(&format!("placeholders in {}: {}", tmpl.what, here()));
        if name.bytes().all(|b| b.is_ascii_digit() || b == b',') {
            help.push_str("; for literal braces, such as a regex repetition, write `{{` and `}}`");
        }
        Some(
            Problem::new(
                codes::UNKNOWN_PLACEHOLDER,
                format!("unknown placeholder `{{{name}}}` in {}", tmpl.what),
            )
            .at(&self.loaded.source, span())
            .label("unknown placeholder")
            .help(help),
        )
    }

    /// The span of `range` (bytes of the decoded string) inside the scalar
    /// at `path`. Offsets map 1:1 only when the source text between the
    /// quotes is the string itself (no escapes, no folding); otherwise the
    /// whole value.
    fn span_in(&self, path: &NodePath, range: Range<usize>) -> Range<usize> {
        let doc = self.loaded.doc();
        let whole = doc.span(path, Part::Value);
        let Some(node) = doc.node(path) else {
            return whole;
        };
        let (Some(value), Some(inner)) = (node.as_str(), node.value_span()) else {
            return whole;
        };
        if self.loaded.source.text.get(inner.clone()) != Some(value) {
            return whole;
        }
        let end = range.end.min(value.len());
        inner.start + range.start.min(end)..inner.start + end
    }

    // ----- paths and URLs -------------------------------------------------

    /// A path that must be relative and stay inside the tree.
    fn relative_path(&mut self, path: &NodePath, value: &str, what: &str) -> bool {
        let (message, help) = if value.trim().is_empty() {
            (
                format!("the {what} is empty"),
                "give a path relative to the manifest's directory",
            )
        } else if is_absolute(value) {
            (
                format!("the {what} `{value}` is absolute"),
                "paths in vendor.yaml are relative to the manifest's directory",
            )
        } else if escapes(value) {
            (
                format!("the {what} `{value}` leads out of the manifest's directory"),
                "vendored files must stay inside the tree that holds vendor.yaml; remove the `..`",
            )
        } else {
            return true;
        };
        let code = if value.trim().is_empty() {
            codes::EMPTY_VALUE
        } else {
            codes::UNSAFE_PATH
        };
        let problem = self
            .at(code, message, path, Part::Value)
            .label("not a path inside the tree")
            .help(help);
        self.push(problem);
        false
    }

    /// A relative path that must also exist (when files are checked).
    /// A signature over the checksum file covers only assets whose hash
    /// comes from a checksum file.
    fn signed_checksum_files(
        &mut self,
        base: &NodePath,
        sig: &NodePath,
        item: &super::model::Item,
    ) {
        for (i, asset) in item.assets.iter().enumerate() {
            if matches!(asset.checksum, Some(super::model::Checksum::File(_))) {
                continue;
            }
            let problem = self
                .at(
                    codes::SIGNED_WITHOUT_CHECKSUM_FILE,
                    format!(
                        "the signature is over the checksum file, but asset {} has no checksum file",
                        i + 1
                    ),
                    &base.key("assets").index(i),
                    Part::Key,
                )
                .label("no `checksum: {file: …}`")
                .help(format!(
                    "give the asset `checksum: {{file: NAME}}`, or sign `over: asset` ({})",
                    sig.describe()
                ));
            self.push(problem);
        }
    }

    fn relative_file(&mut self, path: &NodePath, value: &str, what: &str) {
        if !self.relative_path(path, value, what) || !self.opts.check_files {
            return;
        }
        let full = self.loaded.resolve(value);
        let problem = match std::fs::metadata(&full) {
            Ok(meta) if meta.is_file() => return,
            Ok(_) => self
                .at(
                    codes::MISSING_FILE,
                    format!("the {what} `{value}` is not a regular file"),
                    path,
                    Part::Value,
                )
                .label("not a file")
                .help(format!("`{}` is a directory or special file; name a file", full.display())),
            Err(err) => self
                .at(
                    codes::MISSING_FILE,
                    format!("the {what} `{value}` cannot be read: {}", io_reason(&err)),
                    path,
                    Part::Value,
                )
                .label("no such file")
                .help(format!(
                    "looked for `{}` (paths are relative to the manifest's directory); fix the path or create the file",
                    full.display()
                )),
        };
        self.push(problem);
    }

    /// URL checks for strings that may be URLs or asset names.
    fn maybe_url(&mut self, path: &NodePath, value: &str, allow_http: bool) {
        if value.contains("://") {
            self.url(path, value, allow_http);
        }
    }

    fn url(&mut self, path: &NodePath, url: &str, allow_http: bool) {
        // A leading placeholder is reported by the template check.
        if url.starts_with('{') || url.starts_with("https://") {
            return;
        }
        let problem = if let Some(rest) = url.strip_prefix("http://") {
            if allow_http || is_loopback(host_of(rest)) {
                return;
            }
            self.at(
                codes::INSECURE_URL,
                format!("`{url}` uses plain http"),
                path,
                Part::Value,
            )
            .label("not encrypted")
            .help("use https://; if the host only serves plain HTTP, set `allow_http: true` on a `url` source")
        } else {
            self.at(
                codes::INVALID_URL,
                format!("`{url}` is not an http(s) URL"),
                path,
                Part::Value,
            )
            .label("expected https://…")
            .help("write a full URL starting with `https://`")
        };
        self.push(problem);
    }
}

/// The tag an item's version maps to, for expanding install paths.
fn tag_of(id: &str, item: &Item) -> String {
    let template = match &item.source {
        Source::GithubRelease { tag, .. } => tag.as_str(),
        Source::GithubFiles { git_ref, .. } => git_ref.as_str(),
        _ => return item.version.clone(),
    };
    template::expand(template, |name| match name {
        "version" => Some(item.version.as_str()),
        "item" => Some(id),
        _ => None,
    })
    .unwrap_or_else(|_| item.version.clone())
}

/// `a//b/./c/` → `a/b/c`.
fn normalise(path: &str) -> String {
    path.split('/')
        .filter(|s| !s.is_empty() && *s != ".")
        .collect::<Vec<_>>()
        .join("/")
}

/// Proper ancestors of a normalised path: `a/b/c` → `a/b`, `a`.
fn ancestors(path: &str) -> impl Iterator<Item = &str> {
    path.rmatch_indices('/').map(move |(i, _)| &path[..i])
}

fn is_absolute(path: &str) -> bool {
    let bytes = path.as_bytes();
    path.starts_with(['/', '\\'])
        || (bytes.len() >= 2 && bytes[0].is_ascii_alphabetic() && bytes[1] == b':')
}

/// Whether `..` components climb above the starting directory.
fn escapes(path: &str) -> bool {
    let mut depth: i64 = 0;
    for part in path.split(['/', '\\']) {
        match part {
            "" | "." => {}
            ".." => {
                depth -= 1;
                if depth < 0 {
                    return true;
                }
            }
            _ => depth += 1,
        }
    }
    false
}

fn is_platform(p: &str) -> bool {
    let ok = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    };
    p.split_once('/')
        .is_some_and(|(os, arch)| ok(os) && ok(arch))
}

/// `YYYYMMDDTHHMMSSZ` with month, day, hour, minute and second in range.
fn is_snapshot_timestamp(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 16 || b[8] != b'T' || b[15] != b'Z' {
        return false;
    }
    let digits = |r: Range<usize>| {
        s.get(r)
            .filter(|d| d.bytes().all(|c| c.is_ascii_digit()))
            .and_then(|d| d.parse::<u32>().ok())
    };
    let fields = (
        digits(0..4),
        digits(4..6),
        digits(6..8),
        digits(9..11),
        digits(11..13),
        digits(13..15),
    );
    matches!(fields,
        (Some(_), Some(mo), Some(d), Some(h), Some(mi), Some(se))
            if (1..=12).contains(&mo) && (1..=31).contains(&d) && h < 24 && mi < 60 && se < 60)
}

/// The host part of `host[:port]/path` (brackets kept for IPv6).
fn host_of(rest: &str) -> &str {
    let authority = rest.split(['/', '?', '#']).next().unwrap_or(rest);
    let authority = authority.rsplit('@').next().unwrap_or(authority);
    if authority.starts_with('[') {
        return authority
            .split(']')
            .next()
            .map_or(authority, |h| &authority[..h.len() + 1]);
    }
    authority.split(':').next().unwrap_or(authority)
}

fn is_loopback(host: &str) -> bool {
    host == "localhost" || host == "[::1]" || host.starts_with("127.")
}

/// The last line of a regex error (`error: unclosed group`), without the
/// pattern excerpt the crate prints above it.
fn regex_error_summary(err: &regex::Error) -> String {
    let text = err.to_string();
    text.lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .map(|l| l.trim().trim_start_matches("error: ").to_owned())
        .unwrap_or(text)
}

fn io_reason(err: &std::io::Error) -> String {
    match err.kind() {
        std::io::ErrorKind::NotFound => "no such file".to_owned(),
        _ => err.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::SourceFile;
    use std::path::PathBuf;

    fn check(text: &str) -> Vec<(&'static str, (usize, usize))> {
        let loaded = load::parse(SourceFile::new("vendor.yaml", text), PathBuf::from("."))
            .unwrap_or_else(|p| panic!("does not load: {:?}", p.codes()));
        match validate(&loaded, ValidateOptions::without_files()) {
            Ok(()) => Vec::new(),
            Err(problems) => problems
                .iter()
                .map(|p| (p.code(), p.line_col().unwrap_or((0, 0))))
                .collect(),
        }
    }

    fn item(body: &str) -> String {
        format!("version: 1\nitems:\n  t:\n{body}")
    }

    const RELEASE: &str = "    version: 1.0.0\n    source:\n      type: github-release\n      repo: o/r\n      tag: v{version}\n";

    #[test]
    fn a_good_item_has_no_problems() {
        let text = item(&format!(
            "{RELEASE}    platforms: [linux/amd64, linux/arm64]\n    assets:\n      - name: t_{{tag}}_{{os}}_{{arch}}.tar.gz\n        checksum: {{file: sums.txt}}\n        extract: {{member: t}}\n        install: dist/t-{{os}}-{{arch}}\n    pins:\n      - file: Makefile\n        make: T_VERSION\n        value: v{{version}}\n"
        ));
        assert_eq!(check(&text), []);
    }

    #[test]
    fn points_at_the_placeholder_inside_the_string() {
        let text = item(&format!(
            "{RELEASE}    assets:\n      - name: \"t_{{vresion}}.bin\"\n        install: dist/{{path}}\n"
        ));
        assert_eq!(
            check(&text),
            [
                (codes::UNKNOWN_PLACEHOLDER, (10, 18)),
                (codes::PLACEHOLDER_NOT_ALLOWED, (11, 23)),
            ]
        );
    }

    #[test]
    fn escaped_strings_fall_back_to_the_whole_value() {
        let text = item(&format!(
            "{RELEASE}    assets:\n      - name: \"t\\u0041_{{nope}}\"\n        install: x\n"
        ));
        assert_eq!(check(&text), [(codes::UNKNOWN_PLACEHOLDER, (10, 15))]);
    }

    #[test]
    fn malformed_template() {
        let text = item(&format!(
            "{RELEASE}    assets:\n      - name: t_{{tag\n        install: x\n"
        ));
        assert_eq!(check(&text), [(codes::MALFORMED_TEMPLATE, (10, 17))]);
    }

    #[test]
    fn pin_locators() {
        let text = item(&format!(
            "{RELEASE}    pins:\n      - file: a\n      - file: b\n        make: X\n        json: a.b\n      - file: c\n        regex: 'v(\\d+'\n      - file: d\n        regex: 'v\\d+'\n      - file: e\n        yaml: a..b\n        regex: '(?P<version>x)'\n      - file: f\n        make: X\n        value: latest\n"
        ));
        assert_eq!(
            check(&text),
            [
                (codes::PIN_LOCATOR, (10, 9)),
                (codes::PIN_LOCATOR, (13, 9)),
                (codes::INVALID_REGEX, (15, 16)),
                (codes::REGEX_WITHOUT_VERSION, (17, 16)),
                (codes::INVALID_KEY_PATH, (19, 15)),
                (codes::VALUE_WITHOUT_VERSION, (23, 16)),
            ]
        );
    }

    #[test]
    fn asset_rules() {
        let text = item(&format!(
            "{RELEASE}    platforms: [linux/amd64]\n    assets:\n      - install: /abs\n        platforms: [linux/arm64, Linux]\n        checksum: {{sha256: ABC}}\n      - name: tool\n        extract: {{member: tool}}\n        install: ../out\n"
        ));
        assert_eq!(
            check(&text),
            [
                (codes::ASSET_NEEDS_NAME, (11, 9)),
                (codes::UNSAFE_PATH, (11, 18)),
                (codes::INSTALL_COLLISION, (11, 18)),
                (codes::UNKNOWN_PLATFORM, (12, 21)),
                (codes::INVALID_PLATFORM, (12, 34)),
                (codes::INVALID_SHA256, (13, 28)),
                (codes::EXTRACT_FORMAT_UNKNOWN, (15, 9)),
                (codes::UNSAFE_PATH, (16, 18)),
            ]
        );
    }

    #[test]
    fn platform_placeholders_need_platforms() {
        let text = item(&format!(
            "{RELEASE}    assets:\n      - name: t-{{os}}\n        install: x\n"
        ));
        assert_eq!(check(&text), [(codes::PLATFORMS_MISSING, (10, 17))]);
    }

    #[test]
    fn pin_only_sources() {
        let text = "version: 1\nitems:\n  snap:\n    version: 2024-03-01\n    source: {type: apt-snapshot, url: 'http://snapshot.example'}\n    assets:\n      - install: x\n";
        assert_eq!(
            check(text),
            [
                (codes::INVALID_SNAPSHOT, (4, 14)),
                (codes::INSECURE_URL, (5, 39)),
                (codes::ASSETS_WITHOUT_DOWNLOAD, (6, 5)),
            ]
        );
    }

    #[test]
    fn url_sources_need_urls() {
        let text = "version: 1\nitems:\n  u:\n    version: '1'\n    source: {type: url}\n    assets:\n      - install: a\n      - url: ftp://x/y\n        install: b\n      - url: http://127.0.0.1:8080/t.zip\n        install: c\n";
        assert_eq!(
            check(text),
            [
                (codes::ASSET_NEEDS_URL, (7, 9)),
                (codes::INVALID_URL, (8, 14))
            ]
        );
    }

    #[test]
    fn install_collisions() {
        let text = "version: 1\nitems:\n  a:\n    version: '1'\n    source: {type: url}\n    platforms: [linux/amd64, linux/arm64]\n    assets:\n      - url: https://x/a\n        install: dist/a\n  b:\n    version: '1'\n    source: {type: url}\n    assets:\n      - url: https://x/b.tgz\n        extract: {member: 'bin/*'}\n        install: dist\n";
        assert_eq!(
            check(text),
            [
                (codes::INSTALL_COLLISION, (9, 18)),
                (codes::INSTALL_COLLISION, (9, 18))
            ]
        );
    }

    #[test]
    fn a_signed_checksum_file_needs_a_checksum_file_on_every_asset() {
        let text = item(&format!(
            "{RELEASE}    assets:\n      - name: a.tar.gz\n        checksum: {{file: sums.txt}}\n        install: a\n      - name: b.tar.gz\n        checksum: github-digest\n        install: b\n    verify:\n      signatures:\n        - kind: pgp\n          key: k.asc\n          signature: '{{asset}}.asc'\n          over: checksum-file\n"
        ));
        assert_eq!(
            check(&text),
            [(codes::SIGNED_WITHOUT_CHECKSUM_FILE, (13, 9))]
        );
    }

    #[test]
    fn smoke_and_policy() {
        let text = item(&format!(
            "{RELEASE}    smoke:\n      run:\n        - args: ['{{path}}', '{{asset}}']\n          expect: 'v\\d{{8}}'\n        - args: [x]\n          expect: '(x{{version}}'\n    policy: {{sign_off: ''}}\n"
        ));
        assert_eq!(
            check(&text),
            [
                (codes::PLACEHOLDER_NOT_ALLOWED, (11, 29)),
                (codes::UNKNOWN_PLACEHOLDER, (12, 23)),
                (codes::INVALID_REGEX, (14, 19)),
                (codes::EMPTY_VALUE, (15, 24)),
            ]
        );
    }

    #[test]
    fn helpers() {
        assert_eq!(archive_format_of("a.tar.gz"), Some(ArchiveFormat::TarGz));
        assert_eq!(
            archive_format_of("https://x/a.zip?x=1"),
            Some(ArchiveFormat::Zip)
        );
        assert_eq!(archive_format_of("k3s-arm64"), None);
        assert!(is_snapshot_timestamp("20240301T000000Z"));
        assert!(!is_snapshot_timestamp("20241301T000000Z"));
        assert!(!is_snapshot_timestamp("20240301T000000Z0"));
        assert!(escapes("../a"));
        assert!(escapes("a/../../b"));
        assert!(!escapes("a/../b"));
        assert!(is_absolute("/a") && is_absolute("C:\\a"));
        assert_eq!(normalise("./a//b/"), "a/b");
        assert_eq!(ancestors("a/b/c").collect::<Vec<_>>(), ["a/b", "a"]);
        assert_eq!(host_of("[::1]:80/x"), "[::1]");
        assert_eq!(host_of("u@localhost:80/x"), "localhost");
        assert!(is_platform("linux/amd64") && !is_platform("linux"));
    }
}
