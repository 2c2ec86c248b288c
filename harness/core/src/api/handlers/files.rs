//! File rpcs of the reference PluginAPI server: an in-memory file store (bytes by path),
//! FileInfo records, public links for files attached to posts, and resumable upload
//! sessions.

use std::collections::BTreeMap;

use serde_json::Value;

use super::prelude::*;

/// Upstream's `minFirstPartSize`: an upload's first part must be at least 5 MiB unless
/// it is the whole file.
pub const MIN_FIRST_PART_SIZE: i64 = 5 * 1024 * 1024;

/// The creator of files uploaded by plugins (`UploadFile` has no user).
const NO_USER: &str = "nouser";

/// Files, their bytes and the upload sessions.
#[derive(Debug, Default)]
pub struct FilesState {
    /// FileInfos by id.
    infos: BTreeMap<String, FileInfo>,
    /// The store path of each FileInfo, by file id (copies share their original's path).
    paths: BTreeMap<String, String>,
    /// Stored bytes by path.
    blobs: BTreeMap<String, Vec<u8>>,
    /// Searchable text content by file id.
    content: BTreeMap<String, String>,
    /// Upload sessions by id (removed once the upload completes).
    sessions: BTreeMap<String, UploadSession>,
}

/// Attach a file to a new post (upstream `FileInfo().AttachToPost`): only a live file not
/// attached yet, created by the posting user or by a plugin. Whether it was attached.
pub fn attach_to_post(
    state: &mut FilesState,
    file_id: &str,
    post_id: &str,
    channel_id: &str,
    user_id: &str,
    now: i64,
) -> bool {
    match state.infos.get_mut(file_id) {
        Some(info)
            if info.delete_at == 0
                && info.post_id.is_empty()
                && (info.creator_id == user_id || info.creator_id == NO_USER) =>
        {
            info.post_id = post_id.to_string();
            info.channel_id = channel_id.to_string();
            info.update_at = now;
            true
        }
        _ => false,
    }
}

/// Soft-delete the files of a deleted post (upstream `FileInfo().DeleteForPost`).
pub fn delete_for_post(state: &mut FilesState, post_id: &str, now: i64) {
    for info in state.infos.values_mut() {
        if info.post_id == post_id && info.delete_at == 0 {
            info.delete_at = now;
            info.update_at = now;
        }
    }
}

/// `YYYYMMDD` of a time in milliseconds (UTC), the first part of upstream's file paths.
fn date_prefix(ms: i64) -> String {
    // Howard Hinnant's civil-from-days.
    let z = ms.div_euclid(86_400_000) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}{m:02}{d:02}")
}

/// The last path component of a file name, as `filepath.Base`.
fn base_name(name: &str) -> String {
    name.rsplit(['/', '\\'])
        .next()
        .unwrap_or_default()
        .to_string()
}

/// The MIME type Go's `mime.TypeByExtension` gives (text types with a UTF-8 charset);
/// unknown extensions are `application/octet-stream`.
fn mime_for(extension: &str) -> &'static str {
    match extension {
        "txt" | "text" | "log" => "text/plain; charset=utf-8",
        "md" | "markdown" => "text/markdown; charset=utf-8",
        "csv" => "text/csv; charset=utf-8",
        "html" | "htm" => "text/html; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "xml" => "text/xml; charset=utf-8",
        "json" => "application/json",
        "pdf" => "application/pdf",
        "zip" => "application/zip",
        "gz" => "application/gzip",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "bmp" => "image/bmp",
        "svg" => "image/svg+xml",
        "mp3" => "audio/mpeg",
        "wav" => "audio/wav",
        "mp4" => "video/mp4",
        "webm" => "video/webm",
        _ => "application/octet-stream",
    }
}

/// Width and height of a PNG or GIF image, from its header.
fn image_size(data: &[u8]) -> Option<(i32, i32)> {
    if data.len() >= 24 && data.starts_with(b"\x89PNG\r\n\x1a\n") {
        let w = u32::from_be_bytes(data[16..20].try_into().ok()?);
        let h = u32::from_be_bytes(data[20..24].try_into().ok()?);
        return Some((w as i32, h as i32));
    }
    if data.len() >= 10 && (data.starts_with(b"GIF87a") || data.starts_with(b"GIF89a")) {
        let w = u16::from_le_bytes([data[6], data[7]]);
        let h = u16::from_le_bytes([data[8], data[9]]);
        return Some((i32::from(w), i32::from(h)));
    }
    None
}

