//! Large uploads in blocks, on both backends, with the official `@azure/storage-blob` client:
//! the local signed route and Azurite answer Put Block, Put Block List and Get Block List the
//! same way; an interrupted upload resumes with the blocks it staged; what `complete` checked
//! cannot be swapped through the staging URL afterwards; abandoned blocks are swept.

use reqwest::Method;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::course_media::mp4;
use crate::files::complete;
use crate::helpers::{Kind, TestApp, portal};
use crate::http::{call, problem, user};

both!(
    twenty_megabytes_go_up_in_blocks_through_the_official_sdk,
    an_interrupted_block_upload_resumes_with_its_staged_blocks,
    the_staging_url_cannot_change_a_completed_file,
    cleanup_removes_the_blocks_of_abandoned_uploads,
);

const MB: usize = 1024 * 1024;

async fn block_ticket(app: &TestApp, token: &str, size: usize) -> Value {
    let response = call(
        app,
        Method::POST,
        "/api/v1/files/upload-url",
        Some(token),
        Some(json!({"fileName": "talk.mp4", "fileType": "video/mp4", "fileSize": size, "category": "video"})),
    )
    .await;
    assert_eq!(response.status(), 201);
    let ticket: Value = response.json().await.unwrap();
    assert_eq!(ticket["mode"], "blocks", "{ticket}");
    assert_eq!(ticket["blockSize"], 4 * MB);
    ticket
}

/// Runs `block-upload.mjs` with the SDK; returns what it printed.
async fn sdk(args: Vec<String>) -> Value {
    let printed = tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        crate::emulators::node_script("block-upload.mjs", &args)
    })
    .await
    .unwrap();
    serde_json::from_str(printed.trim()).unwrap_or_else(|e| panic!("{e}: {printed}"))
}

fn write(app: &TestApp, name: &str, bytes: &[u8]) -> String {
    let path = app.data_dir.path().join(name);
    std::fs::write(&path, bytes).unwrap();
    path.display().to_string()
}

async fn completed(app: &TestApp, token: &str, ticket: &Value) -> Value {
    let done = complete(app, token, ticket["fileId"].as_str().unwrap()).await;
    assert_eq!(done.status(), 200);
    let body: Value = done.json().await.unwrap();
    body["file"].clone()
}

