//! Binary inspection against real executables: the running test binary and
//! the committed fixtures in `tests/fixtures/bin` (checked against their
//! recorded sha256, against `file` where installed, and run natively on
//! x86-64 Linux), plus scripts, empty and truncated files.
#![allow(clippy::unwrap_used)]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};
use vendor::inspect::{self, Binary, InspectError, Linking};
use vendor::manifest::model::{BinaryFormat, Inspect};

const FIXTURES: [&str; 3] = [
    "hello-linux-amd64-static",
    "hello-linux-arm64-static",
    "hello-linux-arm64-dynamic",
];

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/bin")
        .join(name)
}

fn want(format: Option<BinaryFormat>, r#static: bool) -> Inspect {
    Inspect { format, r#static }
}

fn summary(binary: &Binary) -> (BinaryFormat, &str, Option<&str>, u8) {
    (
        binary.format,
        binary.arch.as_str(),
        binary.os.as_deref(),
        binary.bits,
    )
}

#[test]
fn fixtures_match_their_recorded_sha256() {
    let readme = fs::read_to_string(fixture("README.md")).unwrap();
    for name in FIXTURES {
        let sum = Sha256::digest(fs::read(fixture(name)).unwrap());
        let hex: String = sum.iter().map(|b| format!("{b:02x}")).collect();
        assert!(
            readme.contains(&format!("{hex}  {name}\n")),
            "{name}: {hex}"
        );
    }
}

#[test]
fn static_fixtures() {
    let binary = inspect::inspect(&fixture("hello-linux-amd64-static")).unwrap();
    assert_eq!(
        summary(&binary),
        (BinaryFormat::Elf, "amd64", Some("linux"), 64)
    );
    assert_eq!(binary.linking, Linking::Static);
    assert_eq!(
        binary.describe(),
        "ELF 64-bit x86-64 (linux/amd64), statically linked"
    );

    let binary = inspect::inspect(&fixture("hello-linux-arm64-static")).unwrap();
    assert_eq!(
        summary(&binary),
        (BinaryFormat::Elf, "arm64", Some("linux"), 64)
    );
    assert_eq!(binary.linking, Linking::Static);
    assert!(binary.slices.is_empty());
    let strict = want(Some(BinaryFormat::Elf), true);
    assert!(inspect::problems(&binary, &strict, Some("linux/arm64")).is_empty());
}

#[test]
fn dynamic_fixture() {
    let binary = inspect::inspect(&fixture("hello-linux-arm64-dynamic")).unwrap();
    assert_eq!(
        summary(&binary),
        (BinaryFormat::Elf, "arm64", Some("linux"), 64)
    );
    assert_eq!(
        binary.linking,
        Linking::Dynamic {
            interpreter: Some("/lib/ld-linux-aarch64.so.1".to_owned()),
            needed: vec!["libc.so.6".to_owned()],
        }
    );
    assert_eq!(
        binary.describe(),
        "ELF 64-bit aarch64 (linux/arm64), dynamically linked, \
         interpreter /lib/ld-linux-aarch64.so.1, needs libc.so.6"
    );
    // The same bytes in memory give the same answer.
    let bytes = fs::read(fixture("hello-linux-arm64-dynamic")).unwrap();
    assert_eq!(inspect::inspect_bytes(&bytes).unwrap(), binary);
}

#[test]
fn the_running_test_binary() {
    let binary = inspect::inspect(&std::env::current_exe().unwrap()).unwrap();
    let (os, arch) = inspect::host_platform()
        .split_once('/')
        .map(|(os, arch)| (os.to_owned(), arch.to_owned()))
        .unwrap();
    assert_eq!(binary.arch, arch);
    assert_eq!(binary.bits as usize, usize::BITS as usize);
    let format = match os.as_str() {
        "windows" => BinaryFormat::Pe,
        "darwin" => BinaryFormat::MachO,
        _ => BinaryFormat::Elf,
    };
    assert_eq!(binary.format, format);
    if cfg!(all(target_os = "linux", target_env = "gnu")) {
        assert_eq!(binary.os.as_deref(), Some("linux"));
        let Linking::Dynamic {
            interpreter,
            needed,
        } = &binary.linking
        else {
            panic!("{}", binary.describe());
        };
        assert!(
            interpreter
                .as_deref()
                .is_some_and(|i| i.contains("ld-linux")),
            "{interpreter:?}"
        );
        assert!(
            needed.iter().any(|n| n.starts_with("libc.so")),
            "{needed:?}"
        );
    }
    let platform = inspect::host_platform();
    assert!(inspect::problems(&binary, &want(Some(format), false), Some(&platform)).is_empty());
}

#[test]
fn host_platform_uses_manifest_names() {
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        "powerpc64" if cfg!(target_endian = "little") => "ppc64le",
        "powerpc64" => "ppc64",
        "loongarch64" => "loong64",
        other => other,
    };
    let os = match std::env::consts::OS {
        "macos" => "darwin",
        other => other,
    };
    assert_eq!(inspect::host_platform(), format!("{os}/{arch}"));
}

#[test]
fn qemu_names() {
    assert_eq!(inspect::qemu_for("arm64"), Some("qemu-aarch64"));
    assert_eq!(inspect::qemu_for("amd64"), Some("qemu-x86_64"));
    assert_eq!(inspect::qemu_for("arm"), Some("qemu-arm"));
    assert_eq!(inspect::qemu_for("386"), Some("qemu-i386"));
    assert_eq!(inspect::qemu_for("riscv64"), Some("qemu-riscv64"));
    assert_eq!(inspect::qemu_for("ppc64le"), Some("qemu-ppc64le"));
    assert_eq!(inspect::qemu_for("s390x"), Some("qemu-s390x"));
    assert_eq!(inspect::qemu_for("plan9"), None);
}

