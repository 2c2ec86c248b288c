//! Packed plugin bundles: the `.tar.gz` files Mattermost distributes and installs plugins
//! from. Unpacking follows upstream's installer (`App.extractPlugin` in
//! server/channels/app/plugin_install.go): the archive is extracted into a fresh
//! directory, and when that holds a single directory (the usual `<plugin id>/plugin.json`
//! layout) the bundle is that directory. Entries that would land outside the directory
//! (absolute paths, `..`) are refused by `tar`'s `unpack_in`, and links are not followed
//! out of it.

use std::fs::File;
use std::path::{Path, PathBuf};

use flate2::Compression;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;

/// Whether `path` is a file that starts as a gzip stream does (any name).
pub fn is_packed(path: &Path) -> bool {
    use std::io::Read;
    let mut magic = [0u8; 2];
    path.is_file()
        && File::open(path)
            .and_then(|mut f| f.read_exact(&mut magic))
            .is_ok()
        && magic == [0x1f, 0x8b]
}

/// Unpacks the bundle archive `archive` into `into` (an empty directory) and returns the
/// bundle's directory: `into`, or its only entry when that is a directory.
pub fn unpack(archive: &Path, into: &Path) -> Result<PathBuf, String> {
    let file = File::open(archive).map_err(|e| format!("{}: {e}", archive.display()))?;
    let mut tar = tar::Archive::new(GzDecoder::new(file));
    tar.set_preserve_permissions(true);
    let entries = tar
        .entries()
        .map_err(|e| format!("{} is not a .tar.gz: {e}", archive.display()))?;
    let mut count = 0usize;
    for entry in entries {
        let mut entry =
            entry.map_err(|e| format!("{} is not a .tar.gz: {e}", archive.display()))?;
        let name = entry
            .path()
            .map(|p| p.display().to_string())
            .unwrap_or_else(|_| "?".into());
        let inside = entry
            .unpack_in(into)
            .map_err(|e| format!("{}: entry {name}: {e}", archive.display()))?;
        if !inside {
            return Err(format!(
                "{}: entry {name} would be written outside the bundle directory",
                archive.display()
            ));
        }
        count += 1;
    }
    if count == 0 {
        return Err(format!("{} is an empty archive", archive.display()));
    }
    let top: Vec<PathBuf> = std::fs::read_dir(into)
        .map_err(|e| format!("{}: {e}", into.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    Ok(match top.as_slice() {
        [only] if only.is_dir() => only.clone(),
        _ => into.to_path_buf(),
    })
}

/// Packs the bundle directory `dir` into `archive` as Mattermost's plugin bundles are
/// laid out: every file under a top directory named `top` (the plugin id). Symbolic links
/// are stored as links.
pub fn pack(dir: &Path, top: &str, archive: &Path) -> Result<(), String> {
    pack_filtered(dir, top, archive, &|_| true)
}

/// [`pack`], with only the entries whose path relative to `dir` `keep` accepts (a
/// directory left out takes its contents with it).
pub fn pack_filtered(
    dir: &Path,
    top: &str,
    archive: &Path,
    keep: &dyn Fn(&Path) -> bool,
) -> Result<(), String> {
    let file = File::create(archive).map_err(|e| format!("{}: {e}", archive.display()))?;
    let mut tar = tar::Builder::new(GzEncoder::new(file, Compression::default()));
    tar.follow_symlinks(false);
    let packing = |e: std::io::Error| format!("packing {}: {e}", dir.display());
    tar.append_dir(top, dir).map_err(packing)?;
    let mut pending = vec![PathBuf::new()];
    while let Some(rel) = pending.pop() {
        let mut entries: Vec<_> = std::fs::read_dir(dir.join(&rel))
            .map_err(packing)?
            .collect::<Result<_, _>>()
            .map_err(packing)?;
        entries.sort_by_key(|e| e.file_name());
        for entry in entries {
            let rel = rel.join(entry.file_name());
            if !keep(&rel) {
                continue;
            }
            let name = Path::new(top).join(&rel);
            if entry.file_type().map_err(packing)?.is_dir() {
                tar.append_dir(&name, entry.path()).map_err(packing)?;
                pending.push(rel);
            } else {
                tar.append_path_with_name(entry.path(), &name)
                    .map_err(packing)?;
            }
        }
    }
    tar.into_inner()
        .and_then(|gz| gz.finish())
        .map_err(|e| format!("writing {}: {e}", archive.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_packed_bundle_unpacks_to_its_top_directory_with_modes_kept() {
        use std::os::unix::fs::PermissionsExt;
        let work = tempfile::tempdir().unwrap();
        let dir = work.path().join("src");
        std::fs::create_dir_all(dir.join("server")).unwrap();
        std::fs::write(dir.join("plugin.json"), br#"{"id": "x"}"#).unwrap();
        let exe = dir.join("server/run.sh");
        std::fs::write(&exe, b"#!/bin/sh\n").unwrap();
        std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).unwrap();
        let archive = work.path().join("x.tar.gz");
        pack(&dir, "x", &archive).unwrap();
        assert!(is_packed(&archive));
        assert!(!is_packed(&dir.join("plugin.json")));
        let into = work.path().join("out");
        std::fs::create_dir(&into).unwrap();
        let bundle = unpack(&archive, &into).unwrap();
        assert_eq!(bundle, into.join("x"));
        assert!(bundle.join("plugin.json").is_file());
        let mode = std::fs::metadata(bundle.join("server/run.sh"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o111, 0o111, "{mode:o}");
    }

    #[test]
    fn garbage_and_escaping_entries_are_refused_with_a_reason() {
        let work = tempfile::tempdir().unwrap();
        let garbage = work.path().join("g.tar.gz");
        std::fs::write(&garbage, [0x1f, 0x8b, 1, 2, 3]).unwrap();
        let into = work.path().join("out");
        std::fs::create_dir(&into).unwrap();
        let err = unpack(&garbage, &into).unwrap_err();
        assert!(err.contains("g.tar.gz"), "{err}");

        // An entry named ../evil, written by hand (tar's builder refuses such names).
        let evil = work.path().join("e.tar.gz");
        let mut header = tar::Header::new_gnu();
        let name = b"../evil";
        header.as_old_mut().name[..name.len()].copy_from_slice(name);
        header.set_size(1);
        header.set_mode(0o644);
        header.set_cksum();
        let mut b = tar::Builder::new(GzEncoder::new(
            File::create(&evil).unwrap(),
            Compression::default(),
        ));
        b.append(&header, &b"x"[..]).unwrap();
        b.into_inner().unwrap().finish().unwrap();
        let into = work.path().join("out2");
        std::fs::create_dir(&into).unwrap();
        let err = unpack(&evil, &into).unwrap_err();
        assert!(err.contains("outside"), "{err}");
        assert!(!work.path().join("evil").exists());
    }
}
