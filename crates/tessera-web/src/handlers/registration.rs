//! Dynamic client registration (RFC 7591) at [`paths::REGISTER`] and its management protocol
//! (RFC 7592) at [`paths::REGISTER_CLIENT_ROUTE`], routed only when `dynamic_registration` is
//! `open` or `token`.
//!
//! The metadata is read and checked by `tessera_core::client_metadata`, which hands the
//! core's registration rules the same [`Registration`](tessera_core::registration::Registration)
//! the command line and the pages build. A registered client has no owner: it manages itself
//! with its registration access token, which is kept as a digest and replaced at every read
//! and update (RFC 7592 section 3 requires one in each answer, and a digest cannot be shown
//! again).

use axum::extract::{ConnectInfo, Path, Request, State};
use axum::http::header::{AUTHORIZATION, CACHE_CONTROL, CONTENT_TYPE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use subtle::ConstantTimeEq;
use tessera_core::client::{AuthorizationHeader, Client, parse_authorization};
use tessera_core::client_metadata::{
    self, ClientInformation, ClientMetadata, Issued, Purpose, RegisteredMetadata,
};
use tessera_core::error::{ErrorCode, OAuthError};
use tessera_core::registration;
use tessera_core::token::{self, GeneratedToken, TokenDigest, TokenKind};
use tessera_store::{ClientRegistration, ClientUpdate, NewClient, RegisterOutcome};

use crate::error::{ApiError, Challenge, json};
use crate::paths;
use crate::ratelimit::{Attempt, Principal};
use crate::state::{AppState, DynamicRegistration};

fn invalid_token(description: &'static str) -> ApiError {
    ApiError::oauth(OAuthError::new(ErrorCode::InvalidToken, description))
        .with_challenge(Challenge::Bearer)
}

/// The Bearer token of a request: `Ok(None)` without an `Authorization` header; anything but
/// one Bearer token is `invalid_token`.
pub(crate) fn bearer(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let mut values = headers.get_all(AUTHORIZATION).iter();
    let (Some(value), None) = (values.next(), values.next()) else {
        return if headers.contains_key(AUTHORIZATION) {
            Err(invalid_token("Send one Authorization header."))
        } else {
            Ok(None)
        };
    };
    match parse_authorization(value.as_bytes()) {
        Ok(AuthorizationHeader::Bearer(t)) => Ok(Some(t)),
        _ => Err(invalid_token(
            "The Authorization header must carry a Bearer token.",
        )),
    }
}

/// The bearer token a request must present: missing is 401 with a bare challenge (RFC 6750
/// section 3.1), one that is not of `kind` is `invalid_token`.
fn required_bearer(headers: &HeaderMap, kind: TokenKind) -> Result<TokenDigest, ApiError> {
    let Some(text) = bearer(headers)? else {
        return Err(ApiError::oauth(OAuthError::new(
            ErrorCode::InvalidToken,
            "A Bearer token is required.",
        ))
        .with_challenge(Challenge::BearerRequired));
    };
    if token::recognise(&text) != Some(kind) {
        return Err(invalid_token("The Bearer token is not valid here."));
    }
    Ok(TokenDigest::of(&text))
}

/// The JSON body of a registration request: `application/json` (UTF-8), at most
/// `max_body_bytes`.
pub(crate) async fn json_body(
    state: &AppState,
    request: Request,
) -> Result<axum::body::Bytes, ApiError> {
    let is_json = request
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            let mut parts = v.split(';');
            parts
                .next()
                .is_some_and(|e| e.trim().eq_ignore_ascii_case("application/json"))
                && parts.all(|p| match p.split_once('=') {
                    Some((k, v)) if k.trim().eq_ignore_ascii_case("charset") => {
                        let v = v.trim().trim_matches('"');
                        v.eq_ignore_ascii_case("utf-8") || v.eq_ignore_ascii_case("utf8")
                    }
                    _ => true,
                })
        });
    if !is_json {
        return Err(ApiError::invalid_request(
            "The request body must be application/json.",
        ));
    }
    axum::body::to_bytes(request.into_body(), state.settings.max_body_bytes)
        .await
        .map_err(|_| {
            ApiError::invalid_request("The request body is too large or was cut short.")
                .with_status(StatusCode::PAYLOAD_TOO_LARGE)
        })
}

fn registration_client_uri(state: &AppState, client: &Client) -> String {
    paths::endpoint(
        &state.settings.issuer,
        &paths::register_client(&client.client_id),
    )
}

