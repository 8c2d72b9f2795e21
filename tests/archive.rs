//! Safe extraction: real archives built at test time (with the tar, flate2,
//! liblzma, zstd and zip writers, by hand, and with the system `tar` and
//! Python's `zipfile` where available), extracted and checked against
//! `sha256sum`; hostile archives refused with nothing left behind. The
//! limits are exercised small (a few MiB at most); the last section runs
//! the `vendor` binary on a tree whose `vendor.yaml` sets them.
#![allow(clippy::unwrap_used)]

mod support;

#[path = "support/fake_github.rs"]
mod fake_github;

#[path = "support/build.rs"]
mod build;

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use tar::{EntryType, Header};
use tempfile::TempDir;
use vendor::archive::{self, ArchiveError, Extracted, Limits};
use vendor::manifest::model::ArchiveFormat;

const TOOL: &[u8] = b"#!/bin/sh\necho tool 1.0\n";
const HELPER: &[u8] = b"#!/bin/sh\necho helper\n";
const README: &[u8] = b"read me\n";

/// An entry of a test archive.
#[derive(Clone)]
enum E<'a> {
    File(&'a str, &'a [u8], u32),
    Dir(&'a str),
    Sym(&'a str, &'a str),
    Hard(&'a str, &'a str),
    /// A header written byte for byte, past the tar writer's path checks.
    Raw {
        name: &'a [u8],
        kind: EntryType,
        data: &'a [u8],
        link: Option<&'a [u8]>,
    },
}

fn raw_file<'a>(name: &'a str, data: &'a [u8]) -> E<'a> {
    E::Raw {
        name: name.as_bytes(),
        kind: EntryType::Regular,
        data,
        link: None,
    }
}

fn raw_link<'a>(name: &'a str, kind: EntryType, target: &'a str) -> E<'a> {
    E::Raw {
        name: name.as_bytes(),
        kind,
        data: b"",
        link: Some(target.as_bytes()),
    }
}

fn sample() -> Vec<E<'static>> {
    vec![
        E::Dir("pkg-1.0/"),
        E::Dir("pkg-1.0/bin/"),
        E::File("pkg-1.0/bin/tool", TOOL, 0o755),
        E::File("pkg-1.0/bin/helper", HELPER, 0o755),
        E::File("pkg-1.0/README", README, 0o644),
        E::Sym("pkg-1.0/tool-link", "bin/tool"),
    ]
}

fn tar_bytes(entries: &[E]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for e in entries {
        let mut h = Header::new_gnu();
        h.set_mtime(1_700_000_000);
        h.set_size(0);
        match e {
            E::File(name, data, mode) => {
                h.set_size(data.len() as u64);
                h.set_mode(*mode);
                h.set_entry_type(EntryType::Regular);
                b.append_data(&mut h, name, *data).unwrap();
            }
            E::Dir(name) => {
                h.set_mode(0o755);
                h.set_entry_type(EntryType::Directory);
                b.append_data(&mut h, name, &b""[..]).unwrap();
            }
            E::Sym(name, target) | E::Hard(name, target) => {
                let kind = if matches!(e, E::Sym(..)) {
                    EntryType::Symlink
                } else {
                    EntryType::Link
                };
                h.set_mode(0o777);
                h.set_entry_type(kind);
                b.append_link(&mut h, name, target).unwrap();
            }
            E::Raw {
                name,
                kind,
                data,
                link,
            } => {
                h.as_old_mut().name[..name.len()].copy_from_slice(name);
                h.set_size(data.len() as u64);
                h.set_mode(0o644);
                h.set_entry_type(*kind);
                if let Some(link) = link {
                    h.set_link_name_literal(link).unwrap();
                }
                h.set_cksum();
                b.append(&h, *data).unwrap();
            }
        }
    }
    b.into_inner().unwrap()
}

fn zip_bytes(entries: &[E]) -> Vec<u8> {
    use zip::write::SimpleFileOptions;
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for e in entries {
        match e {
            E::File(name, data, mode) => {
                w.start_file(*name, opts.unix_permissions(*mode)).unwrap();
                w.write_all(data).unwrap();
            }
            E::Dir(name) => w.add_directory(*name, opts).unwrap(),
            E::Sym(name, target) => w.add_symlink(*name, *target, opts).unwrap(),
            E::Raw {
                name,
                kind: EntryType::Regular,
                data,
                ..
            } => {
                w.start_file(String::from_utf8_lossy(name), opts).unwrap();
                w.write_all(data).unwrap();
            }
            E::Hard(..) | E::Raw { .. } => panic!("zip has no such entry"),
        }
    }
    w.finish().unwrap().into_inner()
}

fn gz(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn xz(data: &[u8]) -> Vec<u8> {
    let mut e = liblzma::write::XzEncoder::new(Vec::new(), 6);
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn zst(data: &[u8]) -> Vec<u8> {
    zstd::encode_all(data, 3).unwrap()
}

const ARCHIVE_FORMATS: [ArchiveFormat; 5] = [
    ArchiveFormat::Tar,
    ArchiveFormat::TarGz,
    ArchiveFormat::TarXz,
    ArchiveFormat::TarZst,
    ArchiveFormat::Zip,
];

const TAR_FORMATS: [ArchiveFormat; 4] = [
    ArchiveFormat::Tar,
    ArchiveFormat::TarGz,
    ArchiveFormat::TarXz,
    ArchiveFormat::TarZst,
];

fn build(format: ArchiveFormat, entries: &[E]) -> Vec<u8> {
    match format {
        ArchiveFormat::Tar => tar_bytes(entries),
        ArchiveFormat::TarGz => gz(&tar_bytes(entries)),
        ArchiveFormat::TarXz => xz(&tar_bytes(entries)),
        ArchiveFormat::TarZst => zst(&tar_bytes(entries)),
        ArchiveFormat::Zip => zip_bytes(entries),
        ArchiveFormat::Gz | ArchiveFormat::Xz => panic!("not a multi-file format"),
        ArchiveFormat::Deb => panic!("packages are built by dpkg-deb (tests/apt.rs)"),
    }
}

fn file_name(format: ArchiveFormat) -> &'static str {
    match format {
        ArchiveFormat::Tar => "pkg.tar",
        ArchiveFormat::TarGz => "pkg.tar.gz",
        ArchiveFormat::TarXz => "pkg.tar.xz",
        ArchiveFormat::TarZst => "pkg.tar.zst",
        ArchiveFormat::Zip => "pkg.zip",
        ArchiveFormat::Gz => "tool.gz",
        ArchiveFormat::Xz => "tool.xz",
        ArchiveFormat::Deb => "pkg.deb",
    }
}

/// An archive on disk and an empty destination, each in its own directory
/// so that anything written beside `dest` is noticed.
struct Fixture {
    _tmp: TempDir,
    archive: PathBuf,
    out: PathBuf,
    dest: PathBuf,
}

impl Fixture {
    fn new(name: &str, bytes: &[u8]) -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let input = tmp.path().join("in");
        let out = tmp.path().join("out");
        let dest = out.join("dest");
        fs::create_dir_all(&input).unwrap();
        fs::create_dir_all(&dest).unwrap();
        let archive = input.join(name);
        fs::write(&archive, bytes).unwrap();
        Self {
            _tmp: tmp,
            archive,
            out,
            dest,
        }
    }

    fn of(format: ArchiveFormat, entries: &[E]) -> Self {
        Self::new(file_name(format), &build(format, entries))
    }

    fn extract(
        &self,
        format: ArchiveFormat,
        pattern: &str,
        strip: u32,
    ) -> Result<Vec<Extracted>, ArchiveError> {
        self.extract_with(format, pattern, strip, &Limits::default())
    }

    fn extract_with(
        &self,
        format: ArchiveFormat,
        pattern: &str,
        strip: u32,
        limits: &Limits,
    ) -> Result<Vec<Extracted>, ArchiveError> {
        archive::extract(&self.archive, format, pattern, strip, &self.dest, limits)
    }

    /// `dest` is empty and nothing was written beside it.
    fn assert_clean(&self) {
        let left: Vec<_> = fs::read_dir(&self.dest).unwrap().collect();
        assert!(left.is_empty(), "dest not empty: {left:?}");
        let beside: Vec<_> = fs::read_dir(&self.out)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(beside, vec!["dest"], "something written beside dest");
        let inputs = fs::read_dir(self.archive.parent().unwrap())
            .unwrap()
            .count();
        assert_eq!(inputs, 1, "something written beside the archive");
    }

    /// Extraction fails with `code`, leaving nothing behind.
    fn refused(
        &self,
        format: ArchiveFormat,
        pattern: &str,
        strip: u32,
        limits: &Limits,
        code: &str,
    ) -> ArchiveError {
        let err = self
            .extract_with(format, pattern, strip, limits)
            .expect_err("extraction should fail");
        assert_eq!(code_of(&err), code, "{format:?}: {err}");
        self.assert_clean();
        err
    }
}

