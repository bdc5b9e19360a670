//! Course media through HTTP on both backends: admins upload a course's assets, courses
//! reference them by file id, and `courses/{id}/media/{fileId}` decides at each request who
//! may fetch them (thumbnails for anyone, videos for enrolled learners) and redirects to a
//! short-lived read URL that serves ranges.

use reqwest::{Method, StatusCode, header};
use serde_json::{Value, json};

use crate::files::{complete, new_ticket, png, put};
use crate::helpers::{Kind, TestApp, portal};
use crate::http::{admin, call, json_of, problem, user};

both!(
    course_assets_are_for_admins_and_one_course,
    a_thumbnail_is_public_through_its_stable_url,
    a_lesson_video_is_for_enrolled_learners_and_seeks,
    references_must_be_ready_assets_of_the_course_and_kind,
    deleting_a_course_deletes_its_assets,
);

/// The first bytes of an MP4 (an `ftyp` box, brand `isom`), padded: what `complete` sniffs.
pub fn mp4(size: usize) -> Vec<u8> {
    let mut bytes = b"\0\0\0\x18ftypisom\0\0\x02\0isomiso2".to_vec();
    bytes.extend((0..size.saturating_sub(bytes.len())).map(|i| (i % 251) as u8));
    bytes
}

pub fn course_body(title: &str) -> Value {
    json!({
        "title": title,
        "description": "Lessons with video.",
        "category": "tech",
        "level": "beginner",
        "instructor": {"name": "Ada"},
        "lessons": [
            {"id": "l1", "title": "Watch", "duration": 10, "order": 1},
            {"id": "l2", "title": "Read", "duration": 5, "order": 2},
        ],
    })
}

pub async fn new_course(app: &TestApp, admin: &str, title: &str) -> String {
    let response = call(
        app,
        Method::POST,
        "/api/v1/courses",
        Some(admin),
        Some(course_body(title)),
    )
    .await;
    assert_eq!(response.status(), 201);
    json_of(response).await["id"].as_str().unwrap().to_owned()
}

async fn asset_ticket(
    app: &TestApp,
    token: &str,
    course: &str,
    ty: &str,
    size: usize,
) -> reqwest::Response {
    call(
        app,
        Method::POST,
        "/api/v1/files/upload-url",
        Some(token),
        Some(json!({"fileName": "asset", "fileType": ty, "fileSize": size, "category": "course", "courseId": course})),
    )
    .await
}

/// Uploads and completes a course asset; returns its file id.
pub async fn asset(app: &TestApp, admin: &str, course: &str, ty: &str, bytes: Vec<u8>) -> String {
    let response = asset_ticket(app, admin, course, ty, bytes.len()).await;
    assert_eq!(response.status(), 201);
    let ticket: Value = response.json().await.unwrap();
    assert_eq!(put(app, &ticket, bytes).await.status(), 201);
    let id = ticket["fileId"].as_str().unwrap().to_owned();
    assert_eq!(complete(app, admin, &id).await.status(), 200);
    id
}

async fn patch_course(app: &TestApp, admin: &str, id: &str, body: Value) -> reqwest::Response {
    call(
        app,
        Method::PATCH,
        &format!("/api/v1/courses/{id}"),
        Some(admin),
        Some(body),
    )
    .await
}

async fn fetch_media(app: &TestApp, url: &str, token: Option<&str>) -> reqwest::Response {
    let mut request = app.client.get(url);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.unwrap()
}

/// The media URL as the API hands it out, absolute against the app.
fn absolute(app: &TestApp, url: &str) -> String {
    if url.starts_with("http") {
        url.to_owned()
    } else {
        app.url(url)
    }
}