async fn digest_of_download(app: &TestApp, file: &Value) -> Vec<u8> {
    let bytes = app
        .client
        .get(file["downloadUrl"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    Sha256::digest(&bytes).to_vec()
}

async fn twenty_megabytes_go_up_in_blocks_through_the_official_sdk(kind: Kind) {
    let app = portal(kind, &[]).await;
    let token = user(&app, "vic").await;
    let bytes = mp4(20 * MB);
    let ticket = block_ticket(&app, &token, bytes.len()).await;
    let url = ticket["uploadUrl"].as_str().unwrap().to_owned();
    let path = write(&app, "big.mp4", &bytes);
    // Nothing committed yet: complete says so.
    let early = complete(&app, &token, ticket["fileId"].as_str().unwrap()).await;
    problem(early, 409, "UPLOAD_MISSING").await;
    let block = (4 * MB).to_string();
    let answer = sdk(vec!["upload".into(), url, path, "video/mp4".into(), block]).await;
    assert_eq!(answer["status"], 201, "{answer}");
    let file = completed(&app, &token, &ticket).await;
    assert_eq!(file["size"], 20 * MB);
    assert_eq!(file["status"], "ready");
    assert_eq!(
        digest_of_download(&app, &file).await,
        Sha256::digest(&bytes).to_vec()
    );
}

async fn an_interrupted_block_upload_resumes_with_its_staged_blocks(kind: Kind) {
    let app = portal(kind, &[]).await;
    let token = user(&app, "ria").await;
    let bytes = mp4(10 * MB);
    let ticket = block_ticket(&app, &token, bytes.len()).await;
    let url = ticket["uploadUrl"].as_str().unwrap().to_owned();
    let path = write(&app, "cut.mp4", &bytes);
    let block = MB.to_string();
    let staged = sdk(vec![
        "stage".into(),
        url.clone(),
        path.clone(),
        block.clone(),
        "4".into(),
    ])
    .await;
    assert_eq!(staged["staged"], 4, "{staged}");
    let resumed = sdk(vec!["resume".into(), url, path, "video/mp4".into(), block]).await;
    assert_eq!(resumed["status"], 201, "{resumed}");
    assert_eq!(resumed["alreadyStaged"], 4, "the staged blocks were kept");
    assert_eq!(resumed["sent"], 6, "only the missing blocks were sent");
    let file = completed(&app, &token, &ticket).await;
    assert_eq!(
        digest_of_download(&app, &file).await,
        Sha256::digest(&bytes).to_vec()
    );
}

async fn the_staging_url_cannot_change_a_completed_file(kind: Kind) {
    let app = portal(kind, &[]).await;
    let token = user(&app, "eve").await;
    let bytes = mp4(9 * MB);
    let ticket = block_ticket(&app, &token, bytes.len()).await;
    let url = ticket["uploadUrl"].as_str().unwrap().to_owned();
    let block = (4 * MB).to_string();
    let good = write(&app, "good.mp4", &bytes);
    let up = sdk(vec![
        "upload".into(),
        url.clone(),
        good,
        "video/mp4".into(),
        block.clone(),
    ])
    .await;
    assert_eq!(up["status"], 201);
    let file = completed(&app, &token, &ticket).await;
    let checked = digest_of_download(&app, &file).await;
    // The URL still writes its staging blob, but the file was copied away from it before the
    // checks: other bytes of the same size (no video at all) change nothing.
    let evil: Vec<u8> = (0..bytes.len()).map(|i| (i % 7) as u8).collect();
    let evil = write(&app, "evil.bin", &evil);
    let again = sdk(vec!["upload".into(), url, evil, "video/mp4".into(), block]).await;
    assert_eq!(again["status"], 201, "{again}");
    assert_eq!(completed(&app, &token, &ticket).await["size"], bytes.len());
    let fresh = json_of_file(&app, &token, file["id"].as_str().unwrap()).await;
    assert_eq!(digest_of_download(&app, &fresh).await, checked);

    // A single upload's create-only URL takes no blocks (Blob Storage needs `w` for them).
    let small = crate::files::new_ticket(&app, &token, "video", "s.mp4", "video/mp4", 4096).await;
    assert_eq!(small["mode"], "single");
    let small_url = small["uploadUrl"].as_str().unwrap();
    let block = app
        .client
        .put(format!("{small_url}&comp=block&blockid=QUFBQQ%3D%3D"))
        .body(vec![1u8; 16])
        .send()
        .await
        .unwrap();
    assert_eq!(block.status(), 403, "Put Block with a create-only URL");

    // A block upload whose bytes are not what was declared is refused at complete.
    let liar = block_ticket(&app, &token, 9 * MB).await;
    let wrong: Vec<u8> = vec![0u8; 9 * MB];
    let wrong = write(&app, "wrong.bin", &wrong);
    let liar_url = liar["uploadUrl"].as_str().unwrap().to_owned();
    sdk(vec![
        "upload".into(),
        liar_url,
        wrong,
        "video/mp4".into(),
        (4 * MB).to_string(),
    ])
    .await;
    let refused = complete(&app, &token, liar["fileId"].as_str().unwrap()).await;
    problem(refused, 422, "UPLOAD_REJECTED").await;
}

async fn json_of_file(app: &TestApp, token: &str, id: &str) -> Value {
    crate::files::get_file(app, token, id)
        .await
        .json()
        .await
        .unwrap()
}

async fn cleanup_removes_the_blocks_of_abandoned_uploads(kind: Kind) {
    let app = portal(kind, &[]).await;
    let token = user(&app, "abe").await;
    let bytes = mp4(9 * MB);
    let ticket = block_ticket(&app, &token, bytes.len()).await;
    let url = ticket["uploadUrl"].as_str().unwrap().to_owned();
    let path = write(&app, "gone.mp4", &bytes);
    let staged = sdk(vec![
        "stage".into(),
        url.clone(),
        path,
        MB.to_string(),
        "3".into(),
    ])
    .await;
    assert_eq!(staged["staged"], 3);
    assert_eq!(
        sdk(vec!["list".into(), url.clone()]).await["uncommitted"],
        3
    );
    // A day and more later, as the cleanup job sees it.
    let me: Value = crate::http::get(&app, "/api/v1/users/me", &token)
        .await
        .json()
        .await
        .unwrap();
    let owner = me["id"].as_str().unwrap();
    let old = (chrono::Utc::now() - chrono::Duration::hours(25)).to_rfc3339();
    app.stores()
        .documents
        .patch(
            "files",
            owner,
            ticket["fileId"].as_str().unwrap(),
            &[portal_api::store::PatchOp::Set(
                "/createdAt".into(),
                json!(old),
            )],
            None,
        )
        .await
        .unwrap();
    let timer = json!({"Data": {"timer": {"Schedule": {}, "IsPastDue": false}}, "Metadata": {}});
    let run: Value = app
        .post_raw("/cleanup", &timer.to_string())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(run["ReturnValue"]["abandonedUploads"], 1, "{run}");
    let after = sdk(vec!["list".into(), url]).await;
    // Gone with its blocks: nothing staged is listed (Blob Storage answers 404 for the blob).
    assert!(
        after["uncommitted"] == 0 || after["status"] == 404,
        "{after}"
    );
}