fn code_of(err: &ArchiveError) -> String {
    miette::Diagnostic::code(err).unwrap().to_string()
}

fn help_of(err: &ArchiveError) -> String {
    miette::Diagnostic::help(err).unwrap().to_string()
}

/// sha256 of a file as computed by the system `sha256sum`.
fn sha256sum(path: &Path) -> String {
    let out = Command::new("sha256sum").arg(path).output().unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap()[..64].to_owned()
}

#[cfg(unix)]
fn disk_mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn check(done: &Extracted, member: &str, path: &Path, contents: &[u8], mode: u32) {
    assert_eq!(done.member, member);
    assert_eq!(done.path, path);
    assert_eq!(fs::read(path).unwrap(), contents);
    assert_eq!(done.size, contents.len() as u64);
    assert_eq!(done.sha256, sha256sum(path));
    assert_eq!(done.mode, mode);
    #[cfg(unix)]
    assert_eq!(disk_mode(path) & 0o111, mode & 0o111, "executable bits");
}

/// The defaults with a small size limit.
fn big(limit: u64) -> Limits {
    Limits {
        max_size: limit,
        max_entries: 1000,
        ..Limits::default()
    }
}

// ---------------------------------------------------------------------------
// Extraction

#[test]
fn exact_member_for_every_format() {
    for format in ARCHIVE_FORMATS {
        let fx = Fixture::of(format, &sample());
        let done = fx.extract(format, "pkg-1.0/bin/tool", 0).unwrap();
        assert_eq!(done.len(), 1, "{format:?}");
        check(
            &done[0],
            "pkg-1.0/bin/tool",
            &fx.dest.join("tool"),
            TOOL,
            0o755,
        );
        let files: Vec<_> = fs::read_dir(&fx.dest).unwrap().collect();
        assert_eq!(files.len(), 1, "{format:?}: only the member is written");
    }
}

#[test]
fn leading_dot_slash_is_ignored_in_pattern_and_members() {
    for format in ARCHIVE_FORMATS {
        let entries = [E::File("./pkg/tool", TOOL, 0o755)];
        let fx = Fixture::of(format, &entries);
        let done = fx.extract(format, "pkg/tool", 0).unwrap();
        check(&done[0], "pkg/tool", &fx.dest.join("tool"), TOOL, 0o755);

        let fx = Fixture::of(format, &sample());
        let done = fx.extract(format, "./pkg-1.0/README", 0).unwrap();
        check(
            &done[0],
            "pkg-1.0/README",
            &fx.dest.join("README"),
            README,
            0o644,
        );
    }
}

#[test]
fn glob_with_strip_components_for_every_format() {
    for format in ARCHIVE_FORMATS {
        let fx = Fixture::of(format, &sample());
        let mut done = fx.extract(format, "*/bin/*", 1).unwrap();
        done.sort_by(|a, b| a.member.cmp(&b.member));
        assert_eq!(done.len(), 2, "{format:?}: {done:?}");
        check(
            &done[0],
            "pkg-1.0/bin/helper",
            &fx.dest.join("bin/helper"),
            HELPER,
            0o755,
        );
        check(
            &done[1],
            "pkg-1.0/bin/tool",
            &fx.dest.join("bin/tool"),
            TOOL,
            0o755,
        );
    }
}

#[test]
fn glob_without_strip_keeps_member_paths_and_skips_directories() {
    // `pkg-1.0/bin` (a directory) matches `*` too and is skipped.
    let format = ArchiveFormat::TarGz;
    let fx = Fixture::of(format, &sample()[..5]);
    let done = fx.extract(format, "pkg-1.0/*", 0).unwrap();
    assert_eq!(done.len(), 1);
    check(
        &done[0],
        "pkg-1.0/README",
        &fx.dest.join("pkg-1.0/README"),
        README,
        0o644,
    );
}

#[test]
fn double_star_crosses_directories_and_too_short_matches_are_skipped() {
    let format = ArchiveFormat::Tar;
    let entries = [
        E::File("LICENSE", README, 0o644),
        E::File("pkg/bin/tool", TOOL, 0o755),
    ];
    let fx = Fixture::of(format, &entries);
    let done = fx.extract(format, "**", 1).unwrap();
    assert_eq!(done.len(), 1, "{done:?}");
    check(
        &done[0],
        "pkg/bin/tool",
        &fx.dest.join("bin/tool"),
        TOOL,
        0o755,
    );
}

#[test]
fn internal_links_are_accepted() {
    for format in ARCHIVE_FORMATS {
        let mut entries = sample();
        entries.push(E::Sym("pkg-1.0/lib/up", "../bin/tool"));
        entries.push(E::Sym("pkg-1.0/self", "."));
        if format != ArchiveFormat::Zip {
            entries.push(E::Hard("pkg-1.0/bin/tool2", "pkg-1.0/bin/tool"));
        }
        let fx = Fixture::of(format, &entries);
        let done = fx.extract(format, "pkg-1.0/bin/tool", 0).unwrap();
        check(
            &done[0],
            "pkg-1.0/bin/tool",
            &fx.dest.join("tool"),
            TOOL,
            0o755,
        );
    }
}

#[test]
fn single_file_gz_and_xz() {
    let data: Vec<u8> = (0..200_000u32).flat_map(|i| i.to_le_bytes()).collect();
    for (format, bytes) in [
        (ArchiveFormat::Gz, gz(&data)),
        (ArchiveFormat::Xz, xz(&data)),
    ] {
        let fx = Fixture::new(file_name(format), &bytes);
        let out = fx.dest.join("tool");
        let done = archive::decompress(&fx.archive, format, &out, &Limits::default()).unwrap();
        check(&done, "tool", &out, &data, 0o644);
        assert_eq!(
            archive::members(&fx.archive, format, &Limits::default()).unwrap(),
            vec!["tool"]
        );

        let fx = Fixture::new(file_name(format), &bytes);
        let done = fx.extract(format, "bin/renamed", 0).unwrap();
        check(
            &done[0],
            "bin/renamed",
            &fx.dest.join("renamed"),
            &data,
            0o644,
        );
        let fx = Fixture::new(file_name(format), &bytes);
        let err = fx.refused(
            format,
            "*",
            0,
            &Limits::default(),
            "vendor::archive::bad-pattern",
        );
        assert!(err.to_string().contains('*'));
    }
}

#[test]
fn concatenated_gzip_members_are_one_stream() {
    let mut bytes = gz(b"first ");
    bytes.extend(gz(b"second"));
    let fx = Fixture::new("tool.gz", &bytes);
    let out = fx.dest.join("tool");
    let done =
        archive::decompress(&fx.archive, ArchiveFormat::Gz, &out, &Limits::default()).unwrap();
    assert_eq!(fs::read(&out).unwrap(), b"first second");
    assert_eq!(done.size, 12);
}

