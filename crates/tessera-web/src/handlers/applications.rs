//! [`paths::APPLICATIONS`]: a signed-in user lists, registers, edits and deletes their
//! applications. A generated secret is shown once, on the page that answers the registration.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use tessera_core::client::{AccessTokenFormat, Client, ClientType, GrantType};
use tessera_core::form::Form;
use tessera_core::registration::{
    self, Registration, RegistrationError, SIGNING_ALGORITHMS, SecretChoice,
};
use tessera_store::{ClientUpdate, NewClient, Session};

use crate::html::{Layout, PageError, render};
use crate::paths;
use crate::session::{self, CSRF_FIELD, CheckedForm, redirect, with_cookies};
use crate::state::AppState;

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

#[derive(Template)]
#[template(path = "applications.html")]
struct ListPage<'a> {
    layout: Layout<'a>,
    clients: &'a [Client],
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
    let page = ListPage {
        layout: Layout {
            title: "Your applications",
            user: Some(&user.user.username),
        },
        clients: &clients,
    };
    render(StatusCode::OK, &page)
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
    jwt_access_tokens: bool,
    logout_revokes_grants: bool,
    /// Space-separated; empty: the default.
    allowed_scopes: String,
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
            jwt_access_tokens: c.access_token_format == AccessTokenFormat::Jwt,
            logout_revokes_grants: c.logout_revokes_grants,
            allowed_scopes: c.allowed_scopes.clone().unwrap_or_default(),
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
            jwt_access_tokens: f.contains("jwt_access_tokens"),
            logout_revokes_grants: f.contains("logout_revokes_grants"),
            allowed_scopes: text("allowed_scopes").trim().to_owned(),
        }
    }

    fn list(text: &str) -> Vec<String> {
        text.split_whitespace().map(str::to_owned).collect()
    }

    /// The registration the form asks for, checked by the core's rules (the same as the
    /// command line's); an error is a sentence for the user.
    fn registration(&self) -> Result<Registration, String> {
        let client_type = ClientType::parse(&self.client_type).ok_or_else(|| {
            "Choose whether the application is confidential or public.".to_owned()
        })?;
        let registration = Registration {
            name: Some(self.name.clone()),
            client_type,
            grant_types: self.grant_types.clone(),
            redirect_uris: Self::list(&self.redirect_uris),
            post_logout_redirect_uris: Self::list(&self.post_logout_redirect_uris),
            allowed_origins: Self::list(&self.allowed_origins),
            algorithm: (!self.algorithm.is_empty()).then(|| self.algorithm.clone()),
            access_token_format: if self.jwt_access_tokens {
                AccessTokenFormat::Jwt
            } else {
                AccessTokenFormat::Opaque
            },
            logout_revokes_grants: self.logout_revokes_grants,
            allowed_scopes: (!self.allowed_scopes.is_empty()).then(|| self.allowed_scopes.clone()),
            // Applications registered here see only their own tokens at introspection.
            introspect_any: false,
            // Users never choose an id or a secret: only an operator may.
            client_id: None,
            secret: SecretChoice::Generate,
        };
        if registration.allowed_scopes.as_deref().is_some_and(|s| {
            s.split(' ')
                .any(|t| t == tessera_core::introspection::INTROSPECTION_SCOPE)
        }) {
            return Err(
                "Only an operator may allow the introspection scope (tessera createapplication --allowed-scopes)."
                    .to_owned(),
            );
        }
        registration.check().map_err(|e| match e {
            RegistrationError::Name => {
                "Give the application a name (at most 255 characters).".to_owned()
            }
            RegistrationError::NoGrantType => "Choose at least one grant type.".to_owned(),
            RegistrationError::Algorithm(_) => {
                "Choose a signing algorithm from the list.".to_owned()
            }
            other => format!("Please correct this: {other}."),
        })?;
        Ok(registration)
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

/// A grant type or signing algorithm offered on the form, and whether it is ticked.
struct Choice {
    value: &'static str,
    chosen: bool,
}

#[derive(Template)]
#[template(path = "application_form.html")]
struct FormPage<'a> {
    layout: Layout<'a>,
    action: &'a str,
    /// The client type is chosen once, at registration.
    editing: bool,
    csrf: &'a str,
    error: Option<&'a str>,
    name: &'a str,
    client_type: &'a str,
    grants: Vec<Choice>,
    redirect_uris: &'a str,
    post_logout_redirect_uris: &'a str,
    allowed_origins: &'a str,
    /// The empty value first: the default, RS256.
    algorithms: Vec<Choice>,
    jwt_access_tokens: bool,
    logout_revokes_grants: bool,
    allowed_scopes: &'a str,
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
    let page = FormPage {
        layout: Layout {
            title,
            user: Some(user),
        },
        action,
        editing,
        csrf,
        error,
        name: &fields.name,
        client_type: &fields.client_type,
        grants: GrantType::ALL
            .into_iter()
            .map(|g| Choice {
                value: g.as_str(),
                chosen: fields.grant_types.contains(&g),
            })
            .collect(),
        redirect_uris: &fields.redirect_uris,
        post_logout_redirect_uris: &fields.post_logout_redirect_uris,
        allowed_origins: &fields.allowed_origins,
        algorithms: std::iter::once("")
            .chain(SIGNING_ALGORITHMS)
            .map(|a| Choice {
                value: a,
                chosen: fields.algorithm == a,
            })
            .collect(),
        jwt_access_tokens: fields.jwt_access_tokens,
        logout_revokes_grants: fields.logout_revokes_grants,
        allowed_scopes: &fields.allowed_scopes,
    };
    render(status, &page)
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
    let registered = fields.registration().and_then(|r| {
        registration::register(&r, &*state.entropy)
            .map(|done| (r, done))
            .map_err(|e| e.to_string())
    });
    let (registration, registered) = match registered {
        Ok(v) => v,
        Err(message) => {
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
    };
    let created = state
        .store
        .insert_client(NewClient {
            client_id: registered.client_id,
            name: registered.name,
            client_type: registration.client_type,
            grant_types: registration.grant_types,
            secret: registered.secret,
            redirect_uris: registration.redirect_uris,
            post_logout_redirect_uris: registration.post_logout_redirect_uris,
            allowed_origins: registration.allowed_origins,
            user_id: Some(user.user.id),
            skip_authorization: false,
            algorithm: registration.algorithm,
            access_token_format: registration.access_token_format,
            logout_revokes_grants: registration.logout_revokes_grants,
            allowed_scopes: registration.allowed_scopes,
            introspect_any: registration.introspect_any,
            created_at: state.now(),
        })
        .await;
    match created {
        Ok(client) => {
            tracing::info!(target: "tessera::audit", event = "application_registered", client_id = %client.client_id, user = %user.user.username);
            detail_page(
                &client,
                &user,
                registered.secret_text.as_deref(),
                StatusCode::CREATED,
            )
        }
        Err(e) => PageError::from(e).into_response(),
    }
}

#[derive(Template)]
#[template(path = "application.html")]
struct DetailPage<'a> {
    layout: Layout<'a>,
    client: &'a Client,
    /// Only on the answer to the registration: it is never stored in clear, so never again.
    secret: Option<&'a str>,
}