/// A FileInfo for `name` holding `data` (upstream `model.GetInfoForBytes`).
fn info_for(id: String, name: &str, data: &[u8], now: i64) -> FileInfo {
    let name = base_name(name);
    let extension = name
        .rsplit_once('.')
        .map(|(_, e)| e.to_lowercase())
        .unwrap_or_default();
    let mime_type = mime_for(&extension).to_string();
    let (width, height) = image_size(data).unwrap_or_default();
    FileInfo {
        id,
        create_at: now,
        update_at: now,
        size: data.len() as i64,
        has_preview_image: mime_type.starts_with("image/") && extension != "svg",
        name,
        extension,
        mime_type,
        width,
        height,
        ..Default::default()
    }
}

/// The live FileInfo with this id, or 404 `app.file_info.get.app_error`.
fn live_info(cx: &Cx<'_>, id: &str) -> Res<FileInfo> {
    cx.store
        .files
        .infos
        .get(id)
        .filter(|i| i.delete_at == 0)
        .cloned()
        .ok_or_else(|| cx.not_found("file info", id))
}

/// The bytes at a store path, or 500 `api.file.read_file.app_error` (upstream reports a
/// missing file as a backend read failure).
fn read_path(cx: &Cx<'_>, path: &str) -> Res<Vec<u8>> {
    cx.store.files.blobs.get(path).cloned().ok_or_else(|| {
        cx.err(
            500,
            "api.file.read_file.app_error",
            format!("unable to read file {path:?}"),
        )
    })
}

/// A deterministic, hard-to-guess-looking hash for public links (upstream: SHA-256 of the
/// file id with the public link salt).
fn link_hash(id: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut out = String::new();
    for round in 0..4u8 {
        for b in id.bytes().chain([round]) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        out.push_str(&format!("{h:016x}"));
    }
    out
}

/// `CopyFileInfos`: duplicate file records for a user (not looked up): new ids, creator =
/// the user, create_at = update_at = now, not attached to any post or channel; the copies
/// share the original bytes. The ids are copied in order: an unknown or deleted file is 404
/// and the copies made before it stay (upstream does not roll them back).
pub fn copy_file_infos(cx: &mut Cx<'_>, req: CopyFileInfosRequest) -> Res<CopyFileInfosResponse> {
    let mut file_ids = Vec::new();
    for id in &req.file_ids {
        let original = live_info(cx, id)?;
        let mut info = original.clone();
        info.id = new_id();
        info.creator_id = req.user_id.clone();
        info.create_at = cx.now;
        info.update_at = cx.now;
        info.post_id.clear();
        info.channel_id.clear();
        let state = &mut cx.store.files;
        if let Some(path) = state.paths.get(&original.id).cloned() {
            state.paths.insert(info.id.clone(), path);
        }
        if let Some(content) = state.content.get(&original.id).cloned() {
            state.content.insert(info.id.clone(), content);
        }
        file_ids.push(info.id.clone());
        state.infos.insert(info.id.clone(), info);
    }
    Ok(CopyFileInfosResponse {
        file_ids,
        ..Default::default()
    })
}

/// `GetFileInfo`: fetch file metadata by id (deleted files are 404).
pub fn get_file_info(cx: &mut Cx<'_>, req: GetFileInfoRequest) -> Res<GetFileInfoResponse> {
    let info = live_info(cx, &req.file_id)?;
    Ok(GetFileInfoResponse {
        file_info: Some(info),
        ..Default::default()
    })
}

/// `SetFileSearchableContent`: set the searchable text content of a file (404 for an
/// unknown file). The content is not part of FileInfo.
pub fn set_file_searchable_content(
    cx: &mut Cx<'_>,
    req: SetFileSearchableContentRequest,
) -> Res<SetFileSearchableContentResponse> {
    live_info(cx, &req.file_id)?;
    cx.store.files.content.insert(req.file_id, req.content);
    Ok(SetFileSearchableContentResponse::default())
}

