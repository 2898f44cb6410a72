//! The `connect` binary's own commands, run as a user runs them: `admin create-user` and
//! `mail links`, against a test server's database and data folder.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use serde_json::json;

use crate::helpers::*;

/// Runs `connect <args>` with the test server's database and data folder, `stdin` on its input.
async fn connect(app: &TestApp, args: &[&str], stdin: &str) -> Output {
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    let stdin = stdin.to_owned();
    let database_url = app.database_url.clone();
    let data_dir = app.data_dir().to_owned();
    tokio::task::spawn_blocking(move || {
        let mut child = Command::new(env!("CARGO_BIN_EXE_connect"))
            .args(&args)
            // Nothing of the suite's own environment (`CONNECT_TEST_DATABASE` is no setting).
            .env_clear()
            .env("CONNECT_DATABASE_URL", database_url)
            .env("CONNECT_DATA_DIR", data_dir)
            .env(
                "CONNECT_JWT_SECRET",
                "test-secret-test-secret-test-secret-0123",
            )
            .env("RUST_LOG", "warn")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn create_user_names_an_admin_from_the_e_mail_and_a_representative_only_by_name() {
    let app = spawn_app().await;
    let out = connect(
        &app,
        &[
            "admin",
            "create-user",
            "--email",
            "grete.hansen@oslocancercluster.no",
        ],
        "correct-horse-secretariat\n",
    )
    .await;
    assert!(out.status.success(), "{out:?}");
    let admin = app.admin_token().await;
    let users = app.list_items("/api/v1/users?limit=200", &admin).await;
    let grete = users
        .iter()
        .find(|u| u["email"] == "grete.hansen@oslocancercluster.no")
        .unwrap();
    assert_eq!(grete["display_name"], "Grete Hansen");

    let org = app
        .create_org(&admin, "Nordlys Onkologi AS", "pharma")
        .await;
    let out = connect(
        &app,
        &[
            "admin",
            "create-user",
            "--email",
            "ola@nordlys.example",
            "--role",
            "partner_representative",
            "--organisation",
            org["id"].as_str().unwrap(),
        ],
        "a long private passphrase\n",
    )
    .await;
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--name is required"),
        "{out:?}"
    );
}

#[tokio::test]
async fn mail_links_prints_the_invitation_link_whole() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let org = app
        .create_org(&admin, "Nordlys Onkologi AS", "pharma")
        .await;
    let res = app
        .post(
            "/api/v1/invitations",
            &admin,
            &json!({"email": "ola@nordlys.example", "display_name": "Ola Nordmann",
                    "role": "partner_representative", "organisation_id": org["id"],
                    "language": "nb"}),
        )
        .await;
    assert_eq!(res.status(), 201);

    let out = connect(
        &app,
        &[
            "mail",
            "links",
            "--to",
            "OLA@nordlys.example",
            "--last",
            "1",
            "--wait",
            "20",
        ],
        "",
    )
    .await;
    assert!(out.status.success(), "{out:?}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        stdout.contains("To: \"Ola Nordmann\" <ola@nordlys.example>"),
        "{stdout}"
    );
    assert!(
        stdout.contains("Subject: Invitasjon til CONNECT for Nordlys Onkologi AS"),
        "{stdout}"
    );
    let link = stdout
        .lines()
        .find(|l| l.contains("/invitations/"))
        .unwrap();
    let token = link.rsplit('/').next().unwrap();
    assert_eq!(token.len(), 43, "{link}");
    let res = app.get_anon(&format!("/api/v1/invitations/{token}")).await;
    assert_eq!(res.status(), 200, "the printed link works");

    let none = connect(&app, &["mail", "links", "--to", "nobody@example.org"], "").await;
    assert!(
        !none.status.success(),
        "no message is a failure, as with grep"
    );
}
