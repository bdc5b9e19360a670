//! The deployable package: the layout the Functions host requires, zipped with the handler
//! still executable.

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::Command;

#[test]
fn package_lays_out_functions_at_the_root_and_zips_them() {
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let out = tempfile::tempdir().unwrap();
    let status = Command::new(repo.join("scripts/package"))
        .args(["--binary", env!("CARGO_BIN_EXE_handler"), "--out"])
        .arg(out.path())
        .status()
        .unwrap();
    assert!(status.success());

    let app = out.path().join("app");
    assert!(app.join("host.json").is_file());
    let mode = std::fs::metadata(app.join("handler"))
        .unwrap()
        .permissions()
        .mode();
    assert!(mode & 0o111 != 0, "handler is executable");
    let mut expected = vec!["handler".to_string(), "host.json".to_string()];
    for entry in std::fs::read_dir(repo.join("functions")).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        assert!(
            app.join(&name).join("function.json").is_file(),
            "{name}/function.json"
        );
        expected.push(format!("{name}/function.json"));
    }
    expected.sort();

    // The zip holds exactly that, with the handler's executable bit.
    let listing = Command::new("python3")
        .arg("-c")
        .arg("import sys, zipfile\nfor i in zipfile.ZipFile(sys.argv[1]).infolist(): print(i.filename, oct(i.external_attr >> 16))")
        .arg(out.path().join("portal-api.zip"))
        .output()
        .unwrap();
    let text = String::from_utf8(listing.stdout).unwrap();
    let mut names: Vec<String> = text
        .lines()
        .map(|l| l.split(' ').next().unwrap().to_owned())
        .collect();
    names.sort();
    assert_eq!(names, expected);
    let handler_mode = text.lines().find(|l| l.starts_with("handler ")).unwrap();
    assert!(handler_mode.ends_with("0o100755"), "{handler_mode}");
}
