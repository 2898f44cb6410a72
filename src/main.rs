//! The `connect` command line: `serve` (default), `migrate`, `admin create-user`, `openapi`, `seed`,
//! `mail links`.

use std::io::{BufRead, IsTerminal};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use connect::auth::Role;
use connect::config::{LogFormat, Settings};
use connect::startup::{Application, connect_database};

#[derive(Parser)]
#[command(name = "connect", version, about = "The CONNECT consortium service")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP API (the default).
    Serve,
    /// Run pending database migrations and exit.
    Migrate,
    /// Manage accounts from the command line.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// Print the OpenAPI document.
    Openapi,
    /// Load data.
    Seed {
        #[command(subcommand)]
        command: SeedCommand,
    },
    /// Read the e-mail written under <data_dir>/mail/ when no SMTP server is configured.
    Mail {
        #[command(subcommand)]
        command: MailCommand,
    },
}

#[derive(Subcommand)]
enum MailCommand {
    /// Print each message's recipient, subject, date and links (decoded whole), newest first.
    Links {
        /// Only messages to this address.
        #[arg(long)]
        to: Option<String>,
        /// Only the N newest messages.
        #[arg(long)]
        last: Option<usize>,
        /// Wait up to this many seconds for a matching message (the mail worker writes a message
        /// about a second after the change that caused it).
        #[arg(long, default_value_t = 0)]
        wait: u64,
    },
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Create a user; the password is read from standard input.
    CreateUser {
        #[arg(long)]
        email: String,
        /// admin, partner_representative or observer_representative
        #[arg(long, default_value = "admin")]
        role: String,
        /// The organisation id (representatives only).
        #[arg(long)]
        organisation: Option<String>,
        /// The display name e-mails use (default for an admin: from the e-mail's local part,
        /// `kari.nordmann@…` → `Kari Nordmann`; required for a representative).
        #[arg(long)]
        name: Option<String>,
    },
}

#[derive(Subcommand)]
enum SeedCommand {
    /// The CONNECT partners as announced in 2020-2022, beside what the register holds (names it
    /// already has are skipped).
    Demo,
    /// Synthetic data for benchmarks: organisations, contacts, audit events, pending e-mails in
    /// the outbox, and patients under agreements; then ANALYZE (VACUUM ANALYZE on PostgreSQL).
    Bulk {
        #[arg(long, default_value_t = 10_000)]
        organisations: usize,
        /// Contacts, spread over the organisations there are.
        #[arg(long, default_value_t = 0)]
        people: usize,
        /// Audit events over the last two years, about the organisations and people there are.
        #[arg(long, default_value_t = 0)]
        audit_events: usize,
        /// Pending messages to put in the outbox (to measure draining and a backlog's effect).
        #[arg(long, default_value_t = 0)]
        notifications: usize,
        /// Patients started under one synthetic active agreement (to measure usage and lists at
        /// scale); prints the ids a benchmark needs to start more.
        #[arg(long, default_value_t = 0)]
        allocations: usize,
    },
}

fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Json => builder.json().flatten_event(true).init(),
        LogFormat::Text => builder.init(),
    }
}

fn fail(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("connect: {message}");
    ExitCode::FAILURE
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let command = cli.command.unwrap_or(Command::Serve);
    if let Command::Openapi = command {
        print!(
            "{}",
            connect::openapi::to_pretty_json(&connect::startup::openapi())
        );
        return ExitCode::SUCCESS;
    }
    let settings = match Settings::from_env() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    init_logging(settings.log_format);
    match command {
        Command::Serve => serve(settings),
        Command::Migrate => match connect_database(&settings) {
            Ok(_) => {
                println!("migrations are up to date");
                ExitCode::SUCCESS
            }
            Err(e) => fail(e),
        },
        Command::Admin {
            command:
                AdminCommand::CreateUser {
                    email,
                    role,
                    organisation,
                    name,
                },
        } => create_user(&settings, email, &role, organisation, name),
        Command::Seed { command } => seed(&settings, command),
        Command::Mail {
            command: MailCommand::Links { to, last, wait },
        } => mail_links(&settings, to.as_deref(), last, wait),
        Command::Openapi => ExitCode::SUCCESS,
    }
}

fn serve(settings: Settings) -> ExitCode {
    let result = actix_web::rt::System::new().block_on(async move {
        let bind = settings.bind;
        let app = Application::build(settings).await.map_err(|e| e.to_string())?;
        tracing::info!(address = %bind, port = app.port(), "connect is listening; API docs at /docs");
        app.run_until_stopped().await.map_err(|e| e.to_string())
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(e),
    }
}

fn read_password() -> Result<String, String> {
    if std::io::stdin().is_terminal() {
        eprint!("password for the new user: ");
    }
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| format!("cannot read the password: {e}"))?;
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}