fn information(
    state: &AppState,
    client: &Client,
    metadata: &RegisteredMetadata,
    client_secret: Option<String>,
    access_token: GeneratedToken,
    status: StatusCode,
) -> Response {
    let uri = registration_client_uri(state, client);
    json(
        status,
        &ClientInformation::new(
            client,
            metadata,
            Issued {
                client_secret,
                registration_access_token: access_token.text,
                registration_client_uri: &uri,
            },
        ),
    )
}

/// `POST /o/register/` (RFC 7591 section 3).
pub async fn register(State(state): State<AppState>, request: Request) -> Response {
    handle_register(&state, request)
        .await
        .unwrap_or_else(IntoResponse::into_response)
}

async fn handle_register(state: &AppState, request: Request) -> Result<Response, ApiError> {
    let now = state.now();
    // Every attempt counts, not only failures: open registration must not become a way to
    // fill the store from one address.
    let peer = crate::address::client_ip(
        request
            .extensions()
            .get::<ConnectInfo<std::net::SocketAddr>>()
            .map(|c| c.0.ip()),
        request.headers(),
        &state.settings.trusted_proxies,
    );
    let attempt = Attempt {
        principal: Some(Principal::Registration),
        address: peer,
        known_device: false,
    };
    if let Some(wait) = state.limiter.check(&attempt, now).await {
        return Err(ApiError::too_many_requests(wait));
    }
    state.limiter.record_failure(&attempt, now).await;
    let initial = match state.settings.dynamic_registration {
        DynamicRegistration::Token => {
            let digest = required_bearer(request.headers(), TokenKind::InitialAccessToken)?;
            match state.store.initial_access_token(&digest).await? {
                Some(t) if t.may_register() => Some(digest),
                Some(_) => {
                    return Err(invalid_token(
                        "The initial access token has registered its maximum number of clients.",
                    ));
                }
                None => return Err(invalid_token("The initial access token is not valid.")),
            }
        }
        DynamicRegistration::Open | DynamicRegistration::Off => None,
    };
    let body = json_body(state, request).await?;
    let metadata = client_metadata::parse(&body, Purpose::Register, &state.settings.scopes)?;
    let registered =
        registration::register(&metadata.registration, &*state.entropy).map_err(|e| {
            OAuthError::with_text(
                ErrorCode::InvalidClientMetadata,
                tessera_core::error::safe_for_description(&e.to_string(), 200),
            )
        })?;
    let access_token = token::generate(TokenKind::RegistrationAccessToken, &*state.entropy);
    let reg = metadata.registration;
    let outcome = state
        .store
        .register_client(
            NewClient {
                client_id: registered.client_id,
                name: registered.name,
                client_type: reg.client_type,
                grant_types: reg.grant_types,
                secret: registered.secret,
                redirect_uris: reg.redirect_uris,
                post_logout_redirect_uris: reg.post_logout_redirect_uris,
                allowed_origins: reg.allowed_origins,
                user_id: None,
                skip_authorization: false,
                algorithm: reg.algorithm,
                access_token_format: reg.access_token_format,
                logout_revokes_grants: reg.logout_revokes_grants,
                allowed_scopes: reg.allowed_scopes,
                introspect_any: reg.introspect_any,
                created_at: now,
            },
            access_token.digest,
            metadata.extra.clone(),
            initial,
        )
        .await?;
    let client = match outcome {
        RegisterOutcome::Registered(c) => *c,
        RegisterOutcome::InitialTokenRefused => {
            return Err(invalid_token(
                "The initial access token has registered its maximum number of clients.",
            ));
        }
    };
    tracing::info!(target: "tessera::audit", event = "client_registration", client_id = %client.client_id, outcome = "registered");
    Ok(information(
        state,
        &client,
        &metadata.extra,
        registered.secret_text,
        access_token,
        StatusCode::CREATED,
    ))
}

/// The registered client the path names, if the request's registration access token is the
/// one in force for it. Anything else, an unknown client included, is 401 `invalid_token`
/// (RFC 7592 section 2.1), so the endpoint tells nobody which client ids exist.
async fn registered_client(
    state: &AppState,
    client_id: &str,
    headers: &HeaderMap,
) -> Result<(Client, ClientRegistration, TokenDigest), ApiError> {
    let presented = required_bearer(headers, TokenKind::RegistrationAccessToken)?;
    let refused = || invalid_token("The registration access token is not valid for this client.");
    let Some((client, registration)) = state.store.registration_of(client_id).await? else {
        return Err(refused());
    };
    if !bool::from(presented.0.ct_eq(&registration.access_token.0)) {
        return Err(refused());
    }
    Ok((client, registration, presented))
}

