//! End-to-end tests of pins in the places real trees keep versions: a
//! Dockerfile, docker-compose, a Helm chart, Kubernetes labels with dotted
//! keys, `.tool-versions` and `.env` lines, `go.mod`, `package.json` and
//! GitHub Actions `uses:` lines.
//!
//! Every item is `manual` (pin-only), so no network is involved: the
//! manifest wants a new version, the files hold the old one, and
//! `vendor apply` rewrites them. Each file is compared byte for byte with
//! what it must become, then `vendor check` must find the tree in sync.
#![allow(clippy::unwrap_used)]

mod support;

use support::{Output, Tree};

/// A tree holding `files` and a manifest made of `items` (indented as
/// entries of `items:`).
fn tree_with(items: &str, files: &[(&str, &str)]) -> Tree {
    let tree = Tree::new();
    tree.write("vendor.yaml", format!("version: 1\nitems:\n{items}"));
    for (path, text) in files {
        tree.write(path, text);
    }
    tree
}

/// Applies the manifest and checks every file became exactly `want`.
#[track_caller]
fn applies_to(tree: &Tree, want: &[(&str, &str)]) -> Output {
    let out = tree.run(&["apply"]);
    out.code(0);
    for (path, text) in want {
        assert_eq!(tree.read(path), *text, "{path}\n{}", out.streams());
    }
    tree.run(&["check"]).code(0);
    out
}

const DOCKERFILE: &str = "\
# syntax=docker/dockerfile:1
ARG TRAEFIK_VERSION=3.3.4
FROM traefik:v3.3.4@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef AS proxy
ARG TRAEFIK_VERSION
LABEL org.opencontainers.image.version=\"${TRAEFIK_VERSION}\"\r
";

#[test]
fn dockerfile_arg_and_from_with_a_digest() {
    let tree = tree_with(
        r#"  traefik:
    version: 3.3.5
    source: {type: manual}
    pins:
      - file: Dockerfile
        regex: '(?m)^ARG TRAEFIK_VERSION=(?P<version>[0-9.]+)$'
      - file: Dockerfile
        regex: 'FROM traefik:v(?P<version>[0-9.]+)@sha256:'
"#,
        &[("Dockerfile", DOCKERFILE)],
    );
    // Only the version bytes change; the digest beside it is not the pin.
    applies_to(
        &tree,
        &[(
            "Dockerfile",
            "\
# syntax=docker/dockerfile:1
ARG TRAEFIK_VERSION=3.3.5
FROM traefik:v3.3.5@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef AS proxy
ARG TRAEFIK_VERSION
LABEL org.opencontainers.image.version=\"${TRAEFIK_VERSION}\"\r
",
        )],
    );
}

#[test]
fn docker_compose_image_tag() {
    let tree = tree_with(
        r#"  traefik:
    version: 3.3.5
    source: {type: manual}
    pins:
      - file: docker-compose.yaml
        yaml: services.proxy.image
        regex: ':v(?P<version>[0-9.]+)$'
"#,
        &[(
            "docker-compose.yaml",
            "services:\n  proxy:\n    image: traefik:v3.3.4   # the edge proxy\n    ports:\n      - \"80:80\"\n  web:\n    image: nginx:1.27\n",
        )],
    );
    applies_to(
        &tree,
        &[(
            "docker-compose.yaml",
            "services:\n  proxy:\n    image: traefik:v3.3.5   # the edge proxy\n    ports:\n      - \"80:80\"\n  web:\n    image: nginx:1.27\n",
        )],
    );
}

#[test]
fn helm_chart_app_version_and_values_image_tag() {
    let tree = tree_with(
        r#"  traefik:
    version: 3.3.5
    source: {type: manual}
    pins:
      - file: chart/Chart.yaml
        yaml: appVersion
      - file: chart/values.yaml
        yaml: image.tag
        value: v{version}
"#,
        &[
            (
                "chart/Chart.yaml",
                "apiVersion: v2\nname: proxy\nversion: 1.4.0          # the chart's own version\nappVersion: \"3.3.4\"\n",
            ),
            (
                "chart/values.yaml",
                "# Default values for proxy.\nimage:\n  repository: traefik\n  tag: v3.3.4\n  pullPolicy: IfNotPresent\n\nresources: {}\n",
            ),
        ],
    );
    applies_to(
        &tree,
        &[
            (
                "chart/Chart.yaml",
                "apiVersion: v2\nname: proxy\nversion: 1.4.0          # the chart's own version\nappVersion: \"3.3.5\"\n",
            ),
            (
                "chart/values.yaml",
                "# Default values for proxy.\nimage:\n  repository: traefik\n  tag: v3.3.5\n  pullPolicy: IfNotPresent\n\nresources: {}\n",
            ),
        ],
    );
}