fn create_user(
    settings: &Settings,
    email: String,
    role: &str,
    organisation: Option<String>,
    name: Option<String>,
) -> ExitCode {
    let Some(role) = Role::parse(role) else {
        let roles: Vec<&str> = Role::ALL.iter().map(|r| r.as_str()).collect();
        return fail(format!("--role '{role}' must be {}", roles.join(", ")));
    };
    let name = match name {
        Some(name) => name,
        None if role == Role::Admin => connect::users::model::name_from_email(&email),
        None => {
            return fail(format!(
                "--name is required for a {}: invitations and the register show it",
                role.as_str()
            ));
        }
    };
    let organisation = match organisation
        .as_deref()
        .map(connect::core::Id::parse)
        .transpose()
    {
        Ok(id) => id,
        Err(e) => return fail(format!("--organisation {e}")),
    };
    let password = match read_password() {
        Ok(p) => p,
        Err(e) => return fail(e),
    };
    let db = match connect_database(settings) {
        Ok(db) => db,
        Err(e) => return fail(e),
    };
    let req = connect::users::model::CreateUser {
        email,
        display_name: name,
        role,
        organisation_id: organisation,
        person_id: None,
        language: None,
        password,
    };
    let hasher = match connect::auth::password::PasswordHasher::new(settings.hash_concurrency) {
        Ok(h) => h,
        Err(e) => return fail(e),
    };
    let result = actix_web::rt::System::new().block_on(connect::users::service::create_user(
        &db,
        &hasher,
        connect::core::Actor::system(),
        req,
        connect::users::service::When::Always,
        None,
    ));
    match result {
        Ok(Some(user)) => {
            println!(
                "created {} ({}) with id {}",
                user.email,
                user.role.as_str(),
                user.id
            );
            ExitCode::SUCCESS
        }
        Err(connect::error::ApiError::Validation(errors)) => {
            for e in errors {
                eprintln!("connect: {}: {}", e.field, e.message);
            }
            ExitCode::FAILURE
        }
        Ok(None) => fail("the account was not created"),
        Err(e) => fail(e),
    }
}

fn seed(settings: &Settings, command: SeedCommand) -> ExitCode {
    let db = match connect_database(settings) {
        Ok(db) => db,
        Err(e) => return fail(e),
    };
    let result = match command {
        SeedCommand::Demo => {
            let mailer = match connect::notifications::Mailer::new(
                &settings.public_url,
                &settings.mail_from,
            ) {
                Ok(m) => m,
                Err(e) => return fail(e),
            };
            actix_web::rt::System::new()
                .block_on(connect::seed::demo(&db, std::sync::Arc::new(mailer)))
                .map(|seeded| {
                    format!(
                        "added {} organisations, {} drugs, {} agreements, {} cohorts, {} patients, {} people, {} bodies with {} seats, {} decisions and {} meetings with {} agenda items and {} action items, {} meeting series ({} occurrences moved, {} cancelled), {} more meetings with {} guests and {} agenda items, {} open events with {} registrations; skipped {} organisations whose name the register already has",
                        seeded.added,
                        seeded.drugs,
                        seeded.trial.agreements,
                        seeded.trial.cohorts,
                        seeded.trial.patients,
                        seeded.governance.people,
                        seeded.governance.bodies,
                        seeded.governance.seats,
                        seeded.governance.decisions,
                        seeded.proceedings.meetings,
                        seeded.proceedings.agenda_items,
                        seeded.proceedings.action_items,
                        seeded.meetings.series,
                        seeded.meetings.moved,
                        seeded.meetings.cancelled,
                        seeded.meetings.meetings,
                        seeded.meetings.guests,
                        seeded.meetings.agenda_items,
                        seeded.events.events,
                        seeded.events.registrations,
                        seeded.skipped
                    )
                })
        }
        SeedCommand::Bulk {
            organisations,
            people,
            audit_events,
            notifications,
            allocations,
        } => {
            let mailer = match connect::notifications::Mailer::new(
                &settings.public_url,
                &settings.mail_from,
            ) {
                Ok(m) => m,
                Err(e) => return fail(e),
            };
            connect::seed::bulk(&db, organisations).and_then(|orgs| {
                if people > 0 {
                    let n = connect::seed::bulk_people(&db, people)?;
                    println!("added {n} people");
                }
                if audit_events > 0 {
                    let n = connect::seed::bulk_audit_events(&db, audit_events)?;
                    println!("added {n} audit events");
                }
                let mails = connect::seed::bulk_notifications(&db, &mailer, notifications)?;
                if mails > 0 {
                    println!("queued {mails} e-mails");
                }
                if allocations > 0 {
                    let b = connect::seed::bulk_allocations(&db, allocations)?;
                    println!(
                        "added {} allocations over {} agreements; the first: agreement {} (drug {}, site {}, open cohort {})",
                        b.added, b.agreements, b.agreement_id, b.drug_id, b.site_id, b.cohort_id
                    );
                }
                connect::seed::settle(&db)?;
                Ok(format!("added {orgs} organisations"))
            })
        }
    };
    match result {
        Ok(summary) => {
            println!("{summary}");
            ExitCode::SUCCESS
        }
        Err(e) => fail(e),
    }
}

fn mail_links(settings: &Settings, to: Option<&str>, last: Option<usize>, wait: u64) -> ExitCode {
    let dir = settings.data_dir.join("mail");
    if settings.smtp_url.is_some() {
        eprintln!(
            "connect: CONNECT_SMTP_URL is set, so mail goes to the SMTP server; {} holds only what was written before",
            dir.display()
        );
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(wait);
    let mails = loop {
        let mut mails = match connect::notifications::mailbox::read_dir(&dir) {
            Ok(m) => m,
            Err(e) => return fail(format!("cannot read {}: {e}", dir.display())),
        };
        if let Some(to) = to {
            mails.retain(|m| m.is_to(to));
        }
        if !mails.is_empty() || std::time::Instant::now() >= deadline {
            break mails;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    };
    if mails.is_empty() {
        return fail(format!(
            "no messages{} in {}",
            to.map(|t| format!(" to {t}")).unwrap_or_default(),
            dir.display()
        ));
    }
    for (i, mail) in mails.iter().take(last.unwrap_or(usize::MAX)).enumerate() {
        if i > 0 {
            println!();
        }
        println!("To: {}", mail.to);
        println!("Subject: {}", mail.subject);
        println!("Date: {}", mail.date);
        for link in mail.links() {
            println!("{link}");
        }
    }
    ExitCode::SUCCESS
}
