//! Tag lookups over git's own smart HTTP protocol: the commit a release
//! tag points to, asked of the forge's git endpoint with protocol v2's
//! `ls-refs` command, limited to that one ref.
//!
//! On GitHub this is no API request: it costs nothing against the API rate
//! limit (60 requests an hour without a token) and takes none of the API's
//! concurrent request slots, so resolving or checking a release costs one
//! API request instead of two. It is as fresh as the API: nothing is
//! cached, so a moved tag is seen at once. The token is never sent here; a
//! private repository's endpoint refuses, and the caller asks the API
//! instead ([`crate::source::github::tag_commit`]), as it does for any
//! answer that is not exactly one well-formed line for the ref asked for.
//! The lookup is one attempt of a few seconds at most; a network that
//! blocks the git host costs one such attempt per run
//! ([`Client::post_optional`]), then the API is asked directly.
//!
//! The wire format (git's `gitprotocol-v2` and `gitprotocol-common`):
//! pkt-lines, each a four-hex-digit length (counting itself) and data;
//! `0000` is a flush and `0001` a delimiter. The request is
//! `command=ls-refs`, a delimiter, `peel`, `ref-prefix refs/tags/TAG` and
//! a flush, POSTed to `REPO.git/git-upload-pack` with `Git-Protocol:
//! version=2`. The answer is one line `OID SP REFNAME [SP peeled:OID]` per
//! ref under the prefix, then a flush; the `peeled:` object of an
//! annotated tag is the commit it tags.

use crate::fetch::{Client, PostBody};

/// The answer read at most: a few lines of under 200 bytes each, unless
/// the prefix matches many tags (`v1` also matches `v1.2`), which ends
/// the lookup and leaves it to the API.
const LIMIT: u64 = 64 << 10;

/// The largest pkt-line the protocol allows (length included).
const MAX_PKT: usize = 65520;

/// The commit `tag` points to, as the git endpoint `repo_git` (the
/// repository's `.git` URL) says; `None` when it gives no such answer
/// (it does not list the tag, refuses, cannot be reached, or answers
/// something malformed): the caller then asks the API, whose errors are
/// the ones worth showing.
pub async fn tag_commit(client: &Client, repo_git: &str, tag: &str) -> Option<String> {
    let refname = format!("refs/tags/{tag}");
    let url = format!("{repo_git}/git-upload-pack");
    let body = PostBody {
        content_type: "application/x-git-upload-pack-request",
        accept: "application/x-git-upload-pack-result",
        headers: &[("Git-Protocol", "version=2")],
        payload: request(&refname),
        limit: LIMIT,
    };
    let body = client.post_optional(&url, &body).await.ok()?;
    parse(&body, &refname).ok().flatten()
}

/// The `ls-refs` request for the one ref `refname`.
pub fn request(refname: &str) -> Vec<u8> {
    let mut out = Vec::new();
    pkt(&mut out, "command=ls-refs\n");
    out.extend_from_slice(b"0001");
    pkt(&mut out, "peel\n");
    pkt(&mut out, &format!("ref-prefix {refname}\n"));
    out.extend_from_slice(b"0000");
    out
}

fn pkt(out: &mut Vec<u8>, data: &str) {
    out.extend_from_slice(format!("{:04x}", data.len() + 4).as_bytes());
    out.extend_from_slice(data.as_bytes());
}

/// The commit `refname` points to in an `ls-refs` answer (its `peeled:`
/// object when it is an annotated tag), `None` when the answer does not
/// list it. Other refs under the prefix are skipped; anything malformed
/// (a bad length, an `ERR` line, an object name that is no sha, the ref
/// twice, no flush at the end) is an error.
pub fn parse(body: &[u8], refname: &str) -> Result<Option<String>, String> {
    let mut rest = body;
    let mut found: Option<String> = None;
    loop {
        let Some((head, tail)) = rest.split_first_chunk::<4>() else {
            return Err("the answer ends before its flush packet".to_owned());
        };
        let len = std::str::from_utf8(head)
            .ok()
            .and_then(|h| usize::from_str_radix(h, 16).ok())
            .ok_or_else(|| format!("bad pkt-line length {:?}", String::from_utf8_lossy(head)))?;
        match len {
            0 => break,
            1..=4 => return Err(format!("unexpected special packet {len:04x}")),
            _ if len > MAX_PKT || len - 4 > tail.len() => {
                return Err(format!("pkt-line length {len} past the answer"));
            }
            _ => {}
        }
        let (data, tail) = tail.split_at(len - 4);
        rest = tail;
        let text =
            std::str::from_utf8(data).map_err(|_| "a ref line that is not UTF-8".to_owned())?;
        let line = text.strip_suffix('\n').unwrap_or(text);
        if let Some(message) = line.strip_prefix("ERR ") {
            return Err(format!("the server said: {}", crate::term::escape(message)));
        }
        let mut fields = line.split(' ');
        let (Some(oid), Some(name)) = (fields.next(), fields.next()) else {
            return Err("a ref line without a name".to_owned());
        };
        let mut commit = oid;
        for attribute in fields {
            if let Some(peeled) = attribute.strip_prefix("peeled:") {
                commit = peeled;
            }
        }
        if !is_object_name(oid) || !is_object_name(commit) {
            return Err("a ref line whose object name is no sha".to_owned());
        }
        if name != refname {
            continue;
        }
        if found.is_some() {
            return Err(format!("{refname} listed twice"));
        }
        found = Some(commit.to_ascii_lowercase());
    }
    Ok(found)
}