fn detail_page(
    client: &Client,
    user: &Session,
    secret: Option<&str>,
    status: StatusCode,
) -> Response {
    let page = DetailPage {
        layout: Layout {
            title: &client.name,
            user: Some(&user.user.username),
        },
        client,
        secret,
    };
    render(status, &page)
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
    let registration = match fields.registration() {
        Ok(r) => r,
        Err(message) => {
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
    };
    let updated = state
        .store
        .update_client(
            client.id,
            ClientUpdate::from_registration(registration, fields.name.clone(), state.now()),
        )
        .await;
    match updated {
        Ok(_) => {
            tracing::info!(target: "tessera::audit", event = "application_changed", via = "pages", client_id = %client.client_id, user = %user.user.username);
            redirect(StatusCode::SEE_OTHER, &paths::application_detail(client.id))
        }
        Err(e) => PageError::from(e).into_response(),
    }
}

#[derive(Template)]
#[template(path = "delete_application.html")]
struct DeletePage<'a> {
    layout: Layout<'a>,
    action: &'a str,
    cancel: &'a str,
    csrf: &'a str,
    name: &'a str,
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
    let (csrf, set) = session::csrf_token(&state, &headers);
    let page = DeletePage {
        layout: Layout {
            title: "Delete application",
            user: Some(&user.user.username),
        },
        action: &here,
        cancel: &paths::application_detail(client.id),
        csrf: &csrf,
        name: &client.name,
    };
    with_cookies(render(StatusCode::OK, &page), [set])
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

#[cfg(test)]
mod tests {
    use super::*;

    const HOSTILE: &str = "<script>alert(1)</script>";
    const ESCAPED: &str = "&lt;script&gt;alert(1)&lt;/script&gt;";

    fn hostile_client() -> Client {
        Client {
            id: 7,
            client_id: "abc\"onmouseover=\"alert(1)".into(),
            name: HOSTILE.into(),
            client_type: ClientType::Confidential,
            grant_types: vec![GrantType::AuthorizationCode],
            secret: tessera_core::client::SecretHash::None,
            redirect_uris: vec![format!("https://app.example/cb?x={HOSTILE}")],
            post_logout_redirect_uris: vec![],
            allowed_origins: vec![],
            user_id: Some(1),
            skip_authorization: false,
            algorithm: None,
            access_token_format: AccessTokenFormat::Opaque,
            logout_revokes_grants: false,
            allowed_scopes: None,
            introspect_any: true,
            created_at: 0,
        }
    }

    fn layout(title: &str) -> Layout<'_> {
        Layout {
            title,
            user: Some("\"alice\""),
        }
    }

    /// Every page that shows a user-chosen application name escapes it, in text and in
    /// attributes alike.
    #[test]
    fn a_hostile_application_comes_out_escaped() {
        let client = hostile_client();
        let clients = [client.clone()];
        let pages = [
            ListPage {
                layout: layout("Your applications"),
                clients: &clients,
            }
            .render(),
            DetailPage {
                layout: layout(&client.name),
                client: &client,
                secret: None,
            }
            .render(),
            DeletePage {
                layout: layout("Delete application"),
                action: &paths::application_delete(client.id),
                cancel: &paths::application_detail(client.id),
                csrf: "t",
                name: &client.name,
            }
            .render(),
            FormPage {
                layout: layout(&client.name),
                action: &paths::application_update(client.id),
                editing: true,
                csrf: "t",
                error: Some(HOSTILE),
                name: &client.name,
                client_type: "confidential",
                grants: vec![],
                redirect_uris: &client.redirect_uris.join("\n"),
                post_logout_redirect_uris: "",
                allowed_origins: "",
                algorithms: vec![],
                jwt_access_tokens: false,
                logout_revokes_grants: false,
                allowed_scopes: HOSTILE,
            }
            .render(),
        ];
        for page in pages {
            let html = page.expect("render");
            assert!(html.contains(ESCAPED), "{html}");
            assert!(!html.contains(HOSTILE), "{html}");
            assert!(!html.contains("\"alice\""), "{html}");
            assert!(html.contains("&quot;alice&quot;"), "{html}");
        }
        let list = ListPage {
            layout: layout("Your applications"),
            clients: &clients,
        }
        .render()
        .expect("render");
        assert!(
            list.contains("abc&quot;onmouseover=&quot;alert(1)"),
            "{list}"
        );
        assert!(!list.contains("\"onmouseover"), "{list}");
    }
}
