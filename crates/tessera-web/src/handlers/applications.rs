//! `/o/applications/`: a signed-in user lists, registers, edits and deletes their
//! applications. A generated secret is shown once, on the page that answers the registration.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use tessera_core::client::{Client, ClientType, GrantType, SecretHash, validate_registration};
use tessera_core::entropy::alphanumeric;
use tessera_core::form::Form;
use tessera_core::token::{self, TokenKind};
use tessera_store::{ClientUpdate, NewClient, Session};

use crate::html::{PageError, esc, hidden, page};
use crate::paths;
use crate::session::{self, CSRF_FIELD, CheckedForm, Confirm, redirect, with_cookies};
use crate::state::{AppState, OsEntropy};

const ALGORITHMS: [&str; 4] = ["RS256", "ES256", "EdDSA", "HS256"];

/// The signed-in user, or the redirect to the sign-in page that returns to `here`.
pub async fn require_user(
    state: &AppState,
    headers: &HeaderMap,
    here: &str,
) -> Result<Session, Response> {
    match session::current(state, headers).await {
        Ok(Some(s)) => Ok(s),
        Ok(None) => Err(redirect(StatusCode::FOUND, &paths::login_then(here))),
        Err(e) => Err(e.into_response()),
    }
}

/// The user's own application with primary key `id`, or 404.
async fn own_client(state: &AppState, user: &Session, id: &str) -> Result<Client, Response> {
    let pk: i64 = id
        .parse()
        .map_err(|_| PageError::not_found().into_response())?;
    match state.store.client_by_pk(pk).await {
        Ok(Some(c)) if c.user_id == Some(user.user.id) => Ok(c),
        Ok(_) => Err(PageError::not_found().into_response()),
        Err(e) => Err(PageError::from(e).into_response()),
    }
}

/// The signed-in user and their own application `id`; or the answer to send instead (the
/// sign-in redirect back to `here`, or 404 for anyone else's application).
async fn owner_and_client(
    state: &AppState,
    headers: &HeaderMap,
    id: &str,
    here: &str,
) -> Result<(Session, Client), Response> {
    let user = require_user(state, headers, here).await?;
    let client = own_client(state, &user, id).await?;
    Ok((user, client))
}

pub async fn list(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let user = match require_user(&state, &headers, paths::APPLICATIONS).await {
        Ok(u) => u,
        Err(r) => return r,
    };
    let clients = match state.store.clients_of_user(user.user.id).await {
        Ok(c) => c,
        Err(e) => return PageError::from(e).into_response(),
    };
    let rows: String = clients
        .iter()
        .map(|c| {
            format!(
                r#"<tr><td><a href="{}">{}</a></td><td>{}</td><td><code>{}</code></td></tr>"#,
                paths::application_detail(c.id),
                esc(&c.name),
                c.client_type.as_str(),
                esc(&c.client_id)
            )
        })
        .collect();
    let table = if clients.is_empty() {
        "<p>You have not registered any application yet.</p>".to_owned()
    } else {
        format!("<table><tr><th>Name</th><th>Type</th><th>Client id</th></tr>{rows}</table>")
    };
    let body = format!(
        r#"<div class="card"><h1>Your applications</h1>{table}<a class="button" href="{register}">Register a new application</a></div>"#,
        register = paths::APPLICATION_REGISTER,
    );
    page(
        StatusCode::OK,
        "Your applications",
        Some(&user.user.username),
        &body,
    )
}

/// The values of the registration form, as typed.
#[derive(Debug, Default)]
struct Fields {
    name: String,
    client_type: String,
    grant_types: Vec<GrantType>,
    redirect_uris: String,
    post_logout_redirect_uris: String,
    allowed_origins: String,
    algorithm: String,
}

impl Fields {
    fn from_client(c: &Client) -> Self {
        Self {
            name: c.name.clone(),
            client_type: c.client_type.as_str().into(),
            grant_types: c.grant_types.clone(),
            redirect_uris: c.redirect_uris.join("\n"),
            post_logout_redirect_uris: c.post_logout_redirect_uris.join("\n"),
            allowed_origins: c.allowed_origins.join("\n"),
            algorithm: c.algorithm.clone().unwrap_or_default(),
        }
    }

