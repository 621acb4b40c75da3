//! CSV import by upload on the data page (issue 14, item 8). The server names no adapter: the
//! front end that starts it passes the CSV parser (`Dashboard::with_csv_parser`; `pulse serve`
//! passes data-csv's, the same one as `pulse data import`), and the import itself is
//! `pulse_app::data::import` (one transaction; a fuller stored bar is kept unless `replace`).

use crate::{Dashboard, api_caller, app_error, form_caller, json_error};
use axum::extract::{Multipart, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use pulse_app::data::{ImportOutcome, ImportRequest};
use pulse_core::ports::{ImportBatch, Store};
use pulse_report::escape::html;
use std::sync::Arc;

/// Parses one uploaded CSV file (its name, its bytes) into import batches, or says why not
/// (naming the file, line and field).
pub type CsvParser = Arc<dyn Fn(&str, &[u8]) -> Result<Vec<ImportBatch>, String> + Send + Sync>;

/// Largest upload accepted (bytes): a year of one-minute bars is about 25 MB.
pub const MAX_UPLOAD_BYTES: usize = 64 * 1024 * 1024;

/// What an upload form carried.
struct Upload {
    csrf: String,
    replace: bool,
    file: Option<(String, Vec<u8>)>,
}

fn bad(field: &str, msg: String) -> Response {
    json_error(StatusCode::BAD_REQUEST, msg, Some(field))
}

async fn read(mut multipart: Multipart) -> Result<Upload, Response> {
    let mut upload = Upload {
        csrf: String::new(),
        replace: false,
        file: None,
    };
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) => return Err(bad("file", format!("the upload could not be read: {e}"))),
        };
        match field.name().unwrap_or("") {
            "csrf" => upload.csrf = field.text().await.unwrap_or_default(),
            "replace" => {
                let v = field.text().await.unwrap_or_default();
                upload.replace = !v.is_empty() && v != "false";
            }
            "file" => {
                // The base name only: it names the symbol and the messages, never a path.
                let name = field
                    .file_name()
                    .and_then(|n| n.rsplit(['/', '\\']).next())
                    .filter(|n| !n.is_empty())
                    .unwrap_or("upload.csv")
                    .to_string();
                let bytes = field.bytes().await.map_err(|e| {
                    bad("file", format!("{name}: the upload could not be read: {e}"))
                })?;
                upload.file = Some((name, bytes.to_vec()));
            }
            _ => {}
        }
    }
    Ok(upload)
}

/// Parses and imports an upload; the outcome and the file's name.
async fn import<S: Store + Send + Sync + 'static>(
    d: &Dashboard<S>,
    upload: Upload,
) -> Result<(String, ImportOutcome), Response> {
    let Some(parser) = &d.csv_parser else {
        return Err(json_error(
            StatusCode::NOT_IMPLEMENTED,
            "this server was started without a CSV parser".into(),
            None,
        ));
    };
    let Some((name, bytes)) = upload.file else {
        return Err(bad("file", "choose a CSV file to import".into()));
    };
    if bytes.is_empty() {
        return Err(bad("file", format!("{name} is empty")));
    }
    // Parse and validate everything before touching the store: a bad file writes nothing.
    let batches = parser(&name, &bytes).map_err(|e| bad("file", e))?;
    let request = ImportRequest {
        batches,
        replace: upload.replace,
    };
    let outcome = pulse_app::data::import(&d.store, &(), &request)
        .await
        .map_err(app_error)?;
    Ok((name, outcome))
}

/// `POST /data/import` (multipart: `csrf`, `file`, optional `replace`).
pub async fn import_form<S: Store + Send + Sync + 'static>(
    State(d): State<Arc<Dashboard<S>>>,
    headers: HeaderMap,
    multipart: Multipart,
) -> Response {
    let upload = match read(multipart).await {
        Ok(u) => u,
        Err(r) => return r,
    };
    if let Err(r) = form_caller(&d, &headers, &upload.csrf) {
        return r;
    }
    let csrf = upload.csrf.clone();
    match import(&d, upload).await {
        Ok((name, o)) => {
            let s = &o.summary;
            let body = format!(
                "<section><h1>Imported {}</h1><p id=\"imported\">{} bars inserted, {} updated, {} unchanged, {} kept ({}); {} corporate actions inserted.</p><p><a href=\"/data\">Back to the data</a></p></section>",
                html(&name),
                s.bars_inserted,
                s.bars_updated,
                s.bars_unchanged,
                s.bars_kept,
                html(o.kept_because),
                s.actions_inserted
            );
            crate::pages::page("Import", &csrf, &body).into_response()
        }
        Err(r) => r,
    }
}

/// `POST /api/data/import` (multipart: `file`, optional `replace`): the row counts.
pub async fn import_api<S: Store + Send + Sync + 'static>(
    State(d): State<Arc<Dashboard<S>>>,
    headers: HeaderMap,
    multipart: Multipart,
) -> Response {
    if let Err(r) = api_caller(&d, &headers, true) {
        return r;
    }
    let upload = match read(multipart).await {
        Ok(u) => u,
        Err(r) => return r,
    };
    match import(&d, upload).await {
        Ok((_, o)) => axum::Json(o).into_response(),
        Err(r) => r,
    }
}
