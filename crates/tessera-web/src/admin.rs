//! The admin API: applications (clients), users, grants and signing keys as JSON resources,
//! for an operator's tools. Off unless `admin_bind` gives it a listener of its own, so it is
//! never reachable where the public endpoints are.
//!
//! Every request presents an admin token (`Authorization: Bearer tsad_...`, made with
//! `tessera admin-token create`, stored as a digest); a missing, unknown or revoked one is
//! 401. Each handler calls the same [`Operator`] action as the command line, so the rules,
//! the errors and the audit records are the command line's (`via="admin_api"`, with the
//! token's name).
//!
//! The routes are one table, [`routes`], which builds the router and which a test holds
//! against the OpenAPI document served at [`paths::ADMIN_OPENAPI`]: a route cannot be added
//! to one without the other.

use axum::Router;
use axum::extract::{Path, Request, State};
use axum::http::header::WWW_AUTHENTICATE;
use axum::http::{HeaderValue, Method, StatusCode};
use axum::middleware::{Next, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, delete, get, patch, post, put};
use serde::Deserialize;
use serde_json::{Value, json};
use tessera_core::client::{self, AccessTokenFormat, ClientType};
use tessera_core::registration::{ApplicationChanges, Registration, SecretChoice};
use tessera_core::token::{self, TokenDigest, TokenKind};
use tessera_jose::Algorithm;

use crate::error::json as json_answer;
use crate::handlers::registration::{bearer, json_body};
use crate::operator::{
    NewApplication, Operator, OperatorError, Via, application_json, grant_json, key_json, user_json,
};
use crate::paths;
use crate::state::AppState;

/// The OpenAPI 3.1 document of this API (checked against [`routes`] by the tests).
pub const OPENAPI: &str = include_str!("admin_openapi.json");

/// The admin token that authenticated the request: its name goes into the audit records.
#[derive(Debug, Clone)]
struct AdminCaller(String);

/// An admin API error: a status and `{"error": ..., "error_description": ...}`.
#[derive(Debug)]
pub struct AdminError {
    status: StatusCode,
    code: &'static str,
    description: String,
}

impl AdminError {
    fn new(status: StatusCode, code: &'static str, description: impl Into<String>) -> Self {
        Self {
            status,
            code,
            description: description.into(),
        }
    }

    fn bad_request(description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", description)
    }
}

impl From<OperatorError> for AdminError {
    fn from(e: OperatorError) -> Self {
        match e {
            OperatorError::NotFound(d) => Self::new(StatusCode::NOT_FOUND, "not_found", d),
            OperatorError::Registration(e) => Self::bad_request(e.to_string()),
            OperatorError::Invalid(d) => Self::bad_request(d),
            OperatorError::Conflict(d) => Self::new(StatusCode::CONFLICT, "conflict", d),
            OperatorError::Store(e) => {
                tracing::error!(error = %e, "store error");
                Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "temporarily_unavailable",
                    "The server cannot reach its store; try again later.",
                )
            }
            OperatorError::Internal(d) => {
                tracing::error!(error = %d, "admin API internal error");
                Self::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "server_error",
                    "Something went wrong on the server.",
                )
            }
        }
    }
}

impl From<crate::error::ApiError> for AdminError {
    fn from(e: crate::error::ApiError) -> Self {
        Self::new(
            e.status,
            e.error.code.as_str(),
            e.error
                .description
                .map(|d| d.into_owned())
                .unwrap_or_default(),
        )
    }
}

impl IntoResponse for AdminError {
    fn into_response(self) -> Response {
        let mut response = json_answer(
            self.status,
            &json!({"error": self.code, "error_description": self.description}),
        );
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                WWW_AUTHENTICATE,
                HeaderValue::from_static(r#"Bearer realm="tessera-admin""#),
            );
        }
        response
    }
}

type AdminResult = Result<Response, AdminError>;