#[test]
fn decompress_refuses_multi_file_formats() {
    let fx = Fixture::of(ArchiveFormat::TarGz, &sample());
    let err = archive::decompress(
        &fx.archive,
        ArchiveFormat::TarGz,
        &fx.dest.join("x"),
        &Limits::default(),
    )
    .unwrap_err();
    assert_eq!(code_of(&err), "vendor::archive::wrong-format");
    fx.assert_clean();
}

#[test]
fn members_lists_regular_files_only() {
    for format in ARCHIVE_FORMATS {
        let fx = Fixture::of(format, &sample());
        let names = archive::members(&fx.archive, format, &Limits::default()).unwrap();
        assert_eq!(
            names,
            ["pkg-1.0/bin/tool", "pkg-1.0/bin/helper", "pkg-1.0/README"],
            "{format:?}"
        );
    }
}

#[test]
fn long_names_are_read() {
    let long = format!("pkg/{}/tool", "d".repeat(150));
    for format in ARCHIVE_FORMATS {
        let fx = Fixture::of(format, &[E::File(&long, TOOL, 0o755)]);
        let done = fx.extract(format, &long, 0).unwrap();
        check(&done[0], &long, &fx.dest.join("tool"), TOOL, 0o755);
    }
}

#[test]
fn large_member_streams_through() {
    // Bigger than the copy buffer, so it is written in several chunks.
    let data: Vec<u8> = (0..1_000_000u32).map(|i| (i % 251) as u8).collect();
    for format in ARCHIVE_FORMATS {
        let fx = Fixture::of(format, &[E::File("big.bin", &data, 0o600)]);
        let done = fx.extract(format, "big.bin", 0).unwrap();
        check(&done[0], "big.bin", &fx.dest.join("big.bin"), &data, 0o600);
    }
}

// ---------------------------------------------------------------------------
// Independent tools

fn have(tool: &str) -> bool {
    Command::new(tool)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// A source tree for the system tools: `bin/tool` (0755), `doc/README`.
fn source_tree(root: &Path) {
    fs::create_dir_all(root.join("bin")).unwrap();
    fs::create_dir_all(root.join("doc")).unwrap();
    fs::write(root.join("bin/tool"), TOOL).unwrap();
    fs::write(root.join("doc/README"), README).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(root.join("bin/tool"), fs::Permissions::from_mode(0o755)).unwrap();
        fs::set_permissions(root.join("doc/README"), fs::Permissions::from_mode(0o644)).unwrap();
    }
}

#[test]
fn archive_made_by_system_tar() {
    if !have("tar") {
        return;
    }
    let src = tempfile::tempdir().unwrap();
    source_tree(src.path());
    let work = tempfile::tempdir().unwrap();
    for (flag, name, format) in [
        ("-czf", "sys.tar.gz", ArchiveFormat::TarGz),
        ("-cJf", "sys.tar.xz", ArchiveFormat::TarXz),
        ("-cf", "sys.tar", ArchiveFormat::Tar),
    ] {
        if flag == "-cJf" && !have("xz") {
            continue;
        }
        let path = work.path().join(name);
        // `-C dir .` gives `./bin/tool`-style names.
        let status = Command::new("tar")
            .arg(flag)
            .arg(&path)
            .arg("-C")
            .arg(src.path())
            .arg(".")
            .status()
            .unwrap();
        assert!(status.success());
        let fx = Fixture::new(name, &fs::read(&path).unwrap());
        let done = fx.extract(format, "bin/tool", 0).unwrap();
        check(&done[0], "bin/tool", &fx.dest.join("tool"), TOOL, 0o755);
        let mut names = archive::members(&fx.archive, format, &Limits::default()).unwrap();
        names.sort();
        assert_eq!(names, ["bin/tool", "doc/README"]);
    }
}

#[test]
fn archive_made_by_python_zipfile() {
    if !have("python3") {
        return;
    }
    let src = tempfile::tempdir().unwrap();
    source_tree(src.path());
    let work = tempfile::tempdir().unwrap();
    let path = work.path().join("py.zip");
    let status = Command::new("python3")
        .args(["-m", "zipfile", "-c"])
        .arg(&path)
        .arg("bin")
        .arg("doc")
        .current_dir(src.path())
        .status()
        .unwrap();
    assert!(status.success());
    let fx = Fixture::new("py.zip", &fs::read(&path).unwrap());
    let mut done = fx.extract(ArchiveFormat::Zip, "*/*", 0).unwrap();
    done.sort_by(|a, b| a.member.cmp(&b.member));
    check(&done[0], "bin/tool", &fx.dest.join("bin/tool"), TOOL, 0o755);
    check(
        &done[1],
        "doc/README",
        &fx.dest.join("doc/README"),
        README,
        0o644,
    );
}

// ---------------------------------------------------------------------------
// Diagnostics

#[test]
fn missing_member_lists_what_the_archive_holds() {
    for format in ARCHIVE_FORMATS {
        let fx = Fixture::of(format, &sample());
        let err = fx.refused(
            format,
            "pkg-1.0/bin/nope",
            0,
            &Limits::default(),
            "vendor::archive::member-missing",
        );
        let ArchiveError::MemberMissing {
            ref available,
            total,
            ..
        } = err
        else {
            panic!("{err:?}");
        };
        assert_eq!(total, 3);
        assert_eq!(available.len(), 3);
        let help = help_of(&err);
        assert!(help.contains("extract.member"), "{help}");
        assert!(help.contains("pkg-1.0/bin/helper"), "{help}");
        assert!(err.to_string().contains(file_name(format)), "{err}");
    }
}

#[test]
fn missing_member_list_is_capped() {
    let names: Vec<String> = (0..30).map(|i| format!("f{i:02}")).collect();
    let entries: Vec<E> = names.iter().map(|n| E::File(n, b"x", 0o644)).collect();
    let fx = Fixture::of(ArchiveFormat::Tar, &entries);
    let err = fx.refused(
        ArchiveFormat::Tar,
        "nope",
        0,
        &Limits::default(),
        "vendor::archive::member-missing",
    );
    let help = help_of(&err);
    assert!(help.contains("f19") && !help.contains("f20"), "{help}");
    assert!(help.contains("(10 more)"), "{help}");
}

#[test]
fn glob_matching_nothing_is_missing() {
    let fx = Fixture::of(ArchiveFormat::Zip, &sample());
    fx.refused(
        ArchiveFormat::Zip,
        "*/sbin/*",
        0,
        &Limits::default(),
        "vendor::archive::member-missing",
    );
    // Matches, but nothing is left after stripping.
    fx.refused(
        ArchiveFormat::Zip,
        "*/bin/*",
        3,
        &Limits::default(),
        "vendor::archive::member-missing",
    );
}

#[test]
fn bad_patterns() {
    let fx = Fixture::of(ArchiveFormat::Tar, &sample());
    for pattern in ["", "./", "../x", "/abs", "[unclosed"] {
        fx.refused(
            ArchiveFormat::Tar,
            pattern,
            0,
            &Limits::default(),
            "vendor::archive::bad-pattern",
        );
    }
}

#[test]
fn selected_links_and_directories_are_refused() {
    for format in ARCHIVE_FORMATS {
        let fx = Fixture::of(format, &sample());
        let err = fx.refused(
            format,
            "pkg-1.0/tool-link",
            0,
            &Limits::default(),
            "vendor::archive::not-regular",
        );
        assert!(err.to_string().contains("symbolic link"), "{err}");
        let err = fx.refused(
            format,
            "pkg-1.0/bin",
            0,
            &Limits::default(),
            "vendor::archive::not-regular",
        );
        assert!(err.to_string().contains("directory"), "{err}");
        // A glob that also matches the link: refused, and the files it had
        // already written are removed.
        fx.refused(
            format,
            "pkg-1.0/*",
            0,
            &Limits::default(),
            "vendor::archive::not-regular",
        );
    }
    let mut entries = sample();
    entries.push(E::Hard("pkg-1.0/bin/tool2", "pkg-1.0/bin/tool"));
    let fx = Fixture::of(ArchiveFormat::Tar, &entries);
    let err = fx.refused(
        ArchiveFormat::Tar,
        "*/bin/*",
        1,
        &Limits::default(),
        "vendor::archive::not-regular",
    );
    assert!(err.to_string().contains("hard link"), "{err}");
}