/// A full SHA-1 or SHA-256 object name.
fn is_object_name(s: &str) -> bool {
    matches!(s.len(), 40 | 64) && s.bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "1111111111111111111111111111111111111111";
    const B: &str = "2222222222222222222222222222222222222222";

    fn answer(lines: &[&str]) -> Vec<u8> {
        let mut out = Vec::new();
        for line in lines {
            pkt(&mut out, &format!("{line}\n"));
        }
        out.extend_from_slice(b"0000");
        out
    }

    #[test]
    fn the_request_is_the_protocols_framing() {
        assert_eq!(
            String::from_utf8(request("refs/tags/v1.0.0")).unwrap_or_default(),
            "0014command=ls-refs\n00010009peel\n0020ref-prefix refs/tags/v1.0.0\n0000"
        );
    }

    #[test]
    fn a_lightweight_tag_is_its_object_and_an_annotated_one_its_peeled_commit() {
        let body = answer(&[&format!("{A} refs/tags/v1")]);
        assert_eq!(parse(&body, "refs/tags/v1"), Ok(Some(A.to_owned())));
        let body = answer(&[&format!("{A} refs/tags/v1 peeled:{B}")]);
        assert_eq!(parse(&body, "refs/tags/v1"), Ok(Some(B.to_owned())));
    }

    #[test]
    fn other_refs_under_the_prefix_are_skipped_and_a_missing_one_is_none() {
        let body = answer(&[
            &format!("{A} refs/tags/v1.0.0-rc1"),
            &format!("{B} refs/tags/v1.0.0"),
            &format!("{A} refs/tags/v1.0.0/extra"),
        ]);
        assert_eq!(parse(&body, "refs/tags/v1.0.0"), Ok(Some(B.to_owned())));
        assert_eq!(parse(&body, "refs/tags/v2"), Ok(None));
        assert_eq!(parse(b"0000", "refs/tags/v2"), Ok(None));
    }

    #[test]
    fn malformed_answers_are_errors() {
        let twice = answer(&[&format!("{A} refs/tags/v1"), &format!("{B} refs/tags/v1")]);
        let one = answer(&[&format!("{A} refs/tags/v1")]);
        let cases: Vec<(&str, Vec<u8>)> = vec![
            ("empty", Vec::new()),
            ("no flush", one[..one.len() - 4].to_vec()),
            ("bad length", b"zzzz".to_vec()),
            ("too long", b"ffff".to_vec()),
            ("past the end", b"0100abc".to_vec()),
            ("delimiter", b"0001".to_vec()),
            (
                "error line",
                answer(&["ERR upload-pack: not our ref \x1b[31m"]),
            ),
            ("no name", answer(&[A])),
            ("short sha", answer(&["abc refs/tags/v1"])),
            (
                "bad peeled",
                answer(&[&format!("{A} refs/tags/v1 peeled:xyz")]),
            ),
            ("twice", twice),
        ];
        for (what, body) in cases {
            let parsed = parse(&body, "refs/tags/v1");
            assert!(parsed.is_err(), "{what}: {parsed:?}");
            if let Err(message) = parsed {
                assert!(!message.contains('\x1b'), "{what}: {message:?}");
            }
        }
    }

    /// The request and the parser against git itself: `git upload-pack`
    /// answering in protocol v2, as the HTTP backend does, for a
    /// lightweight and an annotated tag.
    #[test]
    fn git_upload_pack_answers_the_request_as_parsed() {
        use std::process::{Command, Stdio};
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
        let git = |args: &[&str]| {
            let out = Command::new("git")
                .args(["-c", "user.name=t", "-c", "user.email=t@example.invalid"])
                .args(args)
                .current_dir(dir.path())
                .env("GIT_CONFIG_NOSYSTEM", "1")
                .env("HOME", dir.path())
                .output()
                .unwrap_or_else(|e| panic!("git {args:?}: {e}"));
            assert!(out.status.success(), "git {args:?}: {out:?}");
            String::from_utf8_lossy(&out.stdout).trim().to_owned()
        };
        git(&["init", "-q"]);
        git(&["commit", "-q", "--allow-empty", "-m", "one"]);
        git(&["tag", "v1.0.0"]);
        git(&["tag", "v1.0.0-rc1"]);
        git(&["commit", "-q", "--allow-empty", "-m", "two"]);
        git(&["tag", "-a", "-m", "annotated", "v2.0.0"]);
        for tag in ["v1.0.0", "v2.0.0", "v3.0.0"] {
            let refname = format!("refs/tags/{tag}");
            let mut child = Command::new("git")
                .args(["upload-pack", "--stateless-rpc", "."])
                .current_dir(dir.path())
                .env("GIT_PROTOCOL", "version=2")
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .spawn()
                .unwrap_or_else(|e| panic!("git upload-pack: {e}"));
            if let Some(mut stdin) = child.stdin.take() {
                std::io::Write::write_all(&mut stdin, &request(&refname))
                    .unwrap_or_else(|e| panic!("write: {e}"));
            }
            let out = child
                .wait_with_output()
                .unwrap_or_else(|e| panic!("git upload-pack: {e}"));
            assert!(out.status.success(), "git upload-pack: {out:?}");
            let expected =
                (tag != "v3.0.0").then(|| git(&["rev-parse", &format!("{tag}^{{commit}}")]));
            assert_eq!(parse(&out.stdout, &refname), Ok(expected), "{tag}");
        }
    }
}