/// `GetFileInfos`: page through file metadata (the store's `GetWithOptions`). Options
/// filter by creator (`user_id`) and `channel_id` (a file has a channel once it is attached
/// to a post or uploaded through an upload session) and may include deleted files;
/// `sort_by` is exactly `CreateAt` (also when empty) or `Size`, anything else 400;
/// `sort_order` `desc` sorts descending, anything else ascending; ties are broken by id;
/// per_page 0 is an empty page, a negative page or per_page 400.
pub fn get_file_infos(cx: &mut Cx<'_>, req: GetFileInfosRequest) -> Res<GetFileInfosResponse> {
    if req.page < 0 || req.per_page < 0 {
        return Err(cx.bad(
            "app.file_info.get_with_options.app_error",
            "page and per_page must not be negative",
        ));
    }
    let opt = req.options.unwrap_or_default();
    let by_size = match opt.sort_by.as_str() {
        "" | "CreateAt" => false,
        "Size" => true,
        other => {
            return Err(cx.bad(
                "app.file_info.get_with_options.app_error",
                format!("invalid sort_by {other:?}"),
            ));
        }
    };
    let descending = opt.sort_order == "desc";
    let mut infos: Vec<FileInfo> = cx
        .store
        .files
        .infos
        .values()
        .filter(|i| opt.include_deleted || i.delete_at == 0)
        .filter(|i| opt.user_id.is_empty() || i.creator_id == opt.user_id)
        .filter(|i| opt.channel_id.is_empty() || i.channel_id == opt.channel_id)
        .cloned()
        .collect();
    infos.sort_by(|a, b| {
        let (ka, kb) = if by_size {
            (a.size, b.size)
        } else {
            (a.create_at, b.create_at)
        };
        let ord = ka.cmp(&kb).then_with(|| a.id.cmp(&b.id));
        if descending { ord.reverse() } else { ord }
    });
    Ok(GetFileInfosResponse {
        file_infos: infos
            .into_iter()
            .skip((req.page as usize).saturating_mul(req.per_page as usize))
            .take(req.per_page as usize)
            .collect(),
        ..Default::default()
    })
}

/// `GetFile`: download a file's bytes by id (404 for an unknown or deleted file).
pub fn get_file(cx: &mut Cx<'_>, req: GetFileRequest) -> Res<GetFileResponse> {
    let info = live_info(cx, &req.file_id)?;
    let path = cx
        .store
        .files
        .paths
        .get(&info.id)
        .cloned()
        .unwrap_or_default();
    let data = read_path(cx, &path)?;
    Ok(GetFileResponse {
        data,
        ..Default::default()
    })
}

/// `GetFileLink`: the public link `<SiteURL>/files/<id>/public?h=<hash>` of a file. First
/// public links must be enabled (`FileSettings.EnablePublicLink`, false by default: 501
/// `plugin_api.get_file_link.disabled.app_error`); then unknown files are 404 and the file
/// must be attached to a post (400 `plugin_api.get_file_link.no_post.app_error`).
pub fn get_file_link(cx: &mut Cx<'_>, req: GetFileLinkRequest) -> Res<GetFileLinkResponse> {
    if cx.store.config.setting("FileSettings.EnablePublicLink") != Value::Bool(true) {
        return Err(cx.err(
            501,
            "plugin_api.get_file_link.disabled.app_error",
            "public links are disabled",
        ));
    }
    let site = match cx.store.config.setting("ServiceSettings.SiteURL") {
        Value::String(s) => s,
        _ => String::new(),
    };
    let info = live_info(cx, &req.file_id)?;
    if info.post_id.is_empty() {
        return Err(cx.bad(
            "plugin_api.get_file_link.no_post.app_error",
            format!("file {:?} is not attached to a post", info.id),
        ));
    }
    Ok(GetFileLinkResponse {
        link: format!("{site}/files/{}/public?h={}", info.id, link_hash(&info.id)),
        ..Default::default()
    })
}

/// `ReadFile`: read bytes from the file store by path: the path of an upload session
/// (`UploadSession.path`) or of a file uploaded with `UploadFile`
/// (`YYYYMMDD/teams/noteam/channels/<channel>/users/nouser/<file id>/<name>`). Any path
/// without a file (the empty path too) is 500 `api.file.read_file.app_error`, as upstream's
/// file backend fails.
pub fn read_file(cx: &mut Cx<'_>, req: ReadFileRequest) -> Res<ReadFileResponse> {
    let data = read_path(cx, &req.path)?;
    Ok(ReadFileResponse {
        data,
        ..Default::default()
    })
}