#[test]
fn duplicate_outputs_are_refused() {
    for format in TAR_FORMATS {
        let entries = [
            E::File("tool", TOOL, 0o755),
            E::File("./tool", HELPER, 0o755),
        ];
        let fx = Fixture::of(format, &entries);
        fx.refused(
            format,
            "tool",
            0,
            &Limits::default(),
            "vendor::archive::duplicate",
        );
    }
    for format in ARCHIVE_FORMATS {
        let entries = [
            E::File("a/bin/tool", TOOL, 0o755),
            E::File("b/bin/tool", HELPER, 0o755),
        ];
        let fx = Fixture::of(format, &entries);
        fx.refused(
            format,
            "*/bin/tool",
            1,
            &Limits::default(),
            "vendor::archive::duplicate",
        );
        // A file where another needs a directory.
        let entries = [E::File("a/x", TOOL, 0o755), E::File("b/x/y", HELPER, 0o755)];
        let fx = Fixture::of(format, &entries);
        fx.refused(
            format,
            "**",
            1,
            &Limits::default(),
            "vendor::archive::duplicate",
        );
    }
}

// ---------------------------------------------------------------------------
// Hostile archives

/// Hostile entries, each placed after a selected member so that a file has
/// already been written when the archive is refused.
fn hostile(evil: E<'_>) -> Vec<E<'_>> {
    vec![E::File("pkg/tool", TOOL, 0o755), evil]
}

#[test]
fn unsafe_tar_paths_refuse_the_whole_archive() {
    let cases: [(&str, E); 7] = [
        ("parent", raw_file("../evil", b"x")),
        ("nested parent", raw_file("pkg/../../evil", b"x")),
        ("absolute", raw_file("/abs/path", b"x")),
        ("backslash parent", raw_file("..\\evil", b"x")),
        ("drive", raw_file("C:/evil", b"x")),
        ("unc", raw_file("\\\\server\\share\\evil", b"x")),
        (
            "parent directory",
            E::Raw {
                name: b"../d/",
                kind: EntryType::Directory,
                data: b"",
                link: None,
            },
        ),
    ];
    for (what, evil) in cases {
        for format in TAR_FORMATS {
            let fx = Fixture::of(format, &hostile(evil.clone()));
            fx.refused(
                format,
                "pkg/tool",
                0,
                &Limits::default(),
                "vendor::archive::unsafe-path",
            );
            fx.refused(
                format,
                "**",
                0,
                &Limits::default(),
                "vendor::archive::unsafe-path",
            );
            let err = archive::members(&fx.archive, format, &Limits::default()).unwrap_err();
            assert_eq!(code_of(&err), "vendor::archive::unsafe-path", "{what}");
        }
    }
}

#[test]
fn unsafe_zip_paths_refuse_the_whole_archive() {
    for name in [
        "../evil",
        "/abs/path",
        "..\\evil",
        "C:/evil",
        "a/../../evil",
    ] {
        let fx = Fixture::of(ArchiveFormat::Zip, &hostile(raw_file(name, b"x")));
        fx.refused(
            ArchiveFormat::Zip,
            "pkg/tool",
            0,
            &Limits::default(),
            "vendor::archive::unsafe-path",
        );
    }
}

#[test]
fn escaping_symlink_then_a_file_through_it() {
    let cases = [
        ("link", "../../etc"),
        ("abs", "/etc"),
        ("pkg/deep", "../../outside"),
        ("win", "C:\\Windows"),
    ];
    for (link, target) in cases {
        for format in ARCHIVE_FORMATS {
            let through = format!("{link}/passwd");
            let entries = if format == ArchiveFormat::Zip {
                vec![
                    E::File("pkg/tool", TOOL, 0o755),
                    E::Sym(link, target),
                    E::File(&through, b"pwned", 0o644),
                ]
            } else {
                vec![
                    E::File("pkg/tool", TOOL, 0o755),
                    raw_link(link, EntryType::Symlink, target),
                    raw_file(&through, b"pwned"),
                ]
            };
            let fx = Fixture::of(format, &entries);
            let err = fx.refused(
                format,
                "**",
                0,
                &Limits::default(),
                "vendor::archive::link-escapes",
            );
            assert!(err.to_string().contains(target), "{err}");
        }
    }
}

#[test]
fn symlink_chains_are_resolved_in_any_order() {
    // `up -> here/..` looks harmless, but `here -> .` comes later, so
    // `up` is the root's parent.
    for format in [ArchiveFormat::Tar, ArchiveFormat::Zip] {
        let entries = [
            E::File("pkg/tool", TOOL, 0o755),
            E::Sym("up", "here/.."),
            E::Sym("here", "."),
        ];
        let fx = Fixture::of(format, &entries);
        fx.refused(
            format,
            "pkg/tool",
            0,
            &Limits::default(),
            "vendor::archive::link-escapes",
        );
    }
    // A loop goes nowhere and is not an escape.
    let entries = [
        E::File("pkg/tool", TOOL, 0o755),
        E::Sym("a", "b"),
        E::Sym("b", "a"),
    ];
    let fx = Fixture::of(ArchiveFormat::Tar, &entries);
    fx.extract(ArchiveFormat::Tar, "pkg/tool", 0).unwrap();
}

#[test]
fn escaping_hard_links_are_refused() {
    for target in ["/etc/passwd", "../outside", "pkg/../../outside"] {
        for format in TAR_FORMATS {
            let fx = Fixture::of(
                format,
                &hostile(raw_link("pkg/passwd", EntryType::Link, target)),
            );
            fx.refused(
                format,
                "pkg/tool",
                0,
                &Limits::default(),
                "vendor::archive::link-escapes",
            );
        }
    }
}

#[test]
fn declared_bomb_is_refused() {
    let zeros = vec![0u8; 2 << 20];
    let limits = big(1 << 20);
    for format in ARCHIVE_FORMATS {
        let bytes = build(
            format,
            &[
                E::File("pkg/tool", TOOL, 0o755),
                E::File("bomb", &zeros, 0o644),
            ],
        );
        if format != ArchiveFormat::Tar {
            assert!(bytes.len() < 64 << 10, "{format:?}: {} bytes", bytes.len());
        }
        let fx = Fixture::new(file_name(format), &bytes);
        // Refused even though the bomb is not selected.
        let err = fx.refused(format, "pkg/tool", 0, &limits, "vendor::archive::too-large");
        assert!(err.to_string().contains("bomb"), "{err}");
    }
}

#[test]
fn total_size_limit_counts_every_entry() {
    let data = vec![7u8; 600 << 10];
    let limits = Limits {
        max_entries: 100,
        ..big(1 << 20)
    };
    for format in ARCHIVE_FORMATS {
        let fx = Fixture::of(
            format,
            &[E::File("a", &data, 0o644), E::File("b", &data, 0o644)],
        );
        fx.refused(format, "a", 0, &limits, "vendor::archive::too-large");
    }
}

#[test]
fn single_file_bomb_is_stopped_while_streaming() {
    // gz and xz declare no size: the bytes are counted as they come.
    let zeros = vec![0u8; 3 << 20];
    for (format, bytes) in [
        (ArchiveFormat::Gz, gz(&zeros)),
        (ArchiveFormat::Xz, xz(&zeros)),
    ] {
        assert!(bytes.len() < 64 << 10);
        let fx = Fixture::new(file_name(format), &bytes);
        let err = archive::decompress(&fx.archive, format, &fx.dest.join("tool"), &big(1 << 20))
            .unwrap_err();
        assert_eq!(code_of(&err), "vendor::archive::too-large", "{err}");
        fx.assert_clean();
    }
}

#[test]
fn huge_gnu_long_name_is_not_buffered() {
    // A "long name" entry of 2 MiB: the tar reader would hold it in memory.
    let name = vec![b'a'; 2 << 20];
    let entries = [
        E::File("pkg/tool", TOOL, 0o755),
        E::Raw {
            name: b"././@LongLink",
            kind: EntryType::GNULongName,
            data: &name,
            link: None,
        },
        raw_file("x", b"x"),
    ];
    let fx = Fixture::of(ArchiveFormat::TarGz, &entries);
    let err = fx.refused(
        ArchiveFormat::TarGz,
        "pkg/tool",
        0,
        &Limits::default(),
        "vendor::archive::too-large",
    );
    assert!(err.to_string().contains("metadata"), "{err}");
}

#[test]
fn too_many_entries_are_refused() {
    let names: Vec<String> = (0..11).map(|i| format!("f{i}")).collect();
    let entries: Vec<E> = names.iter().map(|n| E::File(n, b"x", 0o644)).collect();
    let limits = Limits {
        max_entries: 10,
        ..Limits::default()
    };
    for format in ARCHIVE_FORMATS {
        let fx = Fixture::of(format, &entries);
        fx.refused(
            format,
            "f0",
            0,
            &limits,
            "vendor::archive::too-many-entries",
        );
        let ok = Limits {
            max_entries: 11,
            ..Limits::default()
        };
        fx.extract_with(format, "f0", 0, &ok).unwrap();
    }
}

#[test]
fn truncated_archives_are_corrupt() {
    let data: Vec<u8> = (0..100_000u32)
        .flat_map(|i| i.wrapping_mul(2_654_435_761).to_le_bytes())
        .collect();
    for format in ARCHIVE_FORMATS {
        let bytes = build(
            format,
            &[
                E::File("pkg/tool", &data, 0o755),
                E::File("pkg/z", b"z", 0o644),
            ],
        );
        for cut in [bytes.len() / 2, bytes.len() - 1] {
            let fx = Fixture::new(file_name(format), &bytes[..cut]);
            // Plain tar cut after the selected member has nothing to check.
            if format == ArchiveFormat::Tar && cut == bytes.len() - 1 {
                continue;
            }
            fx.refused(
                format,
                "**",
                0,
                &Limits::default(),
                "vendor::archive::corrupt",
            );
        }
    }
    for (format, bytes) in [
        (ArchiveFormat::Gz, gz(&data)),
        (ArchiveFormat::Xz, xz(&data)),
    ] {
        let fx = Fixture::new(file_name(format), &bytes[..bytes.len() - 4]);
        let err = archive::decompress(
            &fx.archive,
            format,
            &fx.dest.join("tool"),
            &Limits::default(),
        )
        .unwrap_err();
        assert_eq!(
            code_of(&err),
            "vendor::archive::corrupt",
            "{format:?}: {err}"
        );
        fx.assert_clean();
    }
}

#[test]
fn garbage_is_corrupt_for_every_format() {
    let garbage: Vec<u8> = (0..5000u32)
        .map(|i| (i.wrapping_mul(7919) >> 3) as u8)
        .collect();
    for format in ARCHIVE_FORMATS {
        let fx = Fixture::new(file_name(format), &garbage);
        fx.refused(
            format,
            "tool",
            0,
            &Limits::default(),
            "vendor::archive::corrupt",
        );
        let err = archive::members(&fx.archive, format, &Limits::default()).unwrap_err();
        assert_eq!(code_of(&err), "vendor::archive::corrupt");
    }
    for format in [ArchiveFormat::Gz, ArchiveFormat::Xz] {
        let fx = Fixture::new(file_name(format), &garbage);
        fx.refused(
            format,
            "tool",
            0,
            &Limits::default(),
            "vendor::archive::corrupt",
        );
    }
    // Empty files too.
    for format in ARCHIVE_FORMATS {
        let fx = Fixture::new(file_name(format), b"");
        let err = fx.extract(format, "tool", 0).unwrap_err();
        assert!(
            [
                "vendor::archive::corrupt",
                "vendor::archive::member-missing"
            ]
            .contains(&code_of(&err).as_str()),
            "{format:?}: {err}"
        );
        fx.assert_clean();
    }
}

#[test]
fn missing_archive_is_an_io_error() {
    let fx = Fixture::new("pkg.tar.gz", b"");
    let gone = fx.archive.with_file_name("gone.tar.gz");
    let err = archive::extract(
        &gone,
        ArchiveFormat::TarGz,
        "x",
        0,
        &fx.dest,
        &Limits::default(),
    )
    .unwrap_err();
    assert_eq!(code_of(&err), "vendor::archive::io");
    assert!(err.to_string().contains("gone.tar.gz"), "{err}");
}

#[test]
fn special_files_are_ignored_unless_selected() {
    let entries = [
        E::File("pkg/tool", TOOL, 0o755),
        E::Raw {
            name: b"pkg/fifo",
            kind: EntryType::Fifo,
            data: b"",
            link: None,
        },
    ];
    let fx = Fixture::of(ArchiveFormat::Tar, &entries);
    fx.extract(ArchiveFormat::Tar, "pkg/tool", 0).unwrap();
    let fx = Fixture::of(ArchiveFormat::Tar, &entries);
    fx.refused(
        ArchiveFormat::Tar,
        "pkg/fifo",
        0,
        &Limits::default(),
        "vendor::archive::not-regular",
    );
}

#[test]
fn mutated_archives_never_panic_nor_leave_files() {
    // Deterministic byte flips over small archives of every format: each
    // run either extracts or fails cleanly.
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for format in ARCHIVE_FORMATS {
        let bytes = build(format, &sample()[..5]);
        for _ in 0..150 {
            let mut bad = bytes.clone();
            for _ in 0..1 + next() % 4 {
                let at = (next() % bad.len() as u64) as usize;
                bad[at] ^= 1 << (next() % 8);
            }
            let fx = Fixture::new(file_name(format), &bad);
            match fx.extract(format, "**", 0) {
                Ok(done) => assert!(!done.is_empty()),
                Err(_) => fx.assert_clean(),
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Bombs

/// Limits whose expansion guard starts after 1 MiB, as the defaults do
/// after 32 MiB.
fn guarded(max_size: u64) -> Limits {
    Limits {
        max_size,
        max_entries: 1000,
        max_ratio: 200,
        ratio_floor: 1 << 20,
    }
}

/// `len` bytes no compressor shrinks (xorshift).
fn noise(len: usize) -> Vec<u8> {
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// The decompressed byte count a ratio refusal reports.
fn expanded_bytes(err: &ArchiveError) -> u64 {
    let text = err.to_string();
    let at = text
        .find(" bytes came out of ")
        .unwrap_or_else(|| panic!("not an expansion refusal: {text}"));
    let digits: String = text[..at]
        .chars()
        .rev()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.chars().rev().collect::<String>().parse().unwrap()
}

#[test]
fn default_limits_suit_vendored_binaries() {
    // Release archives of single tools are a few hundred MiB at most and
    // compress a few times over, never hundreds of times.
    let limits = Limits::default();
    assert_eq!(limits.max_size, 512 << 20);
    assert_eq!(limits.max_ratio, 200);
    assert_eq!(limits.ratio_floor, 32 << 20);
    assert_eq!(Limits::with_max_size(1 << 30).max_ratio, 200);
}

#[test]
fn expansion_guard_stops_a_stream_early() {
    // 8 MiB of zeros compress over 1000:1; the guard stops them a little
    // past its 1 MiB floor, far below the size limit.
    let zeros = vec![0u8; 8 << 20];
    for format in [
        ArchiveFormat::TarGz,
        ArchiveFormat::TarXz,
        ArchiveFormat::TarZst,
        ArchiveFormat::Zip,
    ] {
        let fx = Fixture::of(
            format,
            &[
                E::File("tool", TOOL, 0o755),
                E::File("zeros", &zeros, 0o644),
            ],
        );
        let err = fx.refused(
            format,
            "*",
            0,
            &guarded(1 << 30),
            "vendor::archive::too-large",
        );
        assert!(err.to_string().contains("200:1"), "{format:?}: {err}");
        assert!(expanded_bytes(&err) < 2 << 20, "{format:?}: {err}");
    }
    for (format, bytes) in [
        (ArchiveFormat::Gz, gz(&zeros)),
        (ArchiveFormat::Xz, xz(&zeros)),
    ] {
        let fx = Fixture::new(file_name(format), &bytes);
        let err = fx.refused(
            format,
            "tool",
            0,
            &guarded(1 << 30),
            "vendor::archive::too-large",
        );
        assert!(expanded_bytes(&err) < 2 << 20, "{format:?}: {err}");
    }
}

#[test]
fn expansion_guard_spares_honest_archives() {
    // Incompressible data of any size, compressible data below the floor,
    // and plain tar (which does not expand) all pass.
    let noise = noise(3 << 19);
    let zeros = vec![0u8; 512 << 10];
    for format in ARCHIVE_FORMATS {
        let fx = Fixture::of(
            format,
            &[
                E::File("noise", &noise, 0o644),
                E::File("zeros", &zeros, 0o644),
            ],
        );
        let done = fx.extract_with(format, "*", 0, &guarded(1 << 30)).unwrap();
        assert_eq!(done.len(), 2, "{format:?}");
    }
    let big_zeros = vec![0u8; 4 << 20];
    let fx = Fixture::of(ArchiveFormat::Tar, &[E::File("zeros", &big_zeros, 0o644)]);
    fx.extract_with(ArchiveFormat::Tar, "zeros", 0, &guarded(1 << 30))
        .unwrap();
}

#[test]
fn extraction_stops_at_the_size_limit_without_the_guard() {
    // With the ratio guard off, what is written still stops at max_size.
    let zeros = vec![0u8; 4 << 20];
    let limits = Limits {
        max_ratio: u64::MAX,
        ..big(1 << 20)
    };
    for (format, bytes) in [
        (ArchiveFormat::Gz, gz(&zeros)),
        (ArchiveFormat::Xz, xz(&zeros)),
    ] {
        let fx = Fixture::new(file_name(format), &bytes);
        let err = fx.refused(format, "tool", 0, &limits, "vendor::archive::too-large");
        assert!(err.to_string().contains("1048576 byte"), "{err}");
    }
}

#[test]
fn overlapping_zip_entries_are_refused() {
    // One local record of 1 MiB of zeros named by three central entries:
    // the zip bomb trick that multiplies output without adding input.
    let zeros = vec![0u8; 1 << 20];
    let packed = build::deflate_raw(&zeros);
    let local = build::ZipRecord::deflated("a", &packed, &zeros, 0o644);

    // The hand-made zip is sound with one entry per record.
    let fx = Fixture::new("pkg.zip", &build::raw_zip(&[local], &[("a", 0)]));
    let done = fx.extract(ArchiveFormat::Zip, "a", 0).unwrap();
    check(&done[0], "a", &fx.dest.join("a"), &zeros, 0o644);

    let bomb = build::raw_zip(&[local], &[("a", 0), ("b", 0), ("c", 0)]);
    let fx = Fixture::new("pkg.zip", &bomb);
    for pattern in ["*", "a"] {
        let err = fx.refused(
            ArchiveFormat::Zip,
            pattern,
            0,
            &Limits::default(),
            "vendor::archive::overlapping-entries",
        );
        assert!(err.to_string().contains("overlap"), "{err}");
    }
    let err = archive::members(&fx.archive, ArchiveFormat::Zip, &Limits::default()).unwrap_err();
    assert_eq!(code_of(&err), "vendor::archive::overlapping-entries");
}

// ---------------------------------------------------------------------------
// Modes

#[test]
fn group_and_world_write_bits_are_dropped() {
    for format in ARCHIVE_FORMATS {
        let fx = Fixture::of(
            format,
            &[
                E::File("rwx", TOOL, 0o777),
                E::File("rw", README, 0o666),
                E::File("group", TOOL, 0o775),
                E::File("mine", README, 0o600),
            ],
        );
        let done = fx.extract(format, "*", 0).unwrap();
        let modes: Vec<(&str, u32)> = done.iter().map(|d| (d.member.as_str(), d.mode)).collect();
        assert_eq!(
            modes,
            [
                ("rwx", 0o755),
                ("rw", 0o644),
                ("group", 0o755),
                ("mine", 0o600)
            ],
            "{format:?}"
        );
        #[cfg(unix)]
        for d in &done {
            assert_eq!(disk_mode(&d.path) & 0o022, 0, "{format:?} {}", d.member);
        }
    }
}

// ---------------------------------------------------------------------------
// Sparse files

fn have_gnu_tar() -> bool {
    Command::new("tar")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success() && String::from_utf8_lossy(&o.stdout).contains("GNU tar"))
}

/// `dir/f`: 1 MiB with data every 128 KiB and at its end, holes between
/// (more data regions than an old GNU header describes, so the sparse
/// map continues in extension blocks); returns its contents.
fn holey_file(dir: &Path) -> Vec<u8> {
    use std::io::{Seek, SeekFrom};
    let path = dir.join("f");
    let mut f = fs::File::create(&path).unwrap();
    for i in 0..7u64 {
        f.seek(SeekFrom::Start(i * (128 << 10))).unwrap();
        write!(f, "region {i}").unwrap();
    }
    f.set_len(1 << 20).unwrap();
    f.seek(SeekFrom::End(0)).unwrap();
    f.write_all(b"x").unwrap();
    drop(f);
    fs::read(&path).unwrap()
}

/// GNU tar's archive of `dir/f` made with `args` (`--sparse …`).
fn gnu_tar_of_f(dir: &Path, args: &[&str]) -> Vec<u8> {
    let out = dir.join("out.tar");
    let status = Command::new("tar")
        .args(args)
        .arg("-cf")
        .arg(&out)
        .arg("-C")
        .arg(dir)
        .arg("f")
        .status()
        .unwrap();
    assert!(status.success(), "tar {args:?}");
    let bytes = fs::read(&out).unwrap();
    fs::remove_file(&out).unwrap();
    bytes
}

fn holds(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn pax_sparse_files_are_refused() {
    // The tar reader does not expand them: it would hand over the packed
    // data, or a `GNUSparseFile.N/f` holding the map, as the file.
    if !have_gnu_tar() {
        return;
    }
    let src = tempfile::tempdir().unwrap();
    holey_file(src.path());
    for version in ["0.0", "0.1", "1.0"] {
        let args = [
            "--sparse",
            "--format=posix",
            &format!("--sparse-version={version}"),
        ];
        let tar = gnu_tar_of_f(src.path(), &args);
        if !holds(&tar, b"GNU.sparse.") {
            return; // the file system kept no holes: nothing sparse to test
        }
        for (format, bytes) in [
            (ArchiveFormat::Tar, tar.clone()),
            (ArchiveFormat::TarGz, gz(&tar)),
        ] {
            let fx = Fixture::new(file_name(format), &bytes);
            for pattern in ["f", "**"] {
                let err = fx.refused(
                    format,
                    pattern,
                    0,
                    &Limits::default(),
                    "vendor::archive::unsupported",
                );
                assert!(err.to_string().contains("sparse"), "{version}: {err}");
            }
            let err = archive::members(&fx.archive, format, &Limits::default()).unwrap_err();
            assert_eq!(code_of(&err), "vendor::archive::unsupported", "{version}");
        }
    }
}

#[test]
fn old_gnu_sparse_files_are_expanded_exactly() {
    if !have_gnu_tar() {
        return;
    }
    let src = tempfile::tempdir().unwrap();
    let contents = holey_file(src.path());
    let tar = gnu_tar_of_f(src.path(), &["--sparse", "--format=gnu"]);
    // Type `S` at offset 156 of the first header: a sparse entry.
    if tar[156] != b'S' {
        return; // the file system kept no holes: nothing sparse to test
    }
    let fx = Fixture::new("pkg.tar", &tar);
    let done = fx.extract(ArchiveFormat::Tar, "f", 0).unwrap();
    check(&done[0], "f", &fx.dest.join("f"), &contents, 0o644);
}

// ---------------------------------------------------------------------------
// What follows a compressed stream

#[test]
fn zero_padding_after_a_gzip_stream_is_accepted() {
    // `gzip -t` and GNU tar accept it; some tools pad to a block size.
    let mut tgz = build(ArchiveFormat::TarGz, &sample());
    tgz.extend(vec![0u8; 3000]);
    let fx = Fixture::new("pkg.tar.gz", &tgz);
    let done = fx
        .extract(ArchiveFormat::TarGz, "pkg-1.0/bin/tool", 0)
        .unwrap();
    check(
        &done[0],
        "pkg-1.0/bin/tool",
        &fx.dest.join("tool"),
        TOOL,
        0o755,
    );

    let mut single = gz(TOOL);
    single.extend(vec![0u8; 512]);
    let fx = Fixture::new("tool.gz", &single);
    let out = fx.dest.join("tool");
    archive::decompress(&fx.archive, ArchiveFormat::Gz, &out, &Limits::default()).unwrap();
    assert_eq!(fs::read(&out).unwrap(), TOOL);
}

#[test]
fn trailing_garbage_after_a_compressed_stream_is_named() {
    for (format, mut bytes) in [
        (ArchiveFormat::TarGz, build(ArchiveFormat::TarGz, &sample())),
        (ArchiveFormat::Gz, gz(TOOL)),
    ] {
        for tail in [&b"garbage after the stream"[..], b"\0\0\0\0junk"] {
            bytes.extend_from_slice(tail);
            let fx = Fixture::new(file_name(format), &bytes);
            let pattern = if format == ArchiveFormat::Gz {
                "tool"
            } else {
                "pkg-1.0/bin/tool"
            };
            let err = fx.refused(
                format,
                pattern,
                0,
                &Limits::default(),
                "vendor::archive::corrupt",
            );
            assert!(
                err.to_string()
                    .contains("trailing data after the compressed stream"),
                "{format:?}: {err}"
            );
        }
    }
}

// ---------------------------------------------------------------------------
// Zip features that are not read

#[test]
fn encrypted_zip_entries_are_named() {
    let mut tool = build::ZipRecord::stored("tool", TOOL, 0o755);
    tool.flags |= 1;
    let readme = build::ZipRecord::stored("README", README, 0o644);
    let bytes = build::raw_zip(&[tool, readme], &[("tool", 0), ("README", 1)]);
    let fx = Fixture::new("pkg.zip", &bytes);
    let err = fx.refused(
        ArchiveFormat::Zip,
        "tool",
        0,
        &Limits::default(),
        "vendor::archive::unsupported",
    );
    assert!(err.to_string().contains("`tool` is encrypted"), "{err}");
    assert!(!help_of(&err).contains("truncated"), "{}", help_of(&err));
    // An encrypted entry that is not selected is never read.
    let done = fx.extract(ArchiveFormat::Zip, "README", 0).unwrap();
    check(&done[0], "README", &fx.dest.join("README"), README, 0o644);
}

#[test]
fn unsupported_zip_compression_is_named() {
    for (method, name) in [
        (12, "bzip2"),
        (14, "LZMA"),
        (93, "zstd"),
        (95, "xz"),
        (9, "deflate64"),
    ] {
        let mut tool = build::ZipRecord::stored("tool", TOOL, 0o755);
        tool.method = method;
        let fx = Fixture::new("pkg.zip", &build::raw_zip(&[tool], &[("tool", 0)]));
        let err = fx.refused(
            ArchiveFormat::Zip,
            "tool",
            0,
            &Limits::default(),
            "vendor::archive::unsupported",
        );
        let text = err.to_string().to_lowercase();
        assert!(
            text.contains(&name.to_lowercase()) && text.contains("compressed with"),
            "{method}: {text}"
        );
        assert!(!help_of(&err).contains("truncated"), "{}", help_of(&err));
    }
}

// ---------------------------------------------------------------------------
// Reading from a stream (an archive still downloading)

/// Hands out at most `chunk` bytes per read, as a download arriving in
/// pieces does.
struct Dribble<R> {
    inner: R,
    chunk: usize,
}

impl<R: std::io::Read> std::io::Read for Dribble<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = buf.len().min(self.chunk);
        self.inner.read(&mut buf[..n])
    }
}

impl Fixture {
    fn reader(&self) -> Dribble<fs::File> {
        Dribble {
            inner: fs::File::open(&self.archive).unwrap(),
            chunk: 1000,
        }
    }

    fn extract_streamed(
        &self,
        format: ArchiveFormat,
        pattern: &str,
        strip: u32,
        limits: &Limits,
    ) -> Result<Vec<Extracted>, ArchiveError> {
        let name = self.archive.file_name().unwrap().to_string_lossy();
        archive::extract_from(
            &mut self.reader(),
            &name,
            format,
            pattern,
            strip,
            &self.dest,
            limits,
        )
    }

    /// Streamed extraction fails with `code`, leaving nothing behind.
    fn refused_streamed(
        &self,
        format: ArchiveFormat,
        pattern: &str,
        limits: &Limits,
        code: &str,
    ) -> ArchiveError {
        let err = self
            .extract_streamed(format, pattern, 0, limits)
            .expect_err("extraction should fail");
        assert_eq!(code_of(&err), code, "{format:?}: {err}");
        self.assert_clean();
        err
    }
}

/// What an extraction wrote, relative to its destination.
fn written(done: &[Extracted], dest: &Path) -> Vec<(String, PathBuf, String, u64, u32)> {
    done.iter()
        .map(|e| {
            let rel = e.path.strip_prefix(dest).unwrap().to_path_buf();
            (e.member.clone(), rel, e.sha256.clone(), e.size, e.mode)
        })
        .collect()
}

#[test]
fn a_stream_extracts_exactly_what_the_file_does() {
    let data: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    let mut entries = sample();
    entries.push(E::File("pkg-1.0/lib/big.bin", &data, 0o644));
    for format in TAR_FORMATS {
        for (pattern, strip) in [("pkg-1.0/bin/tool", 0), ("pkg-1.0/*/*", 1), ("*/bin/*", 2)] {
            let from_file = Fixture::of(format, &entries);
            let want = from_file.extract(format, pattern, strip).unwrap();
            let streamed = Fixture::of(format, &entries);
            let got = streamed
                .extract_streamed(format, pattern, strip, &Limits::default())
                .unwrap();
            assert_eq!(
                written(&got, &streamed.dest),
                written(&want, &from_file.dest),
                "{format:?} {pattern}"
            );
            for e in &got {
                assert_eq!(e.sha256, sha256sum(&e.path));
            }
        }
    }
    for (format, bytes) in [
        (ArchiveFormat::Gz, gz(&data)),
        (ArchiveFormat::Xz, xz(&data)),
    ] {
        let fx = Fixture::new(file_name(format), &bytes);
        let out = fx.dest.join("tool");
        let name = file_name(format);
        let done =
            archive::decompress_from(&mut fx.reader(), name, format, &out, &Limits::default())
                .unwrap();
        check(&done, "tool", &out, &data, 0o644);
        let fx = Fixture::new(file_name(format), &bytes);
        let done = fx
            .extract_streamed(format, "bin/renamed", 0, &Limits::default())
            .unwrap();
        check(
            &done[0],
            "bin/renamed",
            &fx.dest.join("renamed"),
            &data,
            0o644,
        );
    }
}

#[test]
fn a_stream_is_held_to_every_limit_and_check() {
    let zeros = vec![0u8; 8 << 20];
    for format in TAR_FORMATS {
        // Declared over the limit, not selected.
        let fx = Fixture::of(
            format,
            &[
                E::File("pkg/tool", TOOL, 0o755),
                E::File("bomb", &zeros[..2 << 20], 0o644),
            ],
        );
        fx.refused_streamed(
            format,
            "pkg/tool",
            &big(1 << 20),
            "vendor::archive::too-large",
        );
        // Unsafe paths refuse the whole archive.
        let fx = Fixture::of(format, &hostile(raw_file("../evil", b"x")));
        fx.refused_streamed(
            format,
            "**",
            &Limits::default(),
            "vendor::archive::unsafe-path",
        );
        // Cut short.
        let bytes = build(format, &[E::File("pkg/tool", &noise(200_000), 0o755)]);
        let fx = Fixture::new(file_name(format), &bytes[..bytes.len() / 2]);
        fx.refused_streamed(format, "**", &Limits::default(), "vendor::archive::corrupt");
    }
    // The expansion guard counts compressed bytes as they are read.
    for format in [
        ArchiveFormat::TarGz,
        ArchiveFormat::TarXz,
        ArchiveFormat::TarZst,
    ] {
        let fx = Fixture::of(
            format,
            &[
                E::File("tool", TOOL, 0o755),
                E::File("zeros", &zeros, 0o644),
            ],
        );
        let err = fx.refused_streamed(format, "*", &guarded(1 << 30), "vendor::archive::too-large");
        assert!(expanded_bytes(&err) < 2 << 20, "{format:?}: {err}");
    }
    // A single compressed file declares no size: counted as it comes.
    for (format, bytes) in [
        (ArchiveFormat::Gz, gz(&zeros[..3 << 20])),
        (ArchiveFormat::Xz, xz(&zeros[..3 << 20])),
    ] {
        let fx = Fixture::new(file_name(format), &bytes);
        let err = archive::decompress_from(
            &mut fx.reader(),
            file_name(format),
            format,
            &fx.dest.join("tool"),
            &big(1 << 20),
        )
        .unwrap_err();
        assert_eq!(code_of(&err), "vendor::archive::too-large", "{err}");
        fx.assert_clean();
    }
}

#[test]
fn zip_is_not_read_from_a_stream() {
    let fx = Fixture::of(ArchiveFormat::Zip, &sample());
    let err = fx.refused_streamed(
        ArchiveFormat::Zip,
        "pkg-1.0/bin/tool",
        &Limits::default(),
        "vendor::archive::wrong-format",
    );
    assert!(err.to_string().contains("pkg.zip"), "{err}");
}

// ---------------------------------------------------------------------------
// Through `vendor apply`: the limits a manifest sets, installed modes

/// A tree installing `bin/tool` from the archive `name` (served over
/// loopback), with `extract_extra` lines under the asset's `extract:`
/// and the asset's `mode` if given.
fn served(
    name: &str,
    bytes: &[u8],
    extract_extra: &str,
    mode: Option<&str>,
) -> (fake_github::FakeGithub, support::Tree) {
    let fake = fake_github::FakeGithub::start();
    let url = fake.file(&format!("/files/{name}"), bytes.to_vec());
    let sha = build::sha256_hex(bytes);
    let mode = mode
        .map(|m| format!("        mode: \"{m}\"\n"))
        .unwrap_or_default();
    let tree = support::Tree::new();
    tree.write(
        support::MANIFEST,
        format!(
            "version: 1\nitems:\n  tool:\n    version: 1.0.0\n    source:\n      type: url\n    \
             assets:\n      - url: {url}\n        checksum:\n          sha256: {sha}\n        \
             extract:\n          member: tool\n{extract_extra}        install: bin/tool\n{mode}"
        ),
    );
    (fake, tree)
}

/// A tar.gz of one header declaring `size` bytes, without the data.
fn declaring(size: u64) -> Vec<u8> {
    let mut h = Header::new_gnu();
    h.set_path("huge").unwrap();
    h.set_size(size);
    h.set_mode(0o644);
    h.set_entry_type(EntryType::Regular);
    h.set_cksum();
    gz(h.as_bytes())
}

#[test]
fn apply_refuses_an_archive_declaring_more_than_512_mib_by_default() {
    // 600 MiB: under the old 2 GiB per member, over the default limit;
    // refused from the header alone, before any data is read.
    let (_fake, tree) = served("tool.tar.gz", &declaring(600 << 20), "", None);
    let before = tree.hashes();
    let out = tree.run(&["apply"]);
    out.code(1)
        .stderr_has("vendor::archive::too-large")
        .stderr_mentions("`huge` declares 629145600 bytes, over the 536870912 byte limit")
        .stderr_mentions("extract.max_size");
    tree.assert_unchanged(&before);
}

#[test]
fn apply_honours_max_size_from_the_manifest() {
    let noise = noise(96 << 10);
    let archive = build::tar_gz(&[("tool", TOOL, 0o755), ("data", &noise, 0o644)]);
    let (_fake, tree) = served("tool.tar.gz", &archive, "          max_size: 64KiB\n", None);
    let before = tree.hashes();
    tree.run(&["apply"])
        .code(1)
        .stderr_has("vendor::archive::too-large")
        .stderr_mentions("65536 byte limit");
    tree.assert_unchanged(&before);

    tree.replace_once(support::MANIFEST, "max_size: 64KiB", "max_size: 1 MiB");
    tree.run(&["apply"]).code(0);
    assert_eq!(tree.read_bytes("bin/tool"), TOOL);
}

#[test]
fn bad_max_size_is_a_manifest_error() {
    let archive = build::tar_gz(&[("tool", TOOL, 0o755)]);
    for (value, says) in [
        ("0MiB", "more than 0"),
        ("12 parsecs", "512MiB"),
        ("2048", "512MiB"),
        ("99999999999TiB", "too large"),
    ] {
        let line = format!("          max_size: {value}\n");
        let (_fake, tree) = served("tool.tar.gz", &archive, &line, None);
        tree.run(&["validate"])
            .code(1)
            .stderr_mentions("max_size")
            .stderr_mentions(says);
    }
}

#[test]
fn apply_installs_archive_modes_without_group_and_world_write() {
    for (archived, manifest, installed) in [
        (0o777, None, 0o755),
        (0o666, None, 0o644),
        (0o775, None, 0o755),
        (0o777, Some("0777"), 0o777),
        (0o644, Some("0775"), 0o775),
    ] {
        let archive = build::tar_gz(&[("tool", TOOL, archived)]);
        let (_fake, tree) = served("tool.tar.gz", &archive, "", manifest);
        tree.run(&["apply"]).code(0);
        assert_eq!(
            tree.mode("bin/tool"),
            installed,
            "archived {archived:o}, manifest {manifest:?}"
        );
    }
}

#[test]
fn apply_refuses_overlapping_zip_entries() {
    let zeros = vec![0u8; 256 << 10];
    let packed = build::deflate_raw(&zeros);
    let local = build::ZipRecord::deflated("tool", &packed, &zeros, 0o755);
    let bomb = build::raw_zip(&[local], &[("tool", 0), ("b", 0), ("c", 0)]);
    let (_fake, tree) = served("tool.zip", &bomb, "", None);
    let before = tree.hashes();
    tree.run(&["apply"])
        .code(1)
        .stderr_has("vendor::archive::overlapping-entries");
    tree.assert_unchanged(&before);
}