/// Refuses a request without a live admin token, before any handler runs.
async fn require_admin_token(
    State(state): State<AppState>,
    mut req: Request,
    next: Next,
) -> Response {
    let unauthorized =
        |d: &str| AdminError::new(StatusCode::UNAUTHORIZED, "unauthorized", d).into_response();
    let text = match bearer(req.headers()) {
        Ok(Some(t)) => t,
        Ok(None) => return unauthorized("An admin token is required (Authorization: Bearer)."),
        Err(_) => return unauthorized("The Authorization header must carry one Bearer token."),
    };
    if token::recognise(&text) != Some(TokenKind::AdminToken) {
        return unauthorized("This is not an admin token.");
    }
    match state
        .store
        .active_admin_token(&TokenDigest::of(&text))
        .await
    {
        Ok(Some(t)) => {
            req.extensions_mut().insert(AdminCaller(t.name));
            next.run(req).await
        }
        Ok(None) => unauthorized("The admin token is unknown or revoked."),
        Err(e) => AdminError::from(OperatorError::Store(e)).into_response(),
    }
}

fn operator(state: &AppState, req: &Request) -> Operator {
    let name = req
        .extensions()
        .get::<AdminCaller>()
        .map_or_else(String::new, |c| c.0.clone());
    Operator::new(
        state.store.clone(),
        state.clock.clone(),
        state.entropy.clone(),
        Via::AdminApi(name),
    )
}

/// A JSON body read strictly: an unknown field or a wrong type is 400, naming it.
async fn body<T: for<'de> Deserialize<'de>>(
    state: &AppState,
    req: Request,
) -> Result<T, AdminError> {
    let bytes = json_body(state, req).await?;
    serde_json::from_slice(&bytes)
        .map_err(|e| AdminError::bad_request(format!("invalid JSON body: {e}")))
}

fn ok(value: Value) -> AdminResult {
    Ok(json_answer(StatusCode::OK, &value))
}

fn grant_types(list: &[String]) -> Result<Vec<client::GrantType>, AdminError> {
    client::parse_grant_types(&list.join(",")).map_err(AdminError::bad_request)
}

