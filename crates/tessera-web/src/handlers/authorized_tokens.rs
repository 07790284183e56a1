//! [`paths::AUTHORIZED_TOKENS`]: what a signed-in user granted, by application, each
//! revocable. Each row is a grant, and revoking it revokes every token of that grant, as a
//! client's revocation does (docs/behaviour.md, "Revocation"), and forgets the user's
//! approval of that application, so it must ask again. Remembered approvals are listed too;
//! revoking one forgets it and revokes every grant the user gave that application.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use tessera_store::{Consent, GrantSummary};

use crate::handlers::applications::require_user;
use crate::html::{Layout, PageError, render};
use crate::paths;
use crate::session::{self, CheckedForm, redirect, with_cookies};
use crate::state::AppState;

/// A date as `YYYY-MM-DD HH:MM UTC` (civil-from-days, no date library needed).
pub fn format_time(unix: i64) -> String {
    let days = unix.div_euclid(86_400);
    let secs = unix.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02} UTC",
        secs / 3600,
        secs % 3600 / 60
    )
}

#[derive(Template)]
#[template(path = "authorized_tokens.html")]
struct ListPage<'a> {
    layout: Layout<'a>,
    grants: &'a [GrantSummary],
    consents: &'a [Consent],
    csrf: &'a str,
}

pub async fn list(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let user = match require_user(&state, &headers, paths::AUTHORIZED_TOKENS).await {
        Ok(u) => u,
        Err(r) => return r,
    };
    let now = state.now();
    let listed = async {
        let grants = state.store.grants_of_user(user.user.id, now).await?;
        let consents = state.store.consents_of_user(user.user.id, now).await?;
        Ok::<_, tessera_store::StoreError>((grants, consents))
    };
    let (grants, consents) = match listed.await {
        Ok(l) => l,
        Err(e) => return PageError::from(e).into_response(),
    };
    let (csrf, set) = session::csrf_token(&state, &headers);
    let page = ListPage {
        layout: Layout {
            title: "Authorized access",
            user: Some(&user.user.username),
        },
        grants: &grants,
        consents: &consents,
        csrf: &csrf,
    };
    with_cookies(render(StatusCode::OK, &page), [set])
}

#[derive(Template)]
#[template(path = "revoke_grant.html")]
struct RevokePage<'a> {
    layout: Layout<'a>,
    action: &'a str,
    cancel: &'a str,
    csrf: &'a str,
    client_name: &'a str,
    scope: &'a str,
}

pub async fn delete_form(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let here = paths::authorized_token_delete(&id);
    let user = match require_user(&state, &headers, &here).await {
        Ok(u) => u,
        Err(r) => return r,
    };
    let Ok(grant_id) = id.parse::<i64>() else {
        return PageError::not_found().into_response();
    };
    let grants = match state.store.grants_of_user(user.user.id, state.now()).await {
        Ok(g) => g,
        Err(e) => return PageError::from(e).into_response(),
    };
    let Some(g) = grants.iter().find(|g| g.grant_id == grant_id) else {
        return PageError::not_found().into_response();
    };
    let (csrf, set) = session::csrf_token(&state, &headers);
    let page = RevokePage {
        layout: Layout {
            title: "Revoke access",
            user: Some(&user.user.username),
        },
        action: &here,
        cancel: paths::AUTHORIZED_TOKENS,
        csrf: &csrf,
        client_name: &g.client_name,
        scope: &g.scope,
    };
    with_cookies(render(StatusCode::OK, &page), [set])
}

pub async fn delete(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: CheckedForm,
) -> Response {
    let here = paths::authorized_token_delete(&id);
    let user = match require_user(&state, &form.headers, &here).await {
        Ok(u) => u,
        Err(r) => return r,
    };
    let Ok(grant_id) = id.parse::<i64>() else {
        return PageError::not_found().into_response();
    };
    let now = state.now();
    let revoke = async {
        let grants = state.store.grants_of_user(user.user.id, now).await?;
        let Some(g) = grants.into_iter().find(|g| g.grant_id == grant_id) else {
            return Ok(false);
        };
        if !state
            .store
            .revoke_grant_of_user(grant_id, user.user.id, now)
            .await?
        {
            return Ok(false);
        }
        // Revoking an application's access also forgets the approval: it must ask again.
        if let Some(client) = state.store.client_by_client_id(&g.client_id).await? {
            state.store.forget_consent(user.user.id, client.id).await?;
        }
        Ok::<_, tessera_store::StoreError>(true)
    };
    match revoke.await {
        Ok(true) => {
            tracing::info!(target: "tessera::audit", event = "revocation", grant_id, user = %user.user.username, kind = "grant", outcome = "revoked");
            redirect(StatusCode::SEE_OTHER, paths::AUTHORIZED_TOKENS)
        }
        Ok(false) => PageError::not_found().into_response(),
        Err(e) => PageError::from(e).into_response(),
    }
}

/// Forgets a remembered approval and revokes every grant the user gave that application.
pub async fn forget(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: CheckedForm,
) -> Response {
    let here = paths::consent_delete(&id);
    let user = match require_user(&state, &form.headers, &here).await {
        Ok(u) => u,
        Err(r) => return r,
    };
    let Ok(client_pk) = id.parse::<i64>() else {
        return PageError::not_found().into_response();
    };
    let now = state.now();
    let forget = async {
        let forgot = state.store.forget_consent(user.user.id, client_pk).await?;
        let revoked = state
            .store
            .revoke_grants_of_user_and_client(user.user.id, client_pk, now)
            .await?;
        Ok::<_, tessera_store::StoreError>((forgot, revoked))
    };
    match forget.await {
        Ok((false, 0)) => PageError::not_found().into_response(),
        Ok((_, revoked)) => {
            tracing::info!(target: "tessera::audit", event = "revocation", client_pk, user = %user.user.username, kind = "consent", grants = revoked, outcome = "revoked");
            redirect(StatusCode::SEE_OTHER, paths::AUTHORIZED_TOKENS)
        }
        Err(e) => PageError::from(e).into_response(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn formats_dates() {
        assert_eq!(super::format_time(0), "1970-01-01 00:00 UTC");
        assert_eq!(super::format_time(1_800_000_000), "2027-01-15 08:00 UTC");
        assert_eq!(super::format_time(951_782_400), "2000-02-29 00:00 UTC");
    }
}