/// `GET /o/register/{client_id}/` (RFC 7592 section 2.1): the client's registration, with a
/// new registration access token (the old one stops working).
pub async fn read(
    State(state): State<AppState>,
    Path(client_id): Path<String>,
    headers: HeaderMap,
) -> Response {
    handle_read(&state, &client_id, &headers)
        .await
        .unwrap_or_else(IntoResponse::into_response)
}

async fn handle_read(
    state: &AppState,
    client_id: &str,
    headers: &HeaderMap,
) -> Result<Response, ApiError> {
    let (client, registration, old) = registered_client(state, client_id, headers).await?;
    let new = token::generate(TokenKind::RegistrationAccessToken, &*state.entropy);
    if !state
        .store
        .renew_registration(client.id, &old, &new.digest, None)
        .await?
    {
        return Err(invalid_token(
            "The registration access token was just replaced by another request.",
        ));
    }
    Ok(information(
        state,
        &client,
        &registration.metadata,
        None,
        new,
        StatusCode::OK,
    ))
}

/// `PUT /o/register/{client_id}/` (RFC 7592 section 2.2): replaces the client's metadata
/// (omitted fields are removed), under every registration rule; the client id, the secret and
/// the kind of client stay.
pub async fn update(
    State(state): State<AppState>,
    Path(client_id): Path<String>,
    request: Request,
) -> Response {
    handle_update(&state, &client_id, request)
        .await
        .unwrap_or_else(IntoResponse::into_response)
}

async fn handle_update(
    state: &AppState,
    client_id: &str,
    request: Request,
) -> Result<Response, ApiError> {
    let (client, _, old) = registered_client(state, client_id, request.headers()).await?;
    let body = json_body(state, request).await?;
    let ClientMetadata {
        registration: reg,
        extra,
        ..
    } = {
        let m = client_metadata::parse(&body, Purpose::Update, &state.settings.scopes)?;
        client_metadata::check_update(&m, &client)?;
        m
    };
    let new = token::generate(TokenKind::RegistrationAccessToken, &*state.entropy);
    let update = ClientUpdate {
        name: reg.name.unwrap_or_else(|| client.client_id.clone()),
        grant_types: reg.grant_types,
        redirect_uris: reg.redirect_uris,
        post_logout_redirect_uris: reg.post_logout_redirect_uris,
        // Not registration metadata: what an operator set stays.
        allowed_origins: client.allowed_origins.clone(),
        algorithm: reg.algorithm,
        access_token_format: client.access_token_format,
        logout_revokes_grants: client.logout_revokes_grants,
        allowed_scopes: reg.allowed_scopes,
        updated_at: state.now(),
    };
    if !state
        .store
        .renew_registration(client.id, &old, &new.digest, Some((update, extra)))
        .await?
    {
        return Err(invalid_token(
            "The registration access token was just replaced by another request.",
        ));
    }
    let Some((client, registration)) = state.store.registration_of(client_id).await? else {
        return Err(invalid_token("The client was deleted meanwhile."));
    };
    tracing::info!(target: "tessera::audit", event = "client_registration", client_id = %client.client_id, outcome = "updated");
    Ok(information(
        state,
        &client,
        &registration.metadata,
        None,
        new,
        StatusCode::OK,
    ))
}

/// `DELETE /o/register/{client_id}/` (RFC 7592 section 2.3): the client goes, and with it
/// every grant, token and code it had, at once and on every node.
pub async fn delete(
    State(state): State<AppState>,
    Path(client_id): Path<String>,
    headers: HeaderMap,
) -> Response {
    handle_delete(&state, &client_id, &headers)
        .await
        .unwrap_or_else(IntoResponse::into_response)
}

async fn handle_delete(
    state: &AppState,
    client_id: &str,
    headers: &HeaderMap,
) -> Result<Response, ApiError> {
    let (client, _, token) = registered_client(state, client_id, headers).await?;
    if !state
        .store
        .delete_registered_client(client.id, &token)
        .await?
    {
        return Err(invalid_token(
            "The registration access token was just replaced by another request.",
        ));
    }
    tracing::info!(target: "tessera::audit", event = "client_registration", client_id = %client.client_id, outcome = "deleted");
    let mut response = StatusCode::NO_CONTENT.into_response();
    response
        .headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}