async fn course_assets_are_for_admins_and_one_course(kind: Kind) {
    let app = portal(kind, &[]).await;
    let root = admin(&app).await;
    let learner = user(&app, "lee").await;
    let course = new_course(&app, &root, "Assets").await;
    let refused = asset_ticket(&app, &learner, &course, "image/png", 100).await;
    problem(refused, 403, "FORBIDDEN").await;
    let unknown = asset_ticket(&app, &root, "no-such-course", "image/png", 100).await;
    problem(unknown, 404, "NOT_FOUND").await;
    let no_course = call(
        &app,
        Method::POST,
        "/api/v1/files/upload-url",
        Some(&root),
        Some(json!({"fileName": "a.png", "fileType": "image/png", "fileSize": 10, "category": "course"})),
    )
    .await;
    let body = problem(no_course, 400, "VALIDATION_FAILED").await;
    assert!(body["errors"]["courseId"].is_array(), "{body}");
    let elsewhere = call(
        &app,
        Method::POST,
        "/api/v1/files/upload-url",
        Some(&learner),
        Some(json!({"fileName": "a.png", "fileType": "image/png", "fileSize": 10, "category": "image", "courseId": course})),
    )
    .await;
    problem(elsewhere, 400, "VALIDATION_FAILED").await;
    // Limits by type: images 10 MB, PDFs 50 MB, videos 500 MB; no GIFs or QuickTime.
    let mb = 1024 * 1024;
    for (ty, size, code) in [
        ("image/png", 11 * mb, "FILE_TOO_LARGE"),
        ("application/pdf", 51 * mb, "FILE_TOO_LARGE"),
        ("video/mp4", 501 * mb, "FILE_TOO_LARGE"),
        ("image/gif", 100, "FILE_TYPE_NOT_ALLOWED"),
        ("video/quicktime", 100, "FILE_TYPE_NOT_ALLOWED"),
    ] {
        let response = asset_ticket(&app, &root, &course, ty, size).await;
        problem(response, 400, code).await;
    }
    let big_video = asset_ticket(&app, &root, &course, "video/mp4", 400 * mb).await;
    assert_eq!(big_video.status(), 201);
    let ticket: Value = big_video.json().await.unwrap();
    assert_eq!(ticket["mode"], "blocks", "{ticket}");
    assert_eq!(ticket["blockSize"], 4 * mb);
}

async fn a_thumbnail_is_public_through_its_stable_url(kind: Kind) {
    let app = portal(kind, &[]).await;
    let root = admin(&app).await;
    let course = new_course(&app, &root, "Pictures").await;
    let image = png(320, 200);
    let file_id = asset(&app, &root, &course, "image/png", image.clone()).await;
    let avatar = asset(&app, &root, &course, "image/png", png(64, 64)).await;
    let patched = patch_course(
        &app,
        &root,
        &course,
        json!({"thumbnailFileId": file_id, "instructor": {"name": "Ada", "avatarFileId": avatar}}),
    )
    .await;
    assert_eq!(patched.status(), 200);
    let shown = json_of(app.get(&format!("/api/v1/courses/{course}")).await).await;
    let url = shown["thumbnailUrl"].as_str().unwrap();
    assert!(
        url.ends_with(&format!("/api/v1/courses/{course}/media/{file_id}")),
        "{url}"
    );
    assert!(
        shown["instructor"]["avatarUrl"]
            .as_str()
            .unwrap()
            .ends_with(&avatar)
    );
    let listed = json_of(app.get("/api/v1/courses?search=pictures").await).await;
    assert_eq!(listed["items"][0]["thumbnailUrl"], url);

    // Anonymous: a 302 to a read URL, kept privately for less than the URL lives.
    let redirect = fetch_media(&app, &absolute(&app, url), None).await;
    assert_eq!(redirect.status(), StatusCode::FOUND);
    assert_eq!(
        redirect.headers()[header::CACHE_CONTROL],
        "private, max-age=300"
    );
    let location = redirect.headers()[header::LOCATION]
        .to_str()
        .unwrap()
        .to_owned();
    let served = app.client.get(&location).send().await.unwrap();
    assert_eq!(served.status(), 200);
    assert_eq!(served.headers()[header::CONTENT_TYPE], "image/png");
    // The asset itself, not the JPEG thumbnail the queue makes of it.
    assert_eq!(served.bytes().await.unwrap().as_ref(), image.as_slice());
    // The asset has its thumbnail made through the queue, as every image does.
    let view = json_of(crate::files::get_file(&app, &root, &file_id).await).await;
    assert_ne!(view["thumbnail"]["status"], "none", "{view}");
    let avatar_url = absolute(&app, shown["instructor"]["avatarUrl"].as_str().unwrap());
    assert_eq!(
        fetch_media(&app, &avatar_url, None).await.status(),
        StatusCode::FOUND
    );

    // An asset the course does not reference yet is for its admins only.
    let spare = asset(&app, &root, &course, "image/png", png(8, 8)).await;
    let spare_url = app.url(&format!("/api/v1/courses/{course}/media/{spare}"));
    problem(fetch_media(&app, &spare_url, None).await, 404, "NOT_FOUND").await;
    assert_eq!(
        fetch_media(&app, &spare_url, Some(&root)).await.status(),
        StatusCode::FOUND
    );
    let wrong_course = app.url(&format!("/api/v1/courses/nope/media/{file_id}"));
    problem(
        fetch_media(&app, &wrong_course, None).await,
        404,
        "NOT_FOUND",
    )
    .await;
}