const DEPLOYMENT: &str = "\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: proxy
  labels:
    app.kubernetes.io/name: traefik
    app.kubernetes.io/version: \"3.3.4\"
spec:
  template:
    metadata:
      annotations:
        image.example.com/tag: v3.3.4 # kept in step
    spec:
      containers:
        - name: traefik
          image: traefik:v3.3.4
---
apiVersion: v1
kind: Service
metadata:
  name: proxy
  labels:
    app.kubernetes.io/version: \"3.3.4\"
";

#[test]
fn kubernetes_labels_and_annotations_with_dotted_keys() {
    let tree = tree_with(
        r#"  traefik:
    version: 3.3.5
    source: {type: manual}
    pins:
      - file: k8s/proxy.yaml
        yaml: metadata.labels."app.kubernetes.io/version"
        count: 2
      - file: k8s/proxy.yaml
        yaml: spec.template.metadata.annotations."image.example.com/tag"
        value: v{version}
      - file: k8s/proxy.yaml
        yaml: spec.template.spec.containers.0.image
        value: traefik:v{version}
"#,
        &[("k8s/proxy.yaml", DEPLOYMENT)],
    );
    // Reports and the lock write the path as the manifest does.
    tree.run(&["plan"])
        .code(0)
        .stdout_has(r#"yaml metadata.labels."app.kubernetes.io/version""#);
    applies_to(
        &tree,
        &[("k8s/proxy.yaml", &DEPLOYMENT.replace("3.3.4", "3.3.5"))],
    );
    assert!(
        tree.read("vendor.lock.yaml")
            .contains(r#"locator: yaml metadata.labels."app.kubernetes.io/version""#),
        "{}",
        tree.read("vendor.lock.yaml")
    );
}

#[test]
fn an_unquoted_dotted_key_is_reported_with_the_path_to_write() {
    let tree = tree_with(
        r#"  traefik:
    version: 3.3.5
    source: {type: manual}
    pins:
      - file: k8s/proxy.yaml
        yaml: metadata.labels.app.kubernetes.io/version
        count: 2
      - file: k8s/proxy.yaml
        yaml: metadata.lables."app.kubernetes.io/name"
"#,
        &[("k8s/proxy.yaml", DEPLOYMENT)],
    );
    tree.run(&["validate"])
        .code(1)
        .stderr_mentions(
            "`metadata.labels.app.kubernetes.io/version` matches nothing in k8s/proxy.yaml: there is no key `app` under `metadata.labels`",
        )
        .stderr_mentions(r#"did you mean `metadata.labels."app.kubernetes.io/version"`?"#)
        .stderr_mentions(
            r#"keys under `metadata.labels`: `"app.kubernetes.io/name"`, `"app.kubernetes.io/version"`"#,
        )
        .stderr_mentions("there is no key `lables` under `metadata`")
        .stderr_mentions(r#"did you mean `metadata.labels."app.kubernetes.io/name"`?"#)
        .stderr_mentions("keys under `metadata`: `name`, `labels`;");
}

#[test]
fn tool_versions_and_env_lines() {
    let tree = tree_with(
        r#"  nodejs:
    version: 20.12.2
    source: {type: manual}
    pins:
      - file: .tool-versions
        regex: '(?m)^nodejs (?P<version>\S+)$'
      - file: .env
        regex: '(?m)^NODE_VERSION="(?P<version>[^"]+)"'
"#,
        &[
            (
                ".tool-versions",
                "golang 1.22.2\nnodejs 20.11.1\npython 3.12.3\n",
            ),
            (
                ".env",
                "# local overrides\nNODE_VERSION=\"20.11.1\"\nNODE_ENV=production\n",
            ),
        ],
    );
    applies_to(
        &tree,
        &[
            (
                ".tool-versions",
                "golang 1.22.2\nnodejs 20.12.2\npython 3.12.3\n",
            ),
            (
                ".env",
                "# local overrides\nNODE_VERSION=\"20.12.2\"\nNODE_ENV=production\n",
            ),
        ],
    );
}

#[test]
fn go_mod_and_package_json() {
    let tree = tree_with(
        r#"  traefik:
    version: 3.3.5
    source: {type: manual}
    pins:
      - file: go.mod
        regex: '(?m)^\s+github\.com/traefik/traefik/v3 v(?P<version>\S+)$'
      - file: web/package.json
        json: version
      - file: web/package.json
        json: devDependencies."@traefik/plugin.sdk"
        value: ^{version}
"#,
        &[
            (
                "go.mod",
                "module example.com/proxy\n\ngo 1.22\n\nrequire (\n\tgithub.com/traefik/traefik/v3 v3.3.4\n\tgolang.org/x/net v0.24.0\n)\n",
            ),
            (
                "web/package.json",
                "{\n  \"name\": \"proxy-ui\",\n  \"version\": \"3.3.4\",\n  \"devDependencies\": {\n    \"@traefik/plugin.sdk\": \"^3.3.4\",\n    \"typescript\": \"^5.4.5\"\n  }\n}\n",
            ),
        ],
    );
    applies_to(
        &tree,
        &[
            (
                "go.mod",
                "module example.com/proxy\n\ngo 1.22\n\nrequire (\n\tgithub.com/traefik/traefik/v3 v3.3.5\n\tgolang.org/x/net v0.24.0\n)\n",
            ),
            (
                "web/package.json",
                "{\n  \"name\": \"proxy-ui\",\n  \"version\": \"3.3.5\",\n  \"devDependencies\": {\n    \"@traefik/plugin.sdk\": \"^3.3.5\",\n    \"typescript\": \"^5.4.5\"\n  }\n}\n",
            ),
        ],
    );
}

#[test]
fn github_actions_uses_line() {
    let workflow = "\
on: [push]
jobs:
  build:
    runs-on: ubuntu-24.04
    steps:
      - uses: actions/checkout@v4.1.1
      - uses: docker/setup-buildx-action@v3.3.0 # buildx
      - run: make
";
    let tree = tree_with(
        r#"  checkout:
    version: 4.2.2
    source: {type: manual}
    pins:
      - file: .github/workflows/ci.yaml
        yaml: jobs.build.steps.0.uses
        value: actions/checkout@v{version}
  buildx:
    version: 3.7.1
    source: {type: manual}
    pins:
      - file: .github/workflows/ci.yaml
        regex: 'uses: docker/setup-buildx-action@v(?P<version>[0-9.]+)'
"#,
        &[(".github/workflows/ci.yaml", workflow)],
    );
    applies_to(
        &tree,
        &[(
            ".github/workflows/ci.yaml",
            &workflow
                .replace("checkout@v4.1.1", "checkout@v4.2.2")
                .replace("action@v3.3.0", "action@v3.7.1"),
        )],
    );
}

#[test]
fn plain_scalars_the_file_already_holds_are_written_plain() {
    // `,` and `#` inside a block plain scalar, and a lone `.`: all
    // strings, written unquoted as the file already does.
    let tree = tree_with(
        r#"  flags:
    version: "3.3.5,gzip#2"
    versioning: loose
    source: {type: manual}
    pins:
      - file: config.yaml
        yaml: build.flags
  dot:
    version: "."
    versioning: loose
    source: {type: manual}
    pins:
      - file: config.yaml
        yaml: build.dir
"#,
        &[(
            "config.yaml",
            "build:\n  flags: 3.3.4,gzip#1 # comma and hash\n  dir: src\n  list: [a, b]\n",
        )],
    );
    applies_to(
        &tree,
        &[(
            "config.yaml",
            "build:\n  flags: 3.3.5,gzip#2 # comma and hash\n  dir: .\n  list: [a, b]\n",
        )],
    );
}

#[test]
fn a_scalar_over_several_lines_is_rewritten_on_one() {
    // A single-quoted value folded over two lines is replaced by one
    // line; a regex group inside a double-quoted scalar continued on the
    // next line is rewritten where it is.
    let tree = tree_with(
        r#"  traefik:
    version: 3.3.5
    source: {type: manual}
    pins:
      - file: values.yaml
        yaml: proxy.version
      - file: values.yaml
        yaml: proxy.args
        regex: '--version=(?P<version>[0-9.]+)'
"#,
        &[(
            "values.yaml",
            "proxy:\n  version: 'v3.3.4\n    is pinned'\n  args: \"--log=info\n    --version=3.3.4\"\n  other: 1\n",
        )],
    );
    applies_to(
        &tree,
        &[(
            "values.yaml",
            "proxy:\n  version: '3.3.5'\n  args: \"--log=info\n    --version=3.3.5\"\n  other: 1\n",
        )],
    );
}

#[test]
fn a_block_scalar_is_refused_naming_the_key_path() {
    let tree = tree_with(
        r#"  traefik:
    version: 3.3.5
    source: {type: manual}
    pins:
      - file: values.yaml
        yaml: proxy.version
"#,
        &[("values.yaml", "proxy:\n  version: |\n    3.3.4\n")],
    );
    let out = tree.run(&["apply"]);
    out.code(1)
        .stderr_mentions("the value of `yaml proxy.version` at line")
        .stderr_mentions("cannot be rewritten: it is a block scalar");
    assert!(!out.streams().contains("plain scalar"), "{}", out.streams());
    assert_eq!(
        tree.read("values.yaml"),
        "proxy:\n  version: |\n    3.3.4\n"
    );
}