#[test]
fn problems_against_the_manifest() {
    let arm64_static = inspect::inspect(&fixture("hello-linux-arm64-static")).unwrap();
    let arm64_dynamic = inspect::inspect(&fixture("hello-linux-arm64-dynamic")).unwrap();
    let lenient = want(None, false);

    assert_eq!(
        inspect::problems(&arm64_static, &lenient, Some("linux/amd64")),
        ["built for arm64 but installed for linux/amd64"]
    );
    assert_eq!(
        inspect::problems(&arm64_static, &lenient, Some("windows/arm64")),
        ["built for linux but installed for windows/arm64"]
    );
    assert_eq!(
        inspect::problems(&arm64_static, &lenient, Some("darwin/amd64")),
        ["built for linux/arm64 but installed for darwin/amd64"]
    );
    assert_eq!(
        inspect::problems(&arm64_dynamic, &want(None, true), Some("linux/arm64")),
        [
            "dynamically linked (interpreter /lib/ld-linux-aarch64.so.1; needs libc.so.6), \
             but `static: true` is set"
        ]
    );
    assert_eq!(
        inspect::problems(&arm64_static, &want(Some(BinaryFormat::MachO), false), None),
        ["ELF, expected Mach-O"]
    );
    // A platform-independent item: any architecture passes.
    assert!(
        inspect::problems(&arm64_static, &want(Some(BinaryFormat::Elf), true), None).is_empty()
    );
    assert!(inspect::problems(&arm64_dynamic, &lenient, None).is_empty());
}

#[test]
fn files_that_are_not_executables() {
    let dir = tempfile::tempdir().unwrap();
    let not_executable = |name: &str, contents: &[u8]| {
        let path = dir.path().join(name);
        fs::write(&path, contents).unwrap();
        match inspect::inspect(&path) {
            Err(InspectError::NotExecutable(what)) => what,
            other => panic!("{name}: {other:?}"),
        }
    };
    assert_eq!(
        not_executable("tool.sh", b"#!/bin/sh\nexec tool \"$@\"\n"),
        "shell script (#!/bin/sh)"
    );
    assert_eq!(not_executable("empty", b""), "empty file");
    assert_eq!(not_executable("notes.txt", b"just some notes\n"), "text");
    assert_eq!(
        not_executable("page", b"<!DOCTYPE html><title>404</title>"),
        "HTML document"
    );
    let error = inspect::inspect(&dir.path().join("tool.sh")).unwrap_err();
    assert_eq!(
        error.to_string(),
        "not an executable: shell script (#!/bin/sh)"
    );

    let error = inspect::inspect(dir.path()).unwrap_err();
    assert_eq!(error.to_string(), "not an executable: not a regular file");
    let missing = dir.path().join("missing");
    let error = inspect::inspect(&missing).unwrap_err();
    assert!(matches!(error, InspectError::Io { ref path, .. } if *path == missing));
    assert!(error.to_string().starts_with("cannot read `"), "{error}");
}

#[test]
fn truncated_copies_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    for name in FIXTURES {
        let bytes = fs::read(fixture(name)).unwrap();
        for len in [4, 15, 16, 52, 63, 64, 100] {
            let path = dir.path().join(format!("{name}-{len}"));
            fs::write(&path, &bytes[..len]).unwrap();
            let error = inspect::inspect(&path).unwrap_err();
            assert!(
                matches!(error, InspectError::Malformed { format: "ELF", .. }),
                "{name} cut to {len} bytes: {error:?}"
            );
            assert!(
                error
                    .to_string()
                    .starts_with("truncated or malformed ELF: ")
            );
        }
        // No length panics, whether read from a file or from memory.
        for len in 0..bytes.len() {
            let _ = inspect::inspect_bytes(&bytes[..len]);
        }
        let path = dir.path().join(name);
        for len in (0..bytes.len()).step_by(37) {
            fs::write(&path, &bytes[..len]).unwrap();
            let _ = inspect::inspect(&path);
        }
    }
}

#[test]
fn the_amd64_fixture_runs_natively() {
    if !cfg!(all(target_os = "linux", target_arch = "x86_64")) {
        return;
    }
    let output = Command::new(fixture("hello-linux-amd64-static"))
        .output()
        .unwrap();
    assert!(output.status.success(), "{:?}", output.status);
    assert_eq!(output.stdout, b"hello version 1.2.3\n");
    assert!(output.stderr.is_empty());
}

#[test]
fn file_agrees() {
    let file = |name: &str| {
        let output = Command::new("file")
            .arg("-b")
            .arg(fixture(name))
            .output()
            .ok()?;
        output
            .status
            .success()
            .then(|| String::from_utf8_lossy(&output.stdout).into_owned())
    };
    let Some(amd64) = file("hello-linux-amd64-static") else {
        return; // `file` is not installed
    };
    assert!(
        amd64.contains("x86-64") && amd64.contains("statically linked"),
        "{amd64}"
    );
    let arm64 = file("hello-linux-arm64-static").unwrap();
    assert!(
        arm64.contains("ARM aarch64") && arm64.contains("statically linked"),
        "{arm64}"
    );
    let dynamic = file("hello-linux-arm64-dynamic").unwrap();
    for part in [
        "ARM aarch64",
        "dynamically linked",
        "interpreter /lib/ld-linux-aarch64.so.1",
    ] {
        assert!(dynamic.contains(part), "{dynamic}");
    }
}
