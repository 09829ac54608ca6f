//! Shallow file collection for `browser.proxy` results (browser-routes §1.5): only `path`,
//! `imagePath`, `download.path` and `downloads[].path` are looked at (never recursively — an
//! `evaluate` result is page-controlled), each distinct path is read and shipped inline as
//! `{path, base64, mimeType?}`, with the limits 10 MiB per file, 16 MiB in total, 256 files.

use std::io::Read as _;

use base64::Engine as _;
use serde_json::{Value, json};

/// Per-file limit.
pub const MAX_FILE_BYTES: u64 = 10 * 1024 * 1024;
/// Aggregate limit over all files of one result.
pub const MAX_TOTAL_BYTES: u64 = 16 * 1024 * 1024;
/// Most files one result may reference.
pub const MAX_FILES: usize = 256;

/// The file slots of a result, deduplicated, in order.
pub fn file_paths(result: &Value) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut push = |v: Option<&Value>| {
        if let Some(s) = v.and_then(Value::as_str).filter(|s| !s.trim().is_empty())
            && !out.iter().any(|p| p == s)
        {
            out.push(s.to_string());
        }
    };
    push(result.get("path"));
    push(result.get("imagePath"));
    push(result.get("download").and_then(|d| d.get("path")));
    if let Some(list) = result.get("downloads").and_then(Value::as_array) {
        for d in list {
            push(d.get("path"));
        }
    }
    out
}

/// MIME type from magic bytes, then the extension.
pub fn sniff_mime(bytes: &[u8], path: &str) -> Option<&'static str> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        return Some("image/png");
    }
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        return Some("image/jpeg");
    }
    if bytes.starts_with(b"%PDF-") {
        return Some("application/pdf");
    }
    if bytes.starts_with(b"PK\x03\x04") {
        return Some("application/zip");
    }
    let ext = path.rsplit('.').next().unwrap_or("").to_ascii_lowercase();
    match ext.as_str() {
        "png" => Some("image/png"),
        "jpg" | "jpeg" => Some("image/jpeg"),
        "pdf" => Some("application/pdf"),
        "zip" => Some("application/zip"),
        _ => None,
    }
}

/// Read every referenced file. The error is the full message the node reports.
pub fn collect(result: &Value) -> Result<Vec<Value>, String> {
    let paths = file_paths(result);
    if paths.len() > MAX_FILES {
        return Err(format!(
            "browser proxy response exceeds {MAX_FILES} file limit"
        ));
    }
    let mut total: u64 = 0;
    let mut files = Vec::with_capacity(paths.len());
    for p in paths {
        let fail = |why: String| format!("browser proxy file read failed for {p}: {why}");
        let file = std::fs::File::open(&p).map_err(|_| fail("file not found".to_string()))?;
        let meta = file
            .metadata()
            .map_err(|e| fail(format!("cannot stat: {e}")))?;
        if !meta.is_file() {
            return Err(fail("file not found".to_string()));
        }
        if meta.len() > MAX_FILE_BYTES {
            return Err(fail("browser proxy file exceeds 10 MiB limit".to_string()));
        }
        let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
        file.take(MAX_FILE_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| fail(e.to_string()))?;
        let len = u64::try_from(bytes.len()).unwrap_or(u64::MAX);
        if len > MAX_FILE_BYTES {
            return Err(fail("browser proxy file exceeds 10 MiB limit".to_string()));
        }
        total += len;
        if total > MAX_TOTAL_BYTES {
            return Err(fail(
                "browser proxy files exceed 16 MiB aggregate limit".to_string(),
            ));
        }
        let mut entry = json!({
            "path": p,
            "base64": base64::engine::general_purpose::STANDARD.encode(&bytes),
        });
        if let Some(m) = sniff_mime(&bytes, &p) {
            entry["mimeType"] = json!(m);
        }
        files.push(entry);
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_shallow_slots_are_collected() {
        let r = json!({"path": "/a", "imagePath": "/b", "download": {"path": "/c"},
            "downloads": [{"path": "/d"}, {"path": "/a"}],
            "result": {"path": "/etc/shadow"}, "nested": {"imagePath": "/x"}});
        assert_eq!(file_paths(&r), vec!["/a", "/b", "/c", "/d"]);
    }

    #[test]
    fn mime_sniffing() {
        assert_eq!(
            sniff_mime(b"\x89PNG\r\n\x1a\nxx", "x.bin"),
            Some("image/png")
        );
        assert_eq!(sniff_mime(b"%PDF-1.7", "x"), Some("application/pdf"));
        assert_eq!(sniff_mime(b"\xFF\xD8\xFF\xE0", "x"), Some("image/jpeg"));
        assert_eq!(sniff_mime(b"hello", "x.jpg"), Some("image/jpeg"));
        assert_eq!(sniff_mime(b"hello", "x.txt"), None);
    }

    #[test]
    fn limits_per_file_and_aggregate() {
        let dir = tempfile::tempdir().unwrap();
        let big = dir.path().join("big.png");
        std::fs::write(&big, vec![0u8; (MAX_FILE_BYTES + 1) as usize]).unwrap();
        let err = collect(&json!({"path": big.to_str().unwrap()})).unwrap_err();
        assert!(
            err.contains("browser proxy file exceeds 10 MiB limit"),
            "{err}"
        );
        assert!(
            err.starts_with("browser proxy file read failed for "),
            "{err}"
        );

        let a = dir.path().join("a.png");
        let b = dir.path().join("b.png");
        std::fs::write(&a, vec![0u8; 9 * 1024 * 1024]).unwrap();
        std::fs::write(&b, vec![0u8; 9 * 1024 * 1024]).unwrap();
        let err = collect(&json!({"path": a.to_str().unwrap(), "imagePath": b.to_str().unwrap()}))
            .unwrap_err();
        assert!(err.contains("16 MiB aggregate limit"), "{err}");

        let err = collect(&json!({"path": dir.path().to_str().unwrap()})).unwrap_err();
        assert!(err.ends_with("file not found"), "{err}");
        let err = collect(&json!({"path": "/nonexistent/x.png"})).unwrap_err();
        assert!(err.ends_with("file not found"), "{err}");

        let many: Vec<Value> = (0..=MAX_FILES)
            .map(|i| json!({"path": format!("/f{i}")}))
            .collect();
        let err = collect(&json!({"downloads": many})).unwrap_err();
        assert_eq!(err, "browser proxy response exceeds 256 file limit");
    }
}