async fn a_lesson_video_is_for_enrolled_learners_and_seeks(kind: Kind) {
    let app = portal(kind, &[]).await;
    let root = admin(&app).await;
    let learner = user(&app, "lee").await;
    let stranger = user(&app, "sam").await;
    let course = new_course(&app, &root, "Video").await;
    let video = mp4(300_000);
    let video_id = asset(&app, &root, &course, "video/mp4", video.clone()).await;
    let pdf = b"%PDF-1.7\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n".to_vec();
    let pdf_id = asset(&app, &root, &course, "application/pdf", pdf).await;
    let mut body = course_body("Video");
    body["lessons"][0]["videoFileId"] = json!(video_id);
    body["lessons"][0]["resources"] = json!([{"title": "Notes", "type": "pdf", "fileId": pdf_id}]);
    let patched = patch_course(&app, &root, &course, json!({"lessons": body["lessons"]})).await;
    assert_eq!(patched.status(), 200, "{}", patched.text().await.unwrap());
    let media = app.url(&format!("/api/v1/courses/{course}/media/{video_id}"));

    problem(fetch_media(&app, &media, None).await, 401, "UNAUTHORIZED").await;
    problem(
        fetch_media(&app, &media, Some(&stranger)).await,
        403,
        "NOT_ENROLLED",
    )
    .await;
    let enroll = call(
        &app,
        Method::POST,
        &format!("/api/v1/courses/{course}/enroll"),
        Some(&learner),
        None,
    )
    .await;
    assert_eq!(enroll.status(), 201);

    // The lesson names its video and resource by their media URLs.
    let lesson = call(
        &app,
        Method::GET,
        &format!("/api/v1/courses/{course}/lessons/l1"),
        Some(&learner),
        None,
    )
    .await;
    let lesson = json_of(lesson).await;
    assert!(
        lesson["videoUrl"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/media/{video_id}"))
    );
    assert!(
        lesson["resources"][0]["url"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/media/{pdf_id}"))
    );

    let redirect = fetch_media(&app, &media, Some(&learner)).await;
    assert_eq!(redirect.status(), StatusCode::FOUND);
    let location = redirect.headers()[header::LOCATION]
        .to_str()
        .unwrap()
        .to_owned();
    // A <video> element seeks with ranges.
    let range = app
        .client
        .get(&location)
        .header(header::RANGE, "bytes=0-1023")
        .send()
        .await
        .unwrap();
    assert_eq!(range.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(
        range.headers()[header::CONTENT_RANGE],
        format!("bytes 0-1023/{}", video.len()).as_str()
    );
    assert_eq!(range.headers()[header::CONTENT_TYPE], "video/mp4");
    assert_eq!(range.bytes().await.unwrap().as_ref(), &video[..1024]);
    let tail = app
        .client
        .get(&location)
        .header(header::RANGE, "bytes=299000-")
        .send()
        .await
        .unwrap();
    assert_eq!(tail.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(tail.bytes().await.unwrap().as_ref(), &video[299_000..]);

    // A page that sets a player's source asks for the URL as JSON, with its token.
    let as_json = app
        .client
        .get(&media)
        .bearer_auth(&learner)
        .header(header::ACCEPT, "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(as_json.status(), 200);
    let link: Value = as_json.json().await.unwrap();
    assert!(
        link["url"].is_string() && link["expiresAt"].is_string(),
        "{link}"
    );

    // Rights are decided at each request: unenrolled, the same learner is refused at once.
    let left = call(
        &app,
        Method::DELETE,
        &format!("/api/v1/courses/{course}/enroll"),
        Some(&learner),
        None,
    )
    .await;
    assert_eq!(left.status(), 204);
    problem(
        fetch_media(&app, &media, Some(&learner)).await,
        403,
        "NOT_ENROLLED",
    )
    .await;
    assert_eq!(
        fetch_media(&app, &media, Some(&root)).await.status(),
        StatusCode::FOUND
    );
}

async fn references_must_be_ready_assets_of_the_course_and_kind(kind: Kind) {
    let app = portal(kind, &[]).await;
    let root = admin(&app).await;
    let course = new_course(&app, &root, "Refs").await;
    let other = new_course(&app, &root, "Other").await;
    let image = asset(&app, &root, &course, "image/png", png(16, 16)).await;
    let video = asset(&app, &root, &course, "video/mp4", mp4(2000)).await;
    let foreign = asset(&app, &root, &other, "image/png", png(16, 16)).await;
    // An upload announced but never completed is not ready.
    let pending = asset_ticket(&app, &root, &course, "image/png", 500).await;
    let pending: Value = pending.json().await.unwrap();
    let pending = pending["fileId"].as_str().unwrap();
    // The admin's own file that is no course asset.
    let ticket = new_ticket(
        &app,
        &root,
        "image",
        "own.png",
        "image/png",
        png(4, 4).len(),
    )
    .await;
    assert_eq!(put(&app, &ticket, png(4, 4)).await.status(), 201);
    let own = ticket["fileId"].as_str().unwrap();
    assert_eq!(complete(&app, &root, own).await.status(), 200);

    for bad in [
        "no-such-file",
        foreign.as_str(),
        pending,
        own,
        video.as_str(),
    ] {
        let response = patch_course(&app, &root, &course, json!({"thumbnailFileId": bad})).await;
        let body = problem(response, 400, "VALIDATION_FAILED").await;
        assert!(
            body["errors"]["thumbnailFileId"].is_array(),
            "{bad}: {body}"
        );
    }
    let mut lessons = course_body("Refs")["lessons"].clone();
    lessons[0]["videoFileId"] = json!(image);
    let response = patch_course(&app, &root, &course, json!({"lessons": lessons})).await;
    let body = problem(response, 400, "VALIDATION_FAILED").await;
    assert!(
        body["errors"]["lessons[0].videoFileId"].is_array(),
        "{body}"
    );
    // A course being created has no assets: any file id it names is refused.
    let mut fresh = course_body("Fresh");
    fresh["thumbnailFileId"] = json!(image);
    let created = call(
        &app,
        Method::POST,
        "/api/v1/courses",
        Some(&root),
        Some(fresh),
    )
    .await;
    problem(created, 400, "VALIDATION_FAILED").await;
    // The right kinds pass; "" removes the thumbnail again.
    let ok = patch_course(&app, &root, &course, json!({"thumbnailFileId": image})).await;
    assert_eq!(ok.status(), 200);
    let cleared =
        json_of(patch_course(&app, &root, &course, json!({"thumbnailFileId": ""})).await).await;
    assert!(cleared.get("thumbnailUrl").is_none(), "{cleared}");
}

async fn deleting_a_course_deletes_its_assets(kind: Kind) {
    let app = portal(kind, &[]).await;
    let root = admin(&app).await;
    let course = new_course(&app, &root, "Doomed").await;
    let image = asset(&app, &root, &course, "image/png", png(40, 40)).await;
    let file = json_of(crate::files::get_file(&app, &root, &image).await).await;
    let download = file["downloadUrl"].as_str().unwrap().to_owned();
    assert_eq!(
        app.client.get(&download).send().await.unwrap().status(),
        200
    );
    let deleted = call(
        &app,
        Method::DELETE,
        &format!("/api/v1/courses/{course}"),
        Some(&root),
        None,
    )
    .await;
    assert_eq!(deleted.status(), 204);
    problem(
        crate::files::get_file(&app, &root, &image).await,
        404,
        "NOT_FOUND",
    )
    .await;
    assert_eq!(
        app.client.get(&download).send().await.unwrap().status(),
        404
    );
}