    fn from_form(f: &Form) -> Self {
        let text = |k: &str| f.get(k).unwrap_or("").to_owned();
        Self {
            name: text("name").trim().to_owned(),
            client_type: text("client_type"),
            grant_types: GrantType::ALL
                .into_iter()
                .filter(|g| f.contains(&format!("grant.{}", g.as_str())))
                .collect(),
            redirect_uris: text("redirect_uris"),
            post_logout_redirect_uris: text("post_logout_redirect_uris"),
            allowed_origins: text("allowed_origins"),
            algorithm: text("algorithm"),
        }
    }

    fn list(text: &str) -> Vec<String> {
        text.split_whitespace().map(str::to_owned).collect()
    }

    /// Checks the form; the error is a sentence for the user.
    fn check(&self) -> Result<(), String> {
        if self.name.is_empty() || self.name.len() > 255 {
            return Err("Give the application a name (at most 255 characters).".into());
        }
        if ClientType::parse(&self.client_type).is_none() {
            return Err("Choose whether the application is confidential or public.".into());
        }
        if self.grant_types.is_empty() {
            return Err("Choose at least one grant type.".into());
        }
        if !self.algorithm.is_empty() && !ALGORITHMS.contains(&self.algorithm.as_str()) {
            return Err("Choose a signing algorithm from the list.".into());
        }
        validate_registration(
            &self.grant_types,
            &Self::list(&self.redirect_uris),
            &Self::list(&self.post_logout_redirect_uris),
            &Self::list(&self.allowed_origins),
        )
        .map_err(|e| format!("Please correct this: {e}."))
    }
}

/// The registration (or edit) form as shown.
struct FormView<'a> {
    title: &'a str,
    action: &'a str,
    fields: &'a Fields,
    editing: bool,
    csrf: &'a str,
    user: &'a str,
}