fn token_format(text: &str) -> Result<AccessTokenFormat, AdminError> {
    AccessTokenFormat::parse(text).ok_or_else(|| {
        AdminError::bad_request(format!(
            "access_token_format {text:?}: expected opaque or jwt"
        ))
    })
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NewClientBody {
    client_type: String,
    grant_types: Vec<String>,
    name: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
    #[serde(default)]
    redirect_uris: Vec<String>,
    #[serde(default)]
    post_logout_redirect_uris: Vec<String>,
    #[serde(default)]
    allowed_origins: Vec<String>,
    owner: Option<String>,
    #[serde(default)]
    skip_authorization: bool,
    algorithm: Option<String>,
    access_token_format: Option<String>,
    #[serde(default)]
    logout_revokes_grants: bool,
    allowed_scopes: Option<String>,
    introspection: Option<String>,
}

async fn list_clients(State(state): State<AppState>, req: Request) -> AdminResult {
    let apps = operator(&state, &req).applications().await?;
    ok(Value::Array(
        apps.iter()
            .map(|(c, owner)| application_json(c, owner.as_deref()))
            .collect(),
    ))
}

async fn create_client(State(state): State<AppState>, req: Request) -> AdminResult {
    let op = operator(&state, &req);
    let b: NewClientBody = body(&state, req).await?;
    let client_type = ClientType::parse(&b.client_type).ok_or_else(|| {
        AdminError::bad_request(format!(
            "client_type {:?}: expected confidential or public",
            b.client_type
        ))
    })?;
    let registration = Registration {
        name: b.name,
        client_type,
        grant_types: grant_types(&b.grant_types)?,
        redirect_uris: b.redirect_uris,
        post_logout_redirect_uris: b.post_logout_redirect_uris,
        allowed_origins: b.allowed_origins,
        algorithm: b.algorithm,
        access_token_format: b
            .access_token_format
            .as_deref()
            .map_or(Ok(AccessTokenFormat::Opaque), token_format)?,
        logout_revokes_grants: b.logout_revokes_grants,
        allowed_scopes: b.allowed_scopes,
        introspect_any: match b.introspection.as_deref() {
            None | Some("all") => true,
            Some("own") => false,
            Some(other) => {
                return Err(AdminError::bad_request(format!(
                    "introspection {other:?}: expected all or own"
                )));
            }
        },
        client_id: b.client_id,
        secret: b
            .client_secret
            .map_or(SecretChoice::Generate, SecretChoice::Chosen),
    };
    let (client, secret) = op
        .create_application(NewApplication {
            registration,
            owner: b.owner.clone(),
            skip_authorization: b.skip_authorization,
        })
        .await?;
    let mut v = application_json(&client, b.owner.as_deref());
    v["client_secret"] = json!(secret);
    Ok(json_answer(StatusCode::CREATED, &v))
}

async fn get_client(
    State(state): State<AppState>,
    Path(client_id): Path<String>,
    req: Request,
) -> AdminResult {
    let op = operator(&state, &req);
    let client = op.application(&client_id).await?;
    let owner = op.owner_of(&client).await?;
    ok(application_json(&client, owner.as_deref()))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ClientChangesBody {
    name: Option<String>,
    grant_types: Option<Vec<String>>,
    redirect_uris: Option<Vec<String>>,
    post_logout_redirect_uris: Option<Vec<String>>,
    allowed_origins: Option<Vec<String>>,
    /// `null` is the default (RS256), as is leaving it out: send a value to change it.
    algorithm: Option<String>,
    access_token_format: Option<String>,
    logout_revokes_grants: Option<bool>,
    /// `""` goes back to the default scopes.
    allowed_scopes: Option<String>,
}

async fn update_client(
    State(state): State<AppState>,
    Path(client_id): Path<String>,
    req: Request,
) -> AdminResult {
    let op = operator(&state, &req);
    let b: ClientChangesBody = body(&state, req).await?;
    let changes = ApplicationChanges {
        name: b.name,
        grant_types: b.grant_types.as_deref().map(grant_types).transpose()?,
        redirect_uris: b.redirect_uris,
        post_logout_redirect_uris: b.post_logout_redirect_uris,
        allowed_origins: b.allowed_origins,
        algorithm: b.algorithm.map(Some),
        access_token_format: b
            .access_token_format
            .as_deref()
            .map(token_format)
            .transpose()?,
        logout_revokes_grants: b.logout_revokes_grants,
        allowed_scopes: b
            .allowed_scopes
            .map(|s| (!s.trim().is_empty()).then(|| s.trim().to_owned())),
    };
    if changes.is_empty() {
        return Err(AdminError::bad_request("nothing to change"));
    }
    let client = op.update_application(&client_id, &changes).await?;
    let owner = op.owner_of(&client).await?;
    ok(application_json(&client, owner.as_deref()))
}

async fn delete_client(
    State(state): State<AppState>,
    Path(client_id): Path<String>,
    req: Request,
) -> AdminResult {
    operator(&state, &req)
        .delete_application(&client_id)
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn client_grants(
    State(state): State<AppState>,
    Path(client_id): Path<String>,
    req: Request,
) -> AdminResult {
    let grants = operator(&state, &req)
        .grants_of_application(&client_id)
        .await?;
    ok(Value::Array(grants.iter().map(grant_json).collect()))
}

async fn revoke_client_grants(
    State(state): State<AppState>,
    Path(client_id): Path<String>,
    req: Request,
) -> AdminResult {
    let n = operator(&state, &req)
        .revoke_grants_of_application(&client_id)
        .await?;
    ok(json!({"client_id": client_id, "revoked_grants": n}))
}

async fn list_users(State(state): State<AppState>, req: Request) -> AdminResult {
    let users = operator(&state, &req).users().await?;
    ok(Value::Array(users.iter().map(user_json).collect()))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NewUserBody {
    username: String,
    email: Option<String>,
    password: Option<String>,
}

async fn create_user(State(state): State<AppState>, req: Request) -> AdminResult {
    let op = operator(&state, &req);
    let b: NewUserBody = body(&state, req).await?;
    let user = op.create_user(&b.username, b.email, b.password).await?;
    Ok(json_answer(
        StatusCode::CREATED,
        &user_json(&tessera_store::UserSummary::from(&user)),
    ))
}

async fn get_user(
    State(state): State<AppState>,
    Path(username): Path<String>,
    req: Request,
) -> AdminResult {
    let user = operator(&state, &req).user(&username).await?;
    ok(user_json(&tessera_store::UserSummary::from(&user)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PasswordBody {
    password: String,
}

async fn set_password(
    State(state): State<AppState>,
    Path(username): Path<String>,
    req: Request,
) -> AdminResult {
    let op = operator(&state, &req);
    let b: PasswordBody = body(&state, req).await?;
    op.set_password(&username, b.password).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn delete_user(
    State(state): State<AppState>,
    Path(username): Path<String>,
    req: Request,
) -> AdminResult {
    operator(&state, &req).delete_user(&username).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn user_grants(
    State(state): State<AppState>,
    Path(username): Path<String>,
    req: Request,
) -> AdminResult {
    let grants = operator(&state, &req).grants_of_user(&username).await?;
    ok(Value::Array(grants.iter().map(grant_json).collect()))
}

async fn revoke_user_grants(
    State(state): State<AppState>,
    Path(username): Path<String>,
    req: Request,
) -> AdminResult {
    let n = operator(&state, &req)
        .revoke_grants_of_user(&username)
        .await?;
    ok(json!({"user": username, "revoked_grants": n}))
}

async fn revoke_grant(
    State(state): State<AppState>,
    Path(grant_id): Path<String>,
    req: Request,
) -> AdminResult {
    let grant_id: i64 = grant_id
        .parse()
        .map_err(|_| AdminError::new(StatusCode::NOT_FOUND, "not_found", "no such grant"))?;
    if operator(&state, &req).revoke_grant(grant_id).await? {
        Ok(StatusCode::NO_CONTENT.into_response())
    } else {
        Err(AdminError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no live grant {grant_id}"),
        ))
    }
}

async fn list_keys(State(state): State<AppState>, req: Request) -> AdminResult {
    let now = state.now();
    let keys = operator(&state, &req).keys().await?;
    ok(Value::Array(
        keys.iter().map(|k| key_json(k, now)).collect(),
    ))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RotateBody {
    #[serde(default)]
    algorithms: Vec<String>,
}

async fn rotate_keys(State(state): State<AppState>, req: Request) -> AdminResult {
    let op = operator(&state, &req);
    let has_body = req
        .headers()
        .get(axum::http::header::CONTENT_LENGTH)
        .is_some_and(|v| v != "0");
    let b: RotateBody = if has_body {
        body(&state, req).await?
    } else {
        RotateBody::default()
    };
    let algorithms = b
        .algorithms
        .iter()
        .map(|a| {
            Algorithm::parse(a).ok_or_else(|| {
                AdminError::bad_request(format!(
                    "unknown algorithm {a:?}: expected RS256, ES256 or EdDSA"
                ))
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let now = state.now();
    let publish_until = now
        + state
            .settings
            .lifetimes
            .id_token
            .max(state.settings.jwt_access_token_seconds);
    let made = op
        .rotate_keys(state.keys.shared_kek(), &algorithms, publish_until)
        .await?;
    Ok(json_answer(
        StatusCode::CREATED,
        &Value::Array(made.iter().map(|k| key_json(k, now)).collect()),
    ))
}

async fn retire_key(
    State(state): State<AppState>,
    Path(kid): Path<String>,
    req: Request,
) -> AdminResult {
    operator(&state, &req).retire_key(&kid).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn openapi() -> Response {
    let mut r = (StatusCode::OK, OPENAPI).into_response();
    r.headers_mut().insert(
        axum::http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

/// Every route of the admin API: method, path (axum's pattern, as in the OpenAPI document)
/// and handler. The router is built from this table and nothing else.
pub fn routes() -> Vec<(Method, &'static str, MethodRouter<AppState>)> {
    vec![
        (Method::GET, paths::ADMIN_OPENAPI, get(openapi)),
        (Method::GET, paths::ADMIN_CLIENTS, get(list_clients)),
        (Method::POST, paths::ADMIN_CLIENTS, post(create_client)),
        (Method::GET, paths::ADMIN_CLIENT, get(get_client)),
        (Method::PATCH, paths::ADMIN_CLIENT, patch(update_client)),
        (Method::DELETE, paths::ADMIN_CLIENT, delete(delete_client)),
        (Method::GET, paths::ADMIN_CLIENT_GRANTS, get(client_grants)),
        (
            Method::DELETE,
            paths::ADMIN_CLIENT_GRANTS,
            delete(revoke_client_grants),
        ),
        (Method::GET, paths::ADMIN_USERS, get(list_users)),
        (Method::POST, paths::ADMIN_USERS, post(create_user)),
        (Method::GET, paths::ADMIN_USER, get(get_user)),
        (Method::DELETE, paths::ADMIN_USER, delete(delete_user)),
        (Method::PUT, paths::ADMIN_USER_PASSWORD, put(set_password)),
        (Method::GET, paths::ADMIN_USER_GRANTS, get(user_grants)),
        (
            Method::DELETE,
            paths::ADMIN_USER_GRANTS,
            delete(revoke_user_grants),
        ),
        (Method::DELETE, paths::ADMIN_GRANT, delete(revoke_grant)),
        (Method::GET, paths::ADMIN_KEYS, get(list_keys)),
        (Method::POST, paths::ADMIN_KEYS_ROTATE, post(rotate_keys)),
        (Method::DELETE, paths::ADMIN_KEY, delete(retire_key)),
    ]
}

/// The admin API's router: the table's routes behind the admin token check; other methods
/// on a known path are 405, unknown paths 404, both as JSON.
pub fn router(state: AppState) -> Router {
    let mut by_path: Vec<(&'static str, MethodRouter<AppState>)> = Vec::new();
    for (_, path, route) in routes() {
        match by_path.iter_mut().find(|(p, _)| *p == path) {
            Some((_, existing)) => *existing = std::mem::take(existing).merge(route),
            None => by_path.push((path, route)),
        }
    }
    let mut r = Router::new();
    for (path, route) in by_path {
        r = r.route(
            path,
            route.fallback(|| async {
                AdminError::new(
                    StatusCode::METHOD_NOT_ALLOWED,
                    "method_not_allowed",
                    "This method is not allowed here.",
                )
            }),
        );
    }
    r.fallback(|| async {
        AdminError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "There is no such resource.",
        )
    })
    .layer(from_fn_with_state(state.clone(), require_admin_token))
    .layer(from_fn_with_state(state.clone(), crate::request_log::layer))
    .with_state(state)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The OpenAPI document names exactly the routes the router serves: every (method, path)
    /// of [`routes`] is an operation of the document, and every operation is routed.
    #[test]
    fn the_openapi_document_matches_the_routes() {
        let doc: Value = serde_json::from_str(OPENAPI).expect("the document is JSON");
        assert_eq!(doc["openapi"].as_str().map(|v| &v[..2]), Some("3."));
        let mut documented = std::collections::BTreeSet::new();
        for (path, item) in doc["paths"].as_object().expect("paths") {
            for (method, op) in item.as_object().expect("path item") {
                if method == "parameters" {
                    continue;
                }
                assert!(
                    op["responses"]["401"].is_object(),
                    "{method} {path} documents its 401"
                );
                documented.insert((method.to_ascii_uppercase(), path.clone()));
            }
        }
        let routed: std::collections::BTreeSet<(String, String)> = routes()
            .into_iter()
            .map(|(m, p, _)| (m.to_string(), p.to_owned()))
            .collect();
        assert_eq!(
            routed.difference(&documented).collect::<Vec<_>>(),
            Vec::<&(String, String)>::new(),
            "routed but not documented"
        );
        assert_eq!(
            documented.difference(&routed).collect::<Vec<_>>(),
            Vec::<&(String, String)>::new(),
            "documented but not routed"
        );
    }
}
