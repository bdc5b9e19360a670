//! Files through HTTP on both backends: signed uploads straight to storage, completion checks,
//! private reads, share links with an exact counter, thumbnails from the queue, cleanup.

use std::future::Future;
use std::io::Cursor;
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{Kind, Options, TestApp, portal};
use crate::http::{PASSWORD, admin, call, problem, user};

both!(
    an_image_goes_up_completes_downloads_and_gets_a_thumbnail,
    upload_requests_are_checked,
    complete_checks_what_arrived,
    a_signed_url_allows_only_its_own_blob,
    files_are_private_to_their_owner,
    an_avatar_is_set_replaced_and_visible_to_others,
    delete_takes_blob_thumbnail_and_links,
    share_links_count_expire_and_revoke,
    a_share_counter_is_exact_under_concurrency,
    a_corrupt_image_gets_a_failed_thumbnail,
    the_thumbnail_job_is_idempotent_and_skips_deleted_files,
    cleanup_sweeps_links_abandoned_uploads_and_orphans,
    files_join_export_and_erase,
    the_official_sdk_uploads_through_the_signed_url,
    a_form_attachment_is_readable_by_admins,
    an_upload_url_cannot_replace_a_checked_upload,
    complete_wants_exactly_the_declared_size,
    names_lose_bidirectional_and_format_characters,
    the_official_sdk_cannot_overwrite_a_completed_upload,
);

pub fn png(width: u32, height: u32) -> Vec<u8> {
    let image = image::RgbImage::from_fn(width, height, |x, y| {
        image::Rgb([(x % 256) as u8, (y % 256) as u8, ((x + y) % 256) as u8])
    });
    let mut out = Vec::new();
    image
        .write_to(&mut Cursor::new(&mut out), image::ImageFormat::Png)
        .unwrap();
    out
}

const PDF: &[u8] = b"%PDF-1.7\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n";

async fn ticket(app: &TestApp, token: &str, body: Value) -> reqwest::Response {
    call(
        app,
        Method::POST,
        "/api/v1/files/upload-url",
        Some(token),
        Some(body),
    )
    .await
}

pub async fn new_ticket(
    app: &TestApp,
    token: &str,
    category: &str,
    name: &str,
    file_type: &str,
    size: usize,
) -> Value {
    let response = ticket(
        app,
        token,
        json!({"fileName": name, "fileType": file_type, "fileSize": size, "category": category}),
    )
    .await;
    assert_eq!(response.status(), 201);
    response.json().await.unwrap()
}

/// PUTs `bytes` to the ticket's URL with the headers it names, as a browser would.
pub async fn put(app: &TestApp, ticket: &Value, bytes: Vec<u8>) -> reqwest::Response {
    assert_eq!(ticket["method"], "PUT");
    let mut request = app.client.put(ticket["uploadUrl"].as_str().unwrap());
    for (name, value) in ticket["headers"].as_object().unwrap() {
        request = request.header(name, value.as_str().unwrap());
    }
    request.body(bytes).send().await.unwrap()
}

pub async fn complete(app: &TestApp, token: &str, file_id: &str) -> reqwest::Response {
    call(
        app,
        Method::POST,
        "/api/v1/files/complete",
        Some(token),
        Some(json!({"fileId": file_id})),
    )
    .await
}

/// The whole flow; returns the completed file.
async fn upload(
    app: &TestApp,
    token: &str,
    category: &str,
    name: &str,
    file_type: &str,
    bytes: Vec<u8>,
) -> Value {
    let ticket = new_ticket(app, token, category, name, file_type, bytes.len()).await;
    assert_eq!(put(app, &ticket, bytes).await.status(), 201);
    let response = complete(app, token, ticket["fileId"].as_str().unwrap()).await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    body["file"].clone()
}

pub async fn get_file(app: &TestApp, token: &str, id: &str) -> reqwest::Response {
    call(
        app,
        Method::GET,
        &format!("/api/v1/files/{id}"),
        Some(token),
        None,
    )
    .await
}