fn form_page(view: FormView<'_>, error: Option<&str>, status: StatusCode) -> Response {
    let FormView {
        title,
        action,
        fields,
        editing,
        csrf,
        user,
    } = view;
    let error = error
        .map(|e| format!(r#"<p class="error" role="alert">{}</p>"#, esc(e)))
        .unwrap_or_default();
    let client_type = if editing {
        format!(
            "<p><strong>Client type:</strong> {} (cannot change)</p>",
            esc(&fields.client_type)
        )
    } else {
        let option = |v: &str, label: &str| {
            let checked = if fields.client_type == v {
                " checked"
            } else {
                ""
            };
            format!(
                r#"<input type="radio" id="type-{v}" name="client_type" value="{v}"{checked}><label class="inline" for="type-{v}">{label}</label>"#
            )
        };
        format!(
            "<label>Client type</label>{}{}",
            option(
                "confidential",
                "Confidential (a server that keeps a secret)"
            ),
            option("public", "Public (a browser or mobile app)")
        )
    };
    let grants: String = GrantType::ALL
        .into_iter()
        .map(|g| {
            let checked = if fields.grant_types.contains(&g) { " checked" } else { "" };
            format!(
                r#"<div><input type="checkbox" id="grant-{n}" name="grant.{n}"{checked}><label class="inline" for="grant-{n}">{n}</label></div>"#,
                n = esc(g.as_str())
            )
        })
        .collect();
    let algorithms: String = std::iter::once("")
        .chain(ALGORITHMS)
        .map(|a| {
            let selected = if fields.algorithm == a {
                " selected"
            } else {
                ""
            };
            let label = if a.is_empty() {
                "none (no OpenID Connect)"
            } else {
                a
            };
            format!(r#"<option value="{a}"{selected}>{label}</option>"#)
        })
        .collect();
    let body = format!(
        r#"<div class="card"><h1>{title}</h1>{error}<form method="post" action="{action}">{hidden}
<label for="name">Name</label><input type="text" id="name" name="name" value="{name}" required>
{client_type}
<label>Grant types</label>{grants}
<label for="redirect_uris">Redirect URIs <small>(one per line)</small></label><textarea id="redirect_uris" name="redirect_uris">{redirect_uris}</textarea>
<label for="post_logout_redirect_uris">Post-logout redirect URIs <small>(one per line)</small></label><textarea id="post_logout_redirect_uris" name="post_logout_redirect_uris">{post_logout}</textarea>
<label for="allowed_origins">Allowed origins for browser requests <small>(one per line, like https://app.example)</small></label><textarea id="allowed_origins" name="allowed_origins">{origins}</textarea>
<label for="algorithm">ID token signing algorithm</label><select id="algorithm" name="algorithm">{algorithms}</select>
<button type="submit">Save</button><a class="button secondary" href="{cancel}">Cancel</a></form></div>"#,
        title = esc(title),
        action = esc(action),
        hidden = hidden(&[(CSRF_FIELD, csrf)]),
        name = esc(&fields.name),
        redirect_uris = esc(&fields.redirect_uris),
        post_logout = esc(&fields.post_logout_redirect_uris),
        origins = esc(&fields.allowed_origins),
        cancel = paths::APPLICATIONS,
    );
    page(status, title, Some(user), &body)
}

pub async fn register_form(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let user = match require_user(&state, &headers, paths::APPLICATION_REGISTER).await {
        Ok(u) => u,
        Err(r) => return r,
    };
    let (csrf, set) = session::csrf_token(&state, &headers);
    let fields = Fields {
        client_type: "confidential".into(),
        grant_types: vec![GrantType::AuthorizationCode],
        ..Fields::default()
    };
    let page = form_page(
        FormView {
            title: "Register an application",
            action: paths::APPLICATION_REGISTER,
            fields: &fields,
            editing: false,
            csrf: &csrf,
            user: &user.user.username,
        },
        None,
        StatusCode::OK,
    );
    with_cookies(page, [set])
}

pub async fn register(State(state): State<AppState>, form: CheckedForm) -> Response {
    let user = match require_user(&state, &form.headers, paths::APPLICATION_REGISTER).await {
        Ok(u) => u,
        Err(r) => return r,
    };
    let csrf = form.form.get(CSRF_FIELD).unwrap_or("");
    let fields = Fields::from_form(&form.form);
    if let Err(message) = fields.check() {
        return form_page(
            FormView {
                title: "Register an application",
                action: paths::APPLICATION_REGISTER,
                fields: &fields,
                editing: false,
                csrf,
                user: &user.user.username,
            },
            Some(&message),
            StatusCode::BAD_REQUEST,
        );
    }
    let client_type = ClientType::parse(&fields.client_type).unwrap_or(ClientType::Confidential);
    let (secret_text, secret) = match client_type {
        ClientType::Public => (None, SecretHash::None),
        ClientType::Confidential => {
            let t = token::generate(TokenKind::ClientSecret, &mut OsEntropy);
            (Some(t.text), SecretHash::Sha256(t.digest.0))
        }
    };
    let created = state
        .store
        .insert_client(NewClient {
            client_id: alphanumeric(&mut OsEntropy, 40),
            name: fields.name.clone(),
            client_type,
            grant_types: fields.grant_types.clone(),
            secret,
            redirect_uris: Fields::list(&fields.redirect_uris),
            post_logout_redirect_uris: Fields::list(&fields.post_logout_redirect_uris),
            allowed_origins: Fields::list(&fields.allowed_origins),
            user_id: Some(user.user.id),
            skip_authorization: false,
            algorithm: (!fields.algorithm.is_empty()).then(|| fields.algorithm.clone()),
            created_at: state.now(),
        })
        .await;
    match created {
        Ok(client) => {
            tracing::info!(target: "tessera::audit", event = "application_registered", client_id = %client.client_id, user = %user.user.username);
            detail_page(&client, &user, secret_text.as_deref(), StatusCode::CREATED)
        }
        Err(e) => PageError::from(e).into_response(),
    }
}

fn detail_page(
    client: &Client,
    user: &Session,
    secret: Option<&str>,
    status: StatusCode,
) -> Response {
    let secret_html = match secret {
        Some(s) => format!(
            r#"<div class="notice"><p><strong>Client secret</strong> — copy it now: it is shown only this once and only its hash is kept.</p><p class="secret" id="client-secret">{}</p></div>"#,
            esc(s)
        ),
        None => String::new(),
    };
    let list = |v: &[String]| {
        if v.is_empty() {
            "—".to_owned()
        } else {
            v.iter().map(|s| esc(s)).collect::<Vec<_>>().join("<br>")
        }
    };
    let body = format!(
        r#"<div class="card"><h1>{name}</h1>{secret_html}<dl>
<dt>Client id</dt><dd><code id="client-id">{client_id}</code></dd>
<dt>Client type</dt><dd>{client_type}</dd>
<dt>Grant types</dt><dd>{grants}</dd>
<dt>Redirect URIs</dt><dd>{redirects}</dd>
<dt>Post-logout URIs</dt><dd>{post_logout}</dd>
<dt>Allowed origins</dt><dd>{origins}</dd>
<dt>Algorithm</dt><dd>{algorithm}</dd></dl>
<a class="button" href="{update}">Edit</a><a class="button secondary" href="{delete}">Delete</a><a class="button secondary" href="{all}">All applications</a></div>"#,
        name = esc(&client.name),
        client_id = esc(&client.client_id),
        client_type = client.client_type.as_str(),
        grants = esc(&client
            .grant_types
            .iter()
            .map(|g| g.as_str())
            .collect::<Vec<_>>()
            .join(", ")),
        redirects = list(&client.redirect_uris),
        post_logout = list(&client.post_logout_redirect_uris),
        origins = list(&client.allowed_origins),
        algorithm = esc(client.algorithm.as_deref().unwrap_or("none")),
        update = paths::application_update(client.id),
        delete = paths::application_delete(client.id),
        all = paths::APPLICATIONS,
    );
    page(status, &client.name, Some(&user.user.username), &body)
}

pub async fn detail(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let here = paths::application_detail(&id);
    match owner_and_client(&state, &headers, &id, &here).await {
        Ok((user, client)) => detail_page(&client, &user, None, StatusCode::OK),
        Err(r) => r,
    }
}

pub async fn update_form(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let here = paths::application_update(&id);
    let (user, client) = match owner_and_client(&state, &headers, &id, &here).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let (csrf, set) = session::csrf_token(&state, &headers);
    let title = format!("Edit {}", client.name);
    let page = form_page(
        FormView {
            title: &title,
            action: &here,
            fields: &Fields::from_client(&client),
            editing: true,
            csrf: &csrf,
            user: &user.user.username,
        },
        None,
        StatusCode::OK,
    );
    with_cookies(page, [set])
}

pub async fn update(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: CheckedForm,
) -> Response {
    let here = paths::application_update(&id);
    let (user, client) = match owner_and_client(&state, &form.headers, &id, &here).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let mut fields = Fields::from_form(&form.form);
    fields.client_type = client.client_type.as_str().into();
    if let Err(message) = fields.check() {
        let csrf = form.form.get(CSRF_FIELD).unwrap_or("");
        let title = format!("Edit {}", client.name);
        return form_page(
            FormView {
                title: &title,
                action: &here,
                fields: &fields,
                editing: true,
                csrf,
                user: &user.user.username,
            },
            Some(&message),
            StatusCode::BAD_REQUEST,
        );
    }
    let updated = state
        .store
        .update_client(
            client.id,
            ClientUpdate {
                name: fields.name.clone(),
                grant_types: fields.grant_types.clone(),
                redirect_uris: Fields::list(&fields.redirect_uris),
                post_logout_redirect_uris: Fields::list(&fields.post_logout_redirect_uris),
                allowed_origins: Fields::list(&fields.allowed_origins),
                algorithm: (!fields.algorithm.is_empty()).then(|| fields.algorithm.clone()),
                updated_at: state.now(),
            },
        )
        .await;
    match updated {
        Ok(_) => redirect(StatusCode::SEE_OTHER, &paths::application_detail(client.id)),
        Err(e) => PageError::from(e).into_response(),
    }
}

pub async fn delete_form(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let here = paths::application_delete(&id);
    let (user, client) = match owner_and_client(&state, &headers, &id, &here).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let name = esc(&client.name);
    session::confirm_page(
        &state,
        &headers,
        &user.user.username,
        Confirm {
            title: "Delete application",
            heading_html: &format!("Delete {name}?"),
            message_html: &format!(
                "Every token issued to <strong>{name}</strong> stops working at once. This cannot be undone."
            ),
            action: &here,
            button: "Delete",
            cancel_href: &paths::application_detail(client.id),
        },
    )
}

pub async fn delete(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: CheckedForm,
) -> Response {
    let here = paths::application_delete(&id);
    let (user, client) = match owner_and_client(&state, &form.headers, &id, &here).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    match state.store.delete_client(client.id).await {
        Ok(_) => {
            tracing::info!(target: "tessera::audit", event = "application_deleted", client_id = %client.client_id, user = %user.user.username);
            redirect(StatusCode::SEE_OTHER, paths::APPLICATIONS)
        }
        Err(e) => PageError::from(e).into_response(),
    }
}
