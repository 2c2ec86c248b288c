//! File rpcs of the reference PluginAPI server.

use super::prelude::*;

/// This domain's part of the store.
#[derive(Debug, Default)]
pub struct FilesState {}

/// `CopyFileInfos`: duplicate file records for a user.
pub fn copy_file_infos(_cx: &mut Cx<'_>, _req: CopyFileInfosRequest) -> Res<CopyFileInfosResponse> {
    todo_rpc("CopyFileInfos")
}

/// `GetFileInfo`: fetch file metadata by id.
pub fn get_file_info(_cx: &mut Cx<'_>, _req: GetFileInfoRequest) -> Res<GetFileInfoResponse> {
    todo_rpc("GetFileInfo")
}

/// `SetFileSearchableContent`: set the searchable text content of a file.
pub fn set_file_searchable_content(
    _cx: &mut Cx<'_>,
    _req: SetFileSearchableContentRequest,
) -> Res<SetFileSearchableContentResponse> {
    todo_rpc("SetFileSearchableContent")
}

/// `GetFileInfos`: page through file metadata with filters.
pub fn get_file_infos(_cx: &mut Cx<'_>, _req: GetFileInfosRequest) -> Res<GetFileInfosResponse> {
    todo_rpc("GetFileInfos")
}

/// `GetFile`: download a file's bytes by id.
pub fn get_file(_cx: &mut Cx<'_>, _req: GetFileRequest) -> Res<GetFileResponse> {
    todo_rpc("GetFile")
}

/// `GetFileLink`: public link for a file.
pub fn get_file_link(_cx: &mut Cx<'_>, _req: GetFileLinkRequest) -> Res<GetFileLinkResponse> {
    todo_rpc("GetFileLink")
}

/// `ReadFile`: read bytes from the file store by path.
pub fn read_file(_cx: &mut Cx<'_>, _req: ReadFileRequest) -> Res<ReadFileResponse> {
    todo_rpc("ReadFile")
}

/// `UploadFile`: upload bytes as a file into a channel.
pub fn upload_file(_cx: &mut Cx<'_>, _req: UploadFileRequest) -> Res<UploadFileResponse> {
    todo_rpc("UploadFile")
}

/// `CreateUploadSession`: start a resumable upload.
pub fn create_upload_session(
    _cx: &mut Cx<'_>,
    _req: CreateUploadSessionRequest,
) -> Res<CreateUploadSessionResponse> {
    todo_rpc("CreateUploadSession")
}

/// `UploadData`: send data for an upload session (whole body in one message).
pub fn upload_data(_cx: &mut Cx<'_>, _req: UploadDataRequest) -> Res<UploadDataResponse> {
    todo_rpc("UploadData")
}

/// `GetUploadSession`: fetch an upload session by id.
pub fn get_upload_session(
    _cx: &mut Cx<'_>,
    _req: GetUploadSessionRequest,
) -> Res<GetUploadSessionResponse> {
    todo_rpc("GetUploadSession")
}
