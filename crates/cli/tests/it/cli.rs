//! Command-line behaviour: help, version, configuration errors, verify.

use crate::cairn;

#[test]
fn help_teaches_and_version_prints() {
    let out = cairn().arg("--help").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for needle in [
        "serve",
        "verify",
        "bench",
        "CAIRN_",
        "Examples",
        "--data-dir",
        "--config",
    ] {
        assert!(text.contains(needle), "--help lacks {needle}: {text}");
    }
    assert!(!text.contains("test-writer"), "internal commands stay hidden");
    let out = cairn().args(["serve", "--help"]).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("/health"));
    let out = cairn().arg("--version").output().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("cairn {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn bad_settings_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let out = cairn()
        .env("CAIRN_RETENTION", "forever")
        .args(["verify", "--data-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("retention"));

    let cfg = dir.path().join("cairn.toml");
    std::fs::write(&cfg, "no_such_setting = 1\n").unwrap();
    let out = cairn().arg("--config").arg(&cfg).args(["verify"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no_such_setting"));

    let out = cairn()
        .args(["--config", "/nonexistent/cairn.toml", "verify"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/cairn.toml"));

    // A valid file and an environment variable both apply; the variable wins.
    std::fs::write(&cfg, "retention = \"30d\"\nzstd_level = 3\n").unwrap();
    let out = cairn()
        .arg("--config")
        .arg(&cfg)
        .env("CAIRN_ZSTD_LEVEL", "40")
        .args(["verify", "--data-dir"])
        .arg(dir.path().join("d"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("zstd_level"));
}