async fn eventually<T, Fut: Future<Output = Option<T>>>(
    what: &str,
    mut probe: impl FnMut() -> Fut,
) -> T {
    let started = Instant::now();
    loop {
        if let Some(value) = probe().await {
            return value;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Waits until the dev host's queue pump has settled the file's thumbnail.
async fn settled_thumbnail(app: &TestApp, token: &str, id: &str) -> Value {
    eventually("the thumbnail job", || async {
        let file: Value = get_file(app, token, id).await.json().await.unwrap();
        (file["thumbnail"]["status"] != "pending").then_some(file)
    })
    .await
}

async fn an_image_goes_up_completes_downloads_and_gets_a_thumbnail(kind: Kind) {
    let app = portal(kind, &[]).await;
    let token = user(&app, "ann").await;
    let bytes = png(640, 480);
    let ticket = new_ticket(
        &app,
        &token,
        "image",
        "holiday.png",
        "image/png",
        bytes.len(),
    )
    .await;
    assert_eq!(ticket["headers"]["x-ms-blob-type"], "BlockBlob");
    assert_eq!(ticket["headers"]["Content-Type"], "image/png");
    let expires: chrono::DateTime<chrono::Utc> =
        ticket["expiresAt"].as_str().unwrap().parse().unwrap();
    let lifetime = expires - chrono::Utc::now();
    assert!(lifetime <= chrono::Duration::minutes(15) && lifetime > chrono::Duration::minutes(14));
    assert!(
        ticket["uploadUrl"]
            .as_str()
            .unwrap()
            .contains("/holiday.png?"),
        "{ticket}"
    );
    assert_eq!(put(&app, &ticket, bytes.clone()).await.status(), 201);
    let id = ticket["fileId"].as_str().unwrap();
    let file: Value = complete(&app, &token, id).await.json().await.unwrap();
    let file = &file["file"];
    assert_eq!(file["status"], "ready");
    assert_eq!(file["size"], bytes.len());
    assert_eq!(file["fileName"], "holiday.png");
    assert_eq!(file["category"], "image");
    assert_eq!(file["thumbnail"]["status"], "pending");

    // The read URL serves the bytes as what was recorded, as an attachment.
    let download = app
        .client
        .get(file["downloadUrl"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(download.status(), 200);
    assert_eq!(download.headers()["content-type"], "image/png");
    assert!(
        download.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment; filename=\"holiday.png\"")
    );
    assert_eq!(download.bytes().await.unwrap().as_ref(), bytes.as_slice());

    let listed: Value = call(&app, Method::GET, "/api/v1/files", Some(&token), None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);
    assert_eq!(listed["items"][0]["id"], id);
    assert_eq!(listed["nextCursor"], Value::Null);

    let file = settled_thumbnail(&app, &token, id).await;
    assert_eq!(file["thumbnail"]["status"], "ready", "{file}");
    let thumb = app
        .client
        .get(file["thumbnail"]["url"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(thumb.status(), 200);
    assert_eq!(thumb.headers()["content-type"], "image/jpeg");
    let thumb = image::load_from_memory(&thumb.bytes().await.unwrap()).unwrap();
    assert_eq!((thumb.width(), thumb.height()), (256, 192));

    let stats: Value = call(
        &app,
        Method::GET,
        "/api/v1/dashboard/stats",
        Some(&token),
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(stats["files"]["count"], 1);
    assert_eq!(stats["files"]["bytes"], bytes.len());
}

async fn upload_requests_are_checked(kind: Kind) {
    let app = portal(kind, &[]).await;
    let token = user(&app, "ben").await;
    let request = |name: &str, file_type: &str, size: u64, category: &str| json!({"fileName": name, "fileType": file_type, "fileSize": size, "category": category});
    let body = problem(
        ticket(
            &app,
            &token,
            request("a.pdf", "application/pdf", 10, "avatar"),
        )
        .await,
        400,
        "FILE_TYPE_NOT_ALLOWED",
    )
    .await;
    assert!(body["errors"]["fileType"].is_array());
    problem(
        ticket(
            &app,
            &token,
            request("a.exe", "application/x-msdownload", 10, "attachment"),
        )
        .await,
        400,
        "FILE_TYPE_NOT_ALLOWED",
    )
    .await;
    let body = problem(
        ticket(
            &app,
            &token,
            request("a.png", "image/png", 2 * 1024 * 1024 + 1, "avatar"),
        )
        .await,
        400,
        "FILE_TOO_LARGE",
    )
    .await;
    assert!(body["errors"]["fileSize"].is_array());
    problem(
        ticket(
            &app,
            &token,
            request("v.mp4", "video/mp4", 501 * 1024 * 1024, "video"),
        )
        .await,
        400,
        "FILE_TOO_LARGE",
    )
    .await;
    let body = problem(
        ticket(&app, &token, request(" ", "image/png", 0, "image")).await,
        400,
        "VALIDATION_FAILED",
    )
    .await;
    assert!(body["errors"]["fileName"].is_array() && body["errors"]["fileSize"].is_array());
    problem(
        ticket(&app, &token, request("a.png", "image/png", 10, "selfie")).await,
        400,
        "INVALID_BODY",
    )
    .await;
    let anonymous = call(
        &app,
        Method::POST,
        "/api/v1/files/upload-url",
        None,
        Some(request("a.png", "image/png", 10, "image")),
    )
    .await;
    problem(anonymous, 401, "UNAUTHORIZED").await;

    // Paths and control characters never reach the blob name; a type with parameters is
    // compared without them.
    let ticket = new_ticket(
        &app,
        &token,
        "document",
        "../../etc/\u{7}notes.txt",
        "Text/Plain; charset=utf-8",
        5,
    )
    .await;
    let url = ticket["uploadUrl"].as_str().unwrap();
    assert!(url.contains("/notes.txt?"), "{url}");
    assert!(!url.contains("etc"), "{url}");
    assert_eq!(ticket["headers"]["Content-Type"], "text/plain");
}

async fn complete_checks_what_arrived(kind: Kind) {
    let app = portal(kind, &[]).await;
    let token = user(&app, "cat").await;
    let bytes = png(32, 32);
    let ticket = new_ticket(&app, &token, "image", "p.png", "image/png", bytes.len()).await;
    let id = ticket["fileId"].as_str().unwrap();
    problem(complete(&app, &token, id).await, 409, "UPLOAD_MISSING").await;

    // Not what was declared: rejected, and the bytes are gone.
    assert_eq!(
        put(
            &app,
            &ticket,
            b"<html><script>alert(1)</script></html>".to_vec()
        )
        .await
        .status(),
        201
    );
    problem(complete(&app, &token, id).await, 422, "UPLOAD_REJECTED").await;
    problem(complete(&app, &token, id).await, 409, "UPLOAD_MISSING").await;

    // Larger than declared: rejected too.
    let mut big = bytes.clone();
    big.extend_from_slice(&[0; 64]);
    assert_eq!(put(&app, &ticket, big).await.status(), 201);
    problem(complete(&app, &token, id).await, 422, "UPLOAD_REJECTED").await;

    // The URL still lives: the right bytes complete, and completing again is harmless.
    assert_eq!(put(&app, &ticket, bytes.clone()).await.status(), 201);
    let first: Value = complete(&app, &token, id).await.json().await.unwrap();
    assert_eq!(first["file"]["status"], "ready");
    let again = complete(&app, &token, id).await;
    assert_eq!(again.status(), 200);
    let again: Value = again.json().await.unwrap();
    assert_eq!(again["file"]["completedAt"], first["file"]["completedAt"]);

    // Text must be text; someone else's upload is not yours to complete.
    let text = new_ticket(&app, &token, "document", "n.txt", "text/plain", 4).await;
    assert_eq!(
        put(&app, &text, b"\0\x01\x02\x03".to_vec()).await.status(),
        201
    );
    let text_id = text["fileId"].as_str().unwrap();
    problem(
        complete(&app, &token, text_id).await,
        422,
        "UPLOAD_REJECTED",
    )
    .await;
    let other = user(&app, "dan").await;
    problem(complete(&app, &other, id).await, 404, "NOT_FOUND").await;
    problem(
        complete(&app, &token, "no-such-file").await,
        404,
        "NOT_FOUND",
    )
    .await;
    let pdf = upload(
        &app,
        &token,
        "document",
        "a.pdf",
        "application/pdf",
        PDF.to_vec(),
    )
    .await;
    assert_eq!(pdf["thumbnail"]["status"], "none");
}

async fn a_signed_url_allows_only_its_own_blob(kind: Kind) {
    let app = portal(kind, &[]).await;
    let token = user(&app, "eve").await;
    let ticket = new_ticket(&app, &token, "image", "mine.png", "image/png", 100).await;
    let url = ticket["uploadUrl"].as_str().unwrap();
    let mut elsewhere = ticket.clone();
    elsewhere["uploadUrl"] = json!(url.replace("/mine.png?", "/theirs.png?"));
    let refused = put(&app, &elsewhere, png(4, 4)).await;
    assert_eq!(refused.status(), 403);
    // A read URL cannot write.
    let file = upload(&app, &token, "image", "r.png", "image/png", png(4, 4)).await;
    let mut read_only = ticket.clone();
    read_only["uploadUrl"] = file["downloadUrl"].clone();
    assert_eq!(put(&app, &read_only, png(4, 4)).await.status(), 403);
}

async fn files_are_private_to_their_owner(kind: Kind) {
    let app = portal(kind, &[]).await;
    let owner = user(&app, "fay").await;
    let stranger = user(&app, "gus").await;
    let file = upload(
        &app,
        &owner,
        "document",
        "a.pdf",
        "application/pdf",
        PDF.to_vec(),
    )
    .await;
    let id = file["id"].as_str().unwrap();
    problem(get_file(&app, &stranger, id).await, 404, "NOT_FOUND").await;
    for (method, path) in [
        (Method::DELETE, format!("/api/v1/files/{id}")),
        (Method::POST, format!("/api/v1/files/{id}/share")),
        (Method::GET, format!("/api/v1/files/{id}/shares")),
    ] {
        let response = call(&app, method, &path, Some(&stranger), None).await;
        problem(response, 404, "NOT_FOUND").await;
    }
    let theirs: Value = call(&app, Method::GET, "/api/v1/files", Some(&stranger), None)
        .await
        .json()
        .await
        .unwrap();
    assert!(theirs["items"].as_array().unwrap().is_empty());
    assert_eq!(get_file(&app, &owner, id).await.status(), 200);
    problem(get_file(&app, &owner, "../x").await, 404, "NOT_FOUND").await;
}

async fn an_avatar_is_set_replaced_and_visible_to_others(kind: Kind) {
    let app = portal(kind, &[]).await;
    let token = user(&app, "hal").await;
    let other = user(&app, "ivy").await;
    let first = upload(&app, &token, "avatar", "me.png", "image/png", png(64, 64)).await;
    let me: Value = call(&app, Method::GET, "/api/v1/users/me", Some(&token), None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["avatarFileId"], first["id"]);
    // Anyone signed in can see an avatar.
    let seen = get_file(&app, &other, first["id"].as_str().unwrap()).await;
    assert_eq!(seen.status(), 200);
    let second = upload(&app, &token, "avatar", "me2.png", "image/png", png(64, 64)).await;
    let me: Value = call(&app, Method::GET, "/api/v1/users/me", Some(&token), None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["avatarFileId"], second["id"]);
    // The replaced avatar is gone.
    problem(
        get_file(&app, &token, first["id"].as_str().unwrap()).await,
        404,
        "NOT_FOUND",
    )
    .await;
    let deleted = call(
        &app,
        Method::DELETE,
        &format!("/api/v1/files/{}", second["id"].as_str().unwrap()),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(deleted.status(), 204);
    let me: Value = call(&app, Method::GET, "/api/v1/users/me", Some(&token), None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["avatarFileId"], Value::Null);
}

async fn share(app: &TestApp, token: &str, id: &str, body: Value) -> reqwest::Response {
    call(
        app,
        Method::POST,
        &format!("/api/v1/files/{id}/share"),
        Some(token),
        Some(body),
    )
    .await
}

async fn open_link(app: &TestApp, link: &str) -> reqwest::Response {
    call(
        app,
        Method::GET,
        &format!("/api/v1/share/{link}"),
        None,
        None,
    )
    .await
}

async fn delete_takes_blob_thumbnail_and_links(kind: Kind) {
    let app = portal(kind, &[]).await;
    let token = user(&app, "jon").await;
    let file = upload(&app, &token, "image", "x.png", "image/png", png(300, 300)).await;
    let id = file["id"].as_str().unwrap();
    let file = settled_thumbnail(&app, &token, id).await;
    assert_eq!(file["thumbnail"]["status"], "ready");
    let link: Value = share(&app, &token, id, json!({}))
        .await
        .json()
        .await
        .unwrap();
    let link = link["linkId"].as_str().unwrap();
    assert_eq!(open_link(&app, link).await.status(), 200);

    let deleted = call(
        &app,
        Method::DELETE,
        &format!("/api/v1/files/{id}"),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(deleted.status(), 204);
    problem(get_file(&app, &token, id).await, 404, "NOT_FOUND").await;
    problem(open_link(&app, link).await, 404, "NOT_FOUND").await;
    for url in [&file["downloadUrl"], &file["thumbnail"]["url"]] {
        let gone = app.client.get(url.as_str().unwrap()).send().await.unwrap();
        assert_eq!(gone.status(), 404, "{url}");
    }
    let again = call(
        &app,
        Method::DELETE,
        &format!("/api/v1/files/{id}"),
        Some(&token),
        None,
    )
    .await;
    problem(again, 404, "NOT_FOUND").await;
}

/// Moves a stored document's field, as time would (the tests cannot wait a day).
async fn set_field(app: &TestApp, container: &str, pk: &str, id: &str, field: &str, value: Value) {
    app.stores()
        .documents
        .patch(
            container,
            pk,
            id,
            &[portal_api::store::PatchOp::Set(format!("/{field}"), value)],
            None,
        )
        .await
        .unwrap();
}

async fn share_links_count_expire_and_revoke(kind: Kind) {
    let app = portal(kind, &[]).await;
    let token = user(&app, "kim").await;
    let other = user(&app, "lou").await;
    let file = upload(
        &app,
        &token,
        "document",
        "plan.pdf",
        "application/pdf",
        PDF.to_vec(),
    )
    .await;
    let id = file["id"].as_str().unwrap();

    for bad in [
        json!({"expiresInSeconds": 10}),
        json!({"expiresInSeconds": 400 * 24 * 3600}),
        json!({"maxAccessCount": 0}),
    ] {
        problem(share(&app, &token, id, bad).await, 400, "VALIDATION_FAILED").await;
    }
    let pending = new_ticket(&app, &token, "document", "p.pdf", "application/pdf", 10).await;
    problem(
        share(&app, &token, pending["fileId"].as_str().unwrap(), json!({})).await,
        409,
        "FILE_NOT_READY",
    )
    .await;

    let created = share(&app, &token, id, json!({"maxAccessCount": 2})).await;
    assert_eq!(created.status(), 201);
    let created: Value = created.json().await.unwrap();
    let link = created["linkId"].as_str().unwrap().to_owned();
    assert!(link.len() >= 22, "at least 128 bits: {link}");
    assert_eq!(created["url"], app.url(&format!("/api/v1/share/{link}")));
    let expires: chrono::DateTime<chrono::Utc> =
        created["expiresAt"].as_str().unwrap().parse().unwrap();
    assert!(expires > chrono::Utc::now() + chrono::Duration::days(6));

    for n in 1..=2 {
        let opened = open_link(&app, &link).await;
        assert_eq!(opened.status(), 200);
        let opened: Value = opened.json().await.unwrap();
        assert_eq!(opened["accessCount"], n);
        assert_eq!(opened["fileName"], "plan.pdf");
        assert_eq!(opened["contentType"], "application/pdf");
        assert_eq!(opened["size"], PDF.len());
        let bytes = app
            .client
            .get(opened["downloadUrl"].as_str().unwrap())
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        assert_eq!(bytes.as_ref(), PDF);
    }
    problem(open_link(&app, &link).await, 410, "SHARE_EXHAUSTED").await;
    problem(open_link(&app, "not-a-link").await, 404, "NOT_FOUND").await;
    problem(open_link(&app, &"A".repeat(43)).await, 404, "NOT_FOUND").await;

    // An expired link says so.
    let timed: Value = share(&app, &token, id, json!({"expiresInSeconds": 60}))
        .await
        .json()
        .await
        .unwrap();
    let timed = timed["linkId"].as_str().unwrap().to_owned();
    assert_eq!(open_link(&app, &timed).await.status(), 200);
    let past = (chrono::Utc::now() - chrono::Duration::seconds(1)).to_rfc3339();
    set_field(&app, "shares", &timed, &timed, "expiresAt", json!(past)).await;
    problem(open_link(&app, &timed).await, 410, "SHARE_EXPIRED").await;

    let listed: Value = call(
        &app,
        Method::GET,
        &format!("/api/v1/files/{id}/shares"),
        Some(&token),
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    let items = listed["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    let counted = items.iter().find(|s| s["linkId"] == link.as_str()).unwrap();
    assert_eq!(counted["accessCount"], 2);
    assert_eq!(counted["maxAccessCount"], 2);
    assert_eq!(counted["expired"], false);
    let expired = items
        .iter()
        .find(|s| s["linkId"] == timed.as_str())
        .unwrap();
    assert_eq!(expired["expired"], true);

    // Only the owner revokes; a revoked link is gone.
    let revoke = |t: String, l: String| {
        let app = &app;
        async move {
            call(
                app,
                Method::DELETE,
                &format!("/api/v1/share/{l}"),
                Some(&t),
                None,
            )
            .await
        }
    };
    problem(revoke(other.clone(), timed.clone()).await, 404, "NOT_FOUND").await;
    assert_eq!(revoke(token.clone(), timed.clone()).await.status(), 204);
    problem(open_link(&app, &timed).await, 404, "NOT_FOUND").await;
    let anonymous = call(
        &app,
        Method::DELETE,
        &format!("/api/v1/share/{link}"),
        None,
        None,
    )
    .await;
    problem(anonymous, 401, "UNAUTHORIZED").await;
}

async fn a_share_counter_is_exact_under_concurrency(kind: Kind) {
    let app = portal(kind, &[]).await;
    let token = user(&app, "max").await;
    let file = upload(
        &app,
        &token,
        "document",
        "c.pdf",
        "application/pdf",
        PDF.to_vec(),
    )
    .await;
    let id = file["id"].as_str().unwrap();
    let created: Value = share(&app, &token, id, json!({"maxAccessCount": 10}))
        .await
        .json()
        .await
        .unwrap();
    let link = created["linkId"].as_str().unwrap();
    let opens = (0..50).map(|_| open_link(&app, link));
    let statuses: Vec<u16> = futures::future::join_all(opens)
        .await
        .iter()
        .map(|r| r.status().as_u16())
        .collect();
    let ok = statuses.iter().filter(|s| **s == 200).count();
    let gone = statuses.iter().filter(|s| **s == 410).count();
    assert_eq!((ok, gone), (10, 40), "{statuses:?}");
    let listed: Value = call(
        &app,
        Method::GET,
        &format!("/api/v1/files/{id}/shares"),
        Some(&token),
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(listed["items"][0]["accessCount"], 10);
}

async fn a_corrupt_image_gets_a_failed_thumbnail(kind: Kind) {
    let app = portal(kind, &[]).await;
    let token = user(&app, "ned").await;
    // A PNG signature and header, then garbage: it passes the type check, not the decoder.
    let mut corrupt = png(64, 64)[..33].to_vec();
    corrupt.extend_from_slice(&[0x5a; 500]);
    let file = upload(&app, &token, "image", "bad.png", "image/png", corrupt).await;
    let file = settled_thumbnail(&app, &token, file["id"].as_str().unwrap()).await;
    assert_eq!(file["thumbnail"]["status"], "failed");
    assert!(file["thumbnail"].get("url").is_none());
    // The file itself is still there to download.
    assert!(file["downloadUrl"].is_string());
}

fn thumbnail_invocation(file_id: &str, owner_id: &str, attempt: u32) -> String {
    let message = json!({"fileId": file_id, "ownerId": owner_id}).to_string();
    json!({
        "Data": {"message": serde_json::to_string(&message).unwrap()},
        "Metadata": {"DequeueCount": attempt.to_string(), "Id": "\"m1\""},
    })
    .to_string()
}

async fn the_thumbnail_job_is_idempotent_and_skips_deleted_files(kind: Kind) {
    let app = portal(kind, &[]).await;
    let token = user(&app, "oli").await;
    let file = upload(&app, &token, "image", "i.png", "image/png", png(80, 40)).await;
    let id = file["id"].as_str().unwrap();
    let owner = file["ownerId"].as_str().unwrap();
    let done = settled_thumbnail(&app, &token, id).await;
    assert_eq!(done["thumbnail"]["status"], "ready");

    // As the host would redeliver it: nothing changes.
    let reply = app
        .post_raw("/thumbnails", &thumbnail_invocation(id, owner, 2))
        .await;
    assert_eq!(reply.status(), 200);
    let reply: Value = reply.json().await.unwrap();
    assert!(
        reply["Logs"][0].as_str().unwrap().contains("skipped"),
        "{reply}"
    );
    let after: Value = get_file(&app, &token, id).await.json().await.unwrap();
    assert_eq!(after["thumbnail"]["status"], "ready");

    // Deleted before its turn: skipped, and nothing left behind.
    call(
        &app,
        Method::DELETE,
        &format!("/api/v1/files/{id}"),
        Some(&token),
        None,
    )
    .await;
    let reply: Value = app
        .post_raw("/thumbnails", &thumbnail_invocation(id, owner, 1))
        .await
        .json()
        .await
        .unwrap();
    assert!(
        reply["Logs"][0]
            .as_str()
            .unwrap()
            .contains("no longer exists"),
        "{reply}"
    );
    let left = app
        .stores()
        .blobs
        .list("thumbnails", &format!("{owner}/"), None, 10)
        .await
        .unwrap();
    assert!(left.items.is_empty());

    // A message that is not ours fails, for the host to retry and then poison.
    let bad = json!({"Data": {"message": "\"aaaa\""}, "Metadata": {"DequeueCount": "1"}});
    problem(
        app.post_raw("/thumbnails", &bad.to_string()).await,
        500,
        "INVOCATION_FAILED",
    )
    .await;
}

async fn cleanup_sweeps_links_abandoned_uploads_and_orphans(kind: Kind) {
    let app = portal(kind, &[]).await;
    let token = user(&app, "pam").await;
    let kept = upload(&app, &token, "image", "k.png", "image/png", png(50, 50)).await;
    let kept_id = kept["id"].as_str().unwrap();
    let owner = kept["ownerId"].as_str().unwrap().to_owned();
    assert_eq!(
        settled_thumbnail(&app, &token, kept_id).await["thumbnail"]["status"],
        "ready"
    );
    let link: Value = share(&app, &token, kept_id, json!({}))
        .await
        .json()
        .await
        .unwrap();
    let link = link["linkId"].as_str().unwrap().to_owned();
    let live: Value = share(&app, &token, kept_id, json!({}))
        .await
        .json()
        .await
        .unwrap();
    let live = live["linkId"].as_str().unwrap().to_owned();
    let past = (chrono::Utc::now() - chrono::Duration::hours(1)).to_rfc3339();
    set_field(&app, "shares", &link, &link, "expiresAt", json!(past)).await;

    // An upload put but never completed, a day and more ago; and one from just now.
    let old = new_ticket(
        &app,
        &token,
        "document",
        "o.pdf",
        "application/pdf",
        PDF.len(),
    )
    .await;
    put(&app, &old, PDF.to_vec()).await;
    let old_id = old["fileId"].as_str().unwrap();
    let long_ago = (chrono::Utc::now() - chrono::Duration::hours(25)).to_rfc3339();
    set_field(&app, "files", &owner, old_id, "createdAt", json!(long_ago)).await;
    let fresh = new_ticket(
        &app,
        &token,
        "document",
        "f.pdf",
        "application/pdf",
        PDF.len(),
    )
    .await;

    // A thumbnail whose file is gone.
    let orphan = format!("{owner}/{}.jpg", uuid::Uuid::new_v4());
    app.stores()
        .blobs
        .put(
            "thumbnails",
            &orphan,
            vec![1, 2, 3].into(),
            Default::default(),
        )
        .await
        .unwrap();

    let timer = json!({"Data": {"timer": {"Schedule": {}, "IsPastDue": false}}, "Metadata": {}});
    let first: Value = app
        .post_raw("/cleanup", &timer.to_string())
        .await
        .json()
        .await
        .unwrap();
    let result = &first["ReturnValue"];
    assert_eq!(result["expiredShares"], 1, "{first}");
    assert_eq!(result["abandonedUploads"], 1, "{first}");
    assert_eq!(result["orphanedThumbnails"], 1, "{first}");
    assert!(
        first["Logs"][0]
            .as_str()
            .unwrap()
            .contains("abandoned uploads")
    );

    problem(open_link(&app, &link).await, 404, "NOT_FOUND").await;
    assert_eq!(open_link(&app, &live).await.status(), 200);
    problem(complete(&app, &token, old_id).await, 404, "NOT_FOUND").await;
    let old_blob = format!("{owner}/{old_id}/o.pdf");
    assert!(
        app.stores()
            .blobs
            .head("files", &old_blob)
            .await
            .unwrap()
            .is_none()
    );
    problem(
        complete(&app, &token, fresh["fileId"].as_str().unwrap()).await,
        409,
        "UPLOAD_MISSING",
    )
    .await;
    assert!(
        app.stores()
            .blobs
            .head("thumbnails", &orphan)
            .await
            .unwrap()
            .is_none()
    );
    let kept_file = settled_thumbnail(&app, &token, kept_id).await;
    assert_eq!(kept_file["thumbnail"]["status"], "ready");
    let thumb = app
        .client
        .get(kept_file["thumbnail"]["url"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(thumb.status(), 200);

    // Running it again finds nothing more.
    let second: Value = app
        .post_raw("/cleanup", &timer.to_string())
        .await
        .json()
        .await
        .unwrap();
    let result = &second["ReturnValue"];
    assert_eq!(
        (
            &result["expiredShares"],
            &result["abandonedUploads"],
            &result["orphanedThumbnails"]
        ),
        (&json!(0), &json!(0), &json!(0))
    );
}

async fn files_join_export_and_erase(kind: Kind) {
    let app = portal(kind, &[]).await;
    let token = user(&app, "quinn").await;
    let file = upload(
        &app,
        &token,
        "document",
        "cv.pdf",
        "application/pdf",
        PDF.to_vec(),
    )
    .await;
    let owner = file["ownerId"].as_str().unwrap().to_owned();
    let export: Value = call(
        &app,
        Method::GET,
        "/api/v1/users/me/data-export",
        Some(&token),
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    let files = export["files"].as_array().unwrap();
    assert_eq!(files.len(), 1);
    let fetched = app
        .client
        .get(files[0]["downloadUrl"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(fetched.bytes().await.unwrap().as_ref(), PDF);

    let erased = call(
        &app,
        Method::DELETE,
        "/api/v1/users/me",
        Some(&token),
        Some(json!({"password": PASSWORD})),
    )
    .await;
    assert_eq!(erased.status(), 202);
    let blobs = app.stores().blobs.clone();
    eventually("the erase to remove the user's blobs", || {
        let blobs = blobs.clone();
        let prefix = format!("{owner}/");
        async move {
            let left = blobs.list("files", &prefix, None, 10).await.unwrap();
            left.items.is_empty().then_some(())
        }
    })
    .await;
}

async fn the_official_sdk_uploads_through_the_signed_url(kind: Kind) {
    let app = portal(kind, &[]).await;
    let token = user(&app, "ray").await;
    let bytes = png(120, 90);
    let ticket = new_ticket(
        &app,
        &token,
        "attachment",
        "sdk.png",
        "image/png",
        bytes.len(),
    )
    .await;
    let path = app.data_dir.path().join("sdk.png");
    std::fs::write(&path, &bytes).unwrap();
    let url = ticket["uploadUrl"].as_str().unwrap().to_owned();
    let path_arg = path.display().to_string();
    let printed = tokio::task::spawn_blocking(move || {
        crate::emulators::node_script("upload.mjs", &[&url, &path_arg, "image/png"])
    })
    .await
    .unwrap();
    let answer: Value = serde_json::from_str(printed.trim()).unwrap();
    assert_eq!(answer["status"], 201, "{printed}");
    let done = complete(&app, &token, ticket["fileId"].as_str().unwrap()).await;
    assert_eq!(done.status(), 200);
    let file: Value = done.json().await.unwrap();
    let download = app
        .client
        .get(file["file"]["downloadUrl"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(download.bytes().await.unwrap().as_ref(), bytes.as_slice());
}

/// The last attempt the host allows gives up cleanly; earlier ones fail for a retry. Blob
/// Storage here refuses every request (queues stay real, for the sign-up's email), so the
/// failure is a real one, and one the SDK does not retry for a minute.
#[tokio::test]
async fn the_thumbnail_job_gives_up_on_the_last_attempt() {
    let refusing = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = refusing.local_addr().unwrap().port();
    tokio::spawn(async move {
        let refuse = axum::Router::new()
            .fallback(|| async { (axum::http::StatusCode::FORBIDDEN, "AuthenticationFailed") });
        axum::serve(refusing, refuse).await.unwrap();
    });
    let storage = crate::emulators::storage_account()
        .split(';')
        .map(|part| match part.split_once('=') {
            Some(("BlobEndpoint", _)) => {
                format!("BlobEndpoint=http://127.0.0.1:{port}/devstoreaccount1")
            }
            _ => part.to_owned(),
        })
        .collect::<Vec<_>>()
        .join(";");
    let app = crate::helpers::spawn_app_with(
        Kind::Embedded,
        Options {
            settings: vec![("STORAGE_CONNECTION_STRING".into(), storage)],
            ..Default::default()
        },
    )
    .await;
    let token = user(&app, "sam").await;
    let me: Value = call(&app, Method::GET, "/api/v1/users/me", Some(&token), None)
        .await
        .json()
        .await
        .unwrap();
    let owner = me["id"].as_str().unwrap();
    // A completed image whose bytes cannot be reached.
    let id = uuid::Uuid::new_v4().to_string();
    let doc = json!({
        "id": id, "ownerId": owner, "fileName": "x.png", "contentType": "image/png",
        "category": "image", "declaredSize": 10, "size": 10, "status": "ready",
        "blob": format!("{owner}/{id}/x.png"), "thumbnail": {"status": "pending"},
        "grants": [], "createdAt": chrono::Utc::now().to_rfc3339(),
    });
    app.stores()
        .documents
        .create("files", owner, doc)
        .await
        .unwrap();
    problem(
        app.post_raw("/thumbnails", &thumbnail_invocation(&id, owner, 1))
            .await,
        500,
        "INVOCATION_FAILED",
    )
    .await;
    let file: Value = get_file(&app, &token, &id).await.json().await.unwrap();
    assert_eq!(file["thumbnail"]["status"], "pending");
    let last = app
        .post_raw("/thumbnails", &thumbnail_invocation(&id, owner, 5))
        .await;
    assert_eq!(last.status(), 200);
    let last: Value = last.json().await.unwrap();
    assert!(
        last["Logs"][0]
            .as_str()
            .unwrap()
            .contains("gave up after 5"),
        "{last}"
    );
    let file: Value = get_file(&app, &token, &id).await.json().await.unwrap();
    assert_eq!(file["thumbnail"]["status"], "failed");
}

async fn a_form_attachment_is_readable_by_admins(kind: Kind) {
    let app = portal(kind, &[]).await;
    let admin = admin(&app).await;
    let token = user(&app, "tia").await;
    let other = user(&app, "uma").await;
    let file = upload(
        &app,
        &token,
        "form",
        "letter.pdf",
        "application/pdf",
        PDF.to_vec(),
    )
    .await;
    let id = file["id"].as_str().unwrap();
    let referral = |attachments: Value| {
        json!({
            "referrerName": "Tia", "referrerEmail": format!("tia.{}@example.com", app.unique),
            "participantName": "Cy", "participantContact": "555 0100",
            "servicesNeeded": ["housing"], "attachments": attachments,
        })
    };
    let send = |token: Option<String>, body: Value| {
        let app = &app;
        async move {
            call(
                app,
                Method::POST,
                "/api/v1/forms/referral",
                token.as_deref(),
                Some(body),
            )
            .await
        }
    };
    problem(send(None, referral(json!([id]))).await, 401, "UNAUTHORIZED").await;
    let body = problem(
        send(Some(other.clone()), referral(json!([id]))).await,
        400,
        "FILE_NOT_READY",
    )
    .await;
    assert!(body["errors"]["attachments"].is_array());
    problem(get_file(&app, &admin, id).await, 404, "NOT_FOUND").await;

    let sent = send(Some(token.clone()), referral(json!([id]))).await;
    assert_eq!(sent.status(), 201);
    let seen = get_file(&app, &admin, id).await;
    assert_eq!(seen.status(), 200);
    let seen: Value = seen.json().await.unwrap();
    assert_eq!(seen["fileName"], "letter.pdf");
    problem(get_file(&app, &other, id).await, 404, "NOT_FOUND").await;
}

/// An upload URL may create its blob but never overwrite it: Blob Storage refuses a create-only
/// SAS on an existing blob with 403, the local route with 409 `BLOB_ALREADY_EXISTS`.
async fn assert_overwrite_refused(kind: Kind, response: reqwest::Response) {
    match kind {
        Kind::Embedded => {
            problem(response, 409, "BLOB_ALREADY_EXISTS").await;
        }
        Kind::Azure => assert_eq!(response.status(), 403),
    }
}

async fn an_upload_url_cannot_replace_a_checked_upload(kind: Kind) {
    let app = portal(kind, &[]).await;
    let token = user(&app, "sam").await;
    let ticket = new_ticket(
        &app,
        &token,
        "document",
        "a.pdf",
        "application/pdf",
        PDF.len(),
    )
    .await;
    assert_eq!(put(&app, &ticket, PDF.to_vec()).await.status(), 201);
    let done = complete(&app, &token, ticket["fileId"].as_str().unwrap()).await;
    assert_eq!(done.status(), 200);
    let file: Value = done.json().await.unwrap();
    let link = share(
        &app,
        &token,
        file["file"]["id"].as_str().unwrap(),
        json!({}),
    )
    .await;
    assert_eq!(link.status(), 201);
    let link: Value = link.json().await.unwrap();
    // After `complete`, the same URL cannot swap the checked PDF for something else.
    let mut swap = b"MZ\x90\0".to_vec();
    swap.resize(4096, 0);
    assert_overwrite_refused(kind, put(&app, &ticket, swap).await).await;
    let download = app
        .client
        .get(file["file"]["downloadUrl"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(download.bytes().await.unwrap().as_ref(), PDF);
    // What the share link hands out is the checked PDF, not the swap.
    let opened = open_link(&app, link["linkId"].as_str().unwrap()).await;
    assert_eq!(opened.status(), 200);
    let opened: Value = opened.json().await.unwrap();
    assert_eq!(opened["size"], PDF.len());
    let shared = app
        .client
        .get(opened["downloadUrl"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(shared.bytes().await.unwrap().as_ref(), PDF);

    // Before `complete` too: a second PUT does not replace the first.
    let second = new_ticket(
        &app,
        &token,
        "document",
        "b.pdf",
        "application/pdf",
        PDF.len(),
    )
    .await;
    assert_eq!(put(&app, &second, PDF.to_vec()).await.status(), 201);
    assert_overwrite_refused(kind, put(&app, &second, PDF.to_vec()).await).await;
}

async fn complete_wants_exactly_the_declared_size(kind: Kind) {
    let app = portal(kind, &[]).await;
    let token = user(&app, "tia").await;
    // Fewer bytes than announced: the record would lie about the file it shares.
    let ticket = new_ticket(
        &app,
        &token,
        "document",
        "small.pdf",
        "application/pdf",
        PDF.len() + 100,
    )
    .await;
    let id = ticket["fileId"].as_str().unwrap();
    assert_eq!(put(&app, &ticket, PDF.to_vec()).await.status(), 201);
    problem(complete(&app, &token, id).await, 422, "UPLOAD_REJECTED").await;
    // The bytes are gone, so the create-only URL can take the right ones.
    problem(complete(&app, &token, id).await, 409, "UPLOAD_MISSING").await;
    let mut padded = PDF.to_vec();
    padded.resize(PDF.len() + 100, b'\n');
    assert_eq!(put(&app, &ticket, padded).await.status(), 201);
    let done = complete(&app, &token, id).await;
    assert_eq!(done.status(), 200);
    let done: Value = done.json().await.unwrap();
    assert_eq!(done["file"]["size"], PDF.len() + 100);
}

async fn names_lose_bidirectional_and_format_characters(kind: Kind) {
    let app = portal(kind, &[]).await;
    let token = user(&app, "uma").await;
    // U+202E shows `invoice\u{202E}fdp.exe` as "invoiceexe.pdf".
    let name = "in\u{2066}voice\u{2069}\u{200B}\u{FEFF}\u{202E}fdp.pdf\u{202C}";
    let ticket = new_ticket(&app, &token, "document", name, "application/pdf", PDF.len()).await;
    let url = ticket["uploadUrl"].as_str().unwrap();
    for encoded in ["%E2%80%AE", "%E2%81%A6", "%E2%80%8B", "%EF%BB%BF"] {
        assert!(!url.to_uppercase().contains(encoded), "{url}");
    }
    assert_eq!(put(&app, &ticket, PDF.to_vec()).await.status(), 201);
    let done: Value = complete(&app, &token, ticket["fileId"].as_str().unwrap())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(done["file"]["fileName"], "invoicefdp.pdf");
    let download = app
        .client
        .get(done["file"]["downloadUrl"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    let disposition = download.headers()["content-disposition"].to_str().unwrap();
    assert!(disposition.contains("invoicefdp.pdf"), "{disposition}");
}

async fn the_official_sdk_cannot_overwrite_a_completed_upload(kind: Kind) {
    let app = portal(kind, &[]).await;
    let token = user(&app, "val").await;
    let bytes = png(40, 30);
    let ticket = new_ticket(
        &app,
        &token,
        "attachment",
        "first.png",
        "image/png",
        bytes.len(),
    )
    .await;
    let first = app.data_dir.path().join("first.png");
    std::fs::write(&first, &bytes).unwrap();
    let swap = app.data_dir.path().join("swap.bin");
    std::fs::write(&swap, vec![b'M'; 60 * 1024]).unwrap();
    let url = ticket["uploadUrl"].as_str().unwrap().to_owned();
    let sdk_upload = |path: std::path::PathBuf| {
        let url = url.clone();
        async move {
            let printed = tokio::task::spawn_blocking(move || {
                let path = path.display().to_string();
                crate::emulators::node_script(
                    "upload.mjs",
                    &[&url, &path, "application/octet-stream"],
                )
            })
            .await
            .unwrap();
            serde_json::from_str::<Value>(printed.trim()).unwrap()
        }
    };
    assert_eq!(sdk_upload(first).await["status"], 201);
    let done = complete(&app, &token, ticket["fileId"].as_str().unwrap()).await;
    assert_eq!(done.status(), 200);
    let file: Value = done.json().await.unwrap();
    let again = sdk_upload(swap).await;
    let refused = match kind {
        Kind::Embedded => 409,
        Kind::Azure => 403,
    };
    assert_eq!(again["status"], refused, "{again}");
    let download = app
        .client
        .get(file["file"]["downloadUrl"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(download.bytes().await.unwrap().as_ref(), bytes.as_slice());
}