/// `UploadFile`: upload bytes as a file for a channel (creator `nouser`; the channel only
/// names the store path: the FileInfo gets its channel id, like its post id, when a post
/// lists it). A non-empty channel id must name an existing channel (400
/// `api.file.upload_file.incorrect_channelId.app_error`); an empty one is accepted. No
/// size limit applies on this path. The name must not be empty (upstream: undetermined).
pub fn upload_file(cx: &mut Cx<'_>, req: UploadFileRequest) -> Res<UploadFileResponse> {
    if !req.channel_id.is_empty() && cx.channel(&req.channel_id).is_err() {
        return Err(cx.bad(
            "api.file.upload_file.incorrect_channelId.app_error",
            format!("channel {:?} does not exist", req.channel_id),
        ));
    }
    let name = base_name(&req.filename);
    if name.is_empty() || name == "." || name == ".." {
        return Err(cx.bad(
            "api.file.upload_file.bad_parse.app_error",
            "a file name is required",
        ));
    }
    let mut info = info_for(new_id(), &name, &req.data, cx.now);
    info.creator_id = NO_USER.to_string();
    let path = format!(
        "{}/teams/noteam/channels/{}/users/{NO_USER}/{}/{}",
        date_prefix(cx.now),
        req.channel_id,
        info.id,
        info.name
    );
    let state = &mut cx.store.files;
    state.blobs.insert(path.clone(), req.data);
    state.paths.insert(info.id.clone(), path);
    state.infos.insert(info.id.clone(), info.clone());
    Ok(UploadFileResponse {
        file_info: Some(info),
        ..Default::default()
    })
}

/// What upstream's converters keep of an upload session: `remote_id` and `req_file_id`
/// are dropped in both directions (`uploadSessionFromProto` / `uploadSessionToProto`).
fn converted(mut us: UploadSession) -> UploadSession {
    us.remote_id.clear();
    us.req_file_id.clear();
    us
}

/// `CreateUploadSession`: start a resumable upload (upstream's `CreateUploadSession`):
/// file_offset = 0 and create_at = now; the path is built for type `attachment`
/// (`YYYYMMDD/teams/noteam/channels/<channel>/users/<user>/<id>/<name>`) and `import`
/// (`import/<id>_<name>`); then `UploadSession.IsValid` (400, in order: a 26-character
/// id, which the caller must give; type `attachment` or `import`; user id or `nouser`;
/// an attachment's channel id; file name; file_size > 0; path); an attachment's channel
/// must exist (400) and not be archived (400); a second session with the same id is 500.
/// No size limit applies and the user is not looked up.
pub fn create_upload_session(
    cx: &mut Cx<'_>,
    req: CreateUploadSessionRequest,
) -> Res<CreateUploadSessionResponse> {
    let us = req
        .upload_session
        .ok_or_else(|| cx.required("upload_session"))?;
    let mut us = converted(us);
    us.file_offset = 0;
    us.create_at = cx.now;
    let name = base_name(&us.filename);
    match us.r#type.as_str() {
        "attachment" => {
            us.path = format!(
                "{}/teams/noteam/channels/{}/users/{}/{}/{name}",
                date_prefix(cx.now),
                us.channel_id,
                us.user_id,
                us.id
            );
        }
        "import" => us.path = format!("import/{}_{name}", us.id),
        _ => {}
    }
    let invalid = |field: &str| {
        cx.bad(
            &format!("model.upload_session.is_valid.{field}.app_error"),
            format!("invalid {field}"),
        )
    };
    if !is_valid_id(&us.id) {
        return Err(invalid("id"));
    }
    if us.r#type != "attachment" && us.r#type != "import" {
        return Err(invalid("type"));
    }
    if !is_valid_id(&us.user_id) && us.user_id != NO_USER {
        return Err(invalid("user_id"));
    }
    if us.r#type == "attachment" && !is_valid_id(&us.channel_id) {
        return Err(invalid("channel_id"));
    }
    if us.filename.is_empty() {
        return Err(invalid("filename"));
    }
    if us.file_size <= 0 {
        return Err(invalid("file_size"));
    }
    if us.path.is_empty() {
        return Err(invalid("path"));
    }
    if us.r#type == "attachment" {
        match cx.channel(&us.channel_id) {
            Err(_) => {
                return Err(cx.bad(
                    "app.upload.create.incorrect_channel_id.app_error",
                    format!("channel {:?} does not exist", us.channel_id),
                ));
            }
            Ok(ch) if ch.delete_at != 0 => {
                return Err(cx.bad(
                    "app.upload.create.cannot_upload_to_deleted_channel.app_error",
                    "can not upload to an archived channel",
                ));
            }
            Ok(_) => {}
        }
    }
    if cx.store.files.sessions.contains_key(&us.id) {
        return Err(cx.err(
            500,
            "app.upload.create.save.app_error",
            format!("upload session {:?} already exists", us.id),
        ));
    }
    cx.store.files.sessions.insert(us.id.clone(), us.clone());
    Ok(CreateUploadSessionResponse {
        upload_session: Some(us),
        ..Default::default()
    })
}

/// `UploadData`: write data for an upload session (upstream's `UploadData`). The session
/// in the request is the one used (its path, size and offset), after checking that a
/// session with its id is stored (404 `app.upload.get.app_error`) at the same offset (400
/// `app.upload.upload_data.concurrent.app_error`). Data beyond `file_size` is ignored. A
/// first part smaller than 5 MiB that is not the whole file is refused (400, upstream's
/// `minFirstPartSize`) and the offset stays. While incomplete the answer has no FileInfo;
/// the part that completes the file creates its FileInfo (creator, channel and path from
/// the session, `remote_id` ""), removes the session and answers the FileInfo.
pub fn upload_data(cx: &mut Cx<'_>, req: UploadDataRequest) -> Res<UploadDataResponse> {
    let us = req
        .upload_session
        .ok_or_else(|| cx.required("upload_session"))?;
    let mut us = converted(us);
    let stored = cx
        .store
        .files
        .sessions
        .get(&us.id)
        .cloned()
        .ok_or_else(|| cx.not_found("upload", &us.id))?;
    if stored.file_offset != us.file_offset {
        return Err(cx.bad(
            "app.upload.upload_data.concurrent.app_error",
            format!(
                "FileOffset mismatch: the session is at {}, the request at {}",
                stored.file_offset, us.file_offset
            ),
        ));
    }
    let remaining = (us.file_size - us.file_offset).max(0) as usize;
    let part = &req.data[..req.data.len().min(remaining)];
    if us.file_offset == 0
        && (part.len() as i64) < MIN_FIRST_PART_SIZE
        && part.len() as i64 != us.file_size
    {
        return Err(cx.bad(
            "app.upload.upload_data.first_part_too_small.app_error",
            format!(
                "the first part must be at least {MIN_FIRST_PART_SIZE} bytes unless it is the whole file"
            ),
        ));
    }
    let path = if us.r#type == "import" {
        format!("{}.tmp", us.path)
    } else {
        us.path.clone()
    };
    let state = &mut cx.store.files;
    let blob = state.blobs.entry(path.clone()).or_default();
    if us.file_offset == 0 {
        blob.clear();
    }
    blob.extend_from_slice(part);
    us.file_offset += part.len() as i64;
    if let Some(s) = state.sessions.get_mut(&us.id) {
        s.file_offset = us.file_offset;
    }
    if us.file_offset < us.file_size {
        return Ok(UploadDataResponse::default());
    }
    state.sessions.remove(&us.id);
    if us.r#type == "import" {
        if let Some(data) = state.blobs.remove(&path) {
            state.blobs.insert(us.path.clone(), data);
        }
        return Ok(UploadDataResponse::default());
    }
    let data = state.blobs.get(&us.path).cloned().unwrap_or_default();
    let mut info = info_for(new_id(), &us.filename, &data, cx.now);
    info.creator_id = us.user_id.clone();
    info.channel_id = us.channel_id.clone();
    info.remote_id = Some(String::new());
    state.paths.insert(info.id.clone(), us.path.clone());
    state.infos.insert(info.id.clone(), info.clone());
    Ok(UploadDataResponse {
        file_info: Some(info),
        ..Default::default()
    })
}

/// `GetUploadSession`: fetch an upload session by id (404 `app.upload.get.app_error`;
/// a completed upload's session is gone).
pub fn get_upload_session(
    cx: &mut Cx<'_>,
    req: GetUploadSessionRequest,
) -> Res<GetUploadSessionResponse> {
    let us = cx
        .store
        .files
        .sessions
        .get(&req.upload_id)
        .cloned()
        .ok_or_else(|| cx.not_found("upload", &req.upload_id))?;
    Ok(GetUploadSessionResponse {
        upload_session: Some(converted(us)),
        ..Default::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_names() {
        assert_eq!(date_prefix(0), "19700101");
        assert_eq!(date_prefix(1_709_164_800_000), "20240229");
        assert_eq!(base_name("a/b/c.txt"), "c.txt");
        assert_eq!(mime_for("png"), "image/png");
        let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x02\0\0\0\x03";
        assert_eq!(image_size(png), Some((2, 3)));
    }
}
