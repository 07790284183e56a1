//! The SQL of [`RegistrationStore`].

use async_trait::async_trait;
use tessera_core::UnixTime;
use tessera_core::client::Client;
use tessera_core::client_metadata::{
    InitialAccessToken, RegisteredMetadata, TokenEndpointAuthMethod,
};
use tessera_core::token::TokenDigest;

use super::clients;
use super::columns::{list_column, split_list};
use super::{Database, Row, SqlConn, bad_row, op, params};
use crate::registrations::{ClientRegistration, RegisterOutcome};
use crate::{ClientUpdate, NewClient, RegistrationStore, StoreError, StoreResult};

async fn insert_initial(
    c: &mut dyn SqlConn,
    digest: TokenDigest,
    max_clients: Option<i64>,
    now: UnixTime,
) -> StoreResult<i64> {
    let row = c
        .query_opt(
            "INSERT INTO initial_access_tokens (digest, max_clients, created_at) \
             VALUES ($1, $2, $3) RETURNING id",
            params![&digest, max_clients, now],
        )
        .await?;
    row.ok_or_else(|| bad_row("inserted initial access token"))?
        .take()
}

async fn find_initial(
    c: &mut dyn SqlConn,
    digest: TokenDigest,
) -> StoreResult<Option<InitialAccessToken>> {
    let Some(mut r) = c
        .query_opt(
            "SELECT id, max_clients, clients_registered, created_at FROM initial_access_tokens \
             WHERE digest = $1",
            params![&digest],
        )
        .await?
    else {
        return Ok(None);
    };
    Ok(Some(InitialAccessToken {
        id: r.take()?,
        max_clients: r.take()?,
        clients_registered: r.take()?,
        created_at: r.take()?,
    }))
}

async fn insert_registration(
    c: &mut dyn SqlConn,
    client_pk: i64,
    access_token: &TokenDigest,
    initial: Option<i64>,
    m: &RegisteredMetadata,
) -> StoreResult<()> {
    c.execute(
        "INSERT INTO client_registrations (client_id, access_token, initial_access_token, \
         token_endpoint_auth_method, client_uri, logo_uri, tos_uri, policy_uri, contacts) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        params![
            client_pk,
            access_token,
            initial,
            m.auth_method.as_str(),
            m.client_uri.as_ref(),
            m.logo_uri.as_ref(),
            m.tos_uri.as_ref(),
            m.policy_uri.as_ref(),
            &list_column(&m.contacts)
        ],
    )
    .await
    .map(|_| ())
}

async fn register(
    c: &mut dyn SqlConn,
    client: NewClient,
    access_token: TokenDigest,
    metadata: RegisteredMetadata,
    initial: Option<TokenDigest>,
) -> StoreResult<RegisterOutcome> {
    // The count and the cap in one conditional UPDATE: of concurrent registrations with the
    // last free place, the second finds the token full and writes nothing.
    let initial_id = match initial {
        None => None,
        Some(digest) => {
            let counted = c
                .query_opt(
                    "UPDATE initial_access_tokens SET clients_registered = clients_registered + 1 \
                     WHERE digest = $1 AND (max_clients IS NULL OR clients_registered < max_clients) \
                     RETURNING id",
                    params![&digest],
                )
                .await?;
            match counted {
                Some(mut r) => Some(r.take::<i64>()?),
                None => return Ok(RegisterOutcome::InitialTokenRefused),
            }
        }
    };
    let inserted = clients::insert(c, client).await?;
    insert_registration(c, inserted.id, &access_token, initial_id, &metadata).await?;
    Ok(RegisterOutcome::Registered(Box::new(inserted)))
}

fn registration_from_row(client_pk: i64, mut r: Row) -> StoreResult<ClientRegistration> {
    let access_token = r.take()?;
    let initial_access_token = r.take()?;
    let method: String = r.take()?;
    Ok(ClientRegistration {
        client_pk,
        access_token,
        initial_access_token,
        metadata: RegisteredMetadata {
            auth_method: TokenEndpointAuthMethod::parse(&method)
                .ok_or_else(|| bad_row("token endpoint auth method"))?,
            client_uri: r.take()?,
            logo_uri: r.take()?,
            tos_uri: r.take()?,
            policy_uri: r.take()?,
            contacts: split_list(&r.take::<String>()?),
        },
    })
}

async fn registration_of(
    c: &mut dyn SqlConn,
    client_id: String,
) -> StoreResult<Option<(Client, ClientRegistration)>> {
    let sql = format!(
        "SELECT {} FROM clients WHERE client_id = $1",
        clients::COLUMNS
    );
    let Some(row) = c.query_opt(&sql, params![&client_id]).await? else {
        return Ok(None);
    };
    let client = clients::client_from_row(row)?;
    let Some(row) = c
        .query_opt(
            "SELECT access_token, initial_access_token, token_endpoint_auth_method, \
             client_uri, logo_uri, tos_uri, policy_uri, contacts FROM client_registrations \
             WHERE client_id = $1",
            params![client.id],
        )
        .await?
    else {
        return Ok(None);
    };
    let registration = registration_from_row(client.id, row)?;
    Ok(Some((client, registration)))
}

async fn renew(
    c: &mut dyn SqlConn,
    client_pk: i64,
    old: TokenDigest,
    new: TokenDigest,
    update: Option<(ClientUpdate, RegisteredMetadata)>,
) -> StoreResult<bool> {
    // The token in force is swapped first and only if it is still `old`: of two requests with
    // one token, one wins and the other changes nothing.
    let swapped = c
        .execute(
            "UPDATE client_registrations SET access_token = $3 WHERE client_id = $1 \
             AND access_token = $2",
            params![client_pk, &old, &new],
        )
        .await?;
    if swapped == 0 {
        return Ok(false);
    }
    if let Some((client_update, m)) = update {
        clients::update(c, client_pk, client_update).await?;
        c.execute(
            "UPDATE client_registrations SET token_endpoint_auth_method = $2, client_uri = $3, \
             logo_uri = $4, tos_uri = $5, policy_uri = $6, contacts = $7 WHERE client_id = $1",
            params![
                client_pk,
                m.auth_method.as_str(),
                m.client_uri.as_ref(),
                m.logo_uri.as_ref(),
                m.tos_uri.as_ref(),
                m.policy_uri.as_ref(),
                &list_column(&m.contacts)
            ],
        )
        .await?;
    }
    Ok(true)
}

async fn delete(c: &mut dyn SqlConn, client_pk: i64, token: TokenDigest) -> StoreResult<bool> {
    // Grants, tokens, codes, device codes, approvals and the registration go with the client
    // (ON DELETE CASCADE), in this one statement.
    let n = c
        .execute(
            "DELETE FROM clients WHERE id = $1 AND id IN \
             (SELECT client_id FROM client_registrations WHERE client_id = $1 AND access_token = $2)",
            params![client_pk, &token],
        )
        .await?;
    Ok(n > 0)
}

#[async_trait]
impl<D: Database> RegistrationStore for D {
    async fn insert_initial_access_token(
        &self,
        digest: &TokenDigest,
        max_clients: Option<i64>,
        now: UnixTime,
    ) -> StoreResult<i64> {
        let digest = *digest;
        self.write_one(op(move |c| {
            Box::pin(insert_initial(c, digest, max_clients, now))
        }))
        .await
    }

    async fn initial_access_token(
        &self,
        digest: &TokenDigest,
    ) -> StoreResult<Option<InitialAccessToken>> {
        let digest = *digest;
        self.read(op(move |c| Box::pin(find_initial(c, digest))))
            .await
    }

    async fn register_client(
        &self,
        client: NewClient,
        access_token: TokenDigest,
        metadata: RegisteredMetadata,
        initial_access_token: Option<TokenDigest>,
    ) -> StoreResult<RegisterOutcome> {
        self.write(op(move |c| {
            Box::pin(register(
                c,
                client,
                access_token,
                metadata,
                initial_access_token,
            ))
        }))
        .await
        .map_err(|e| match e {
            StoreError::Conflict(_) => StoreError::Conflict("client id"),
            e => e,
        })
    }

    async fn registration_of(
        &self,
        client_id: &str,
    ) -> StoreResult<Option<(Client, ClientRegistration)>> {
        let client_id = client_id.to_owned();
        self.read(op(move |c| Box::pin(registration_of(c, client_id))))
            .await
    }

    async fn renew_registration(
        &self,
        client_pk: i64,
        old: &TokenDigest,
        new: &TokenDigest,
        update: Option<(ClientUpdate, RegisteredMetadata)>,
    ) -> StoreResult<bool> {
        let (old, new) = (*old, *new);
        self.write(op(move |c| Box::pin(renew(c, client_pk, old, new, update))))
            .await
    }

    async fn delete_registered_client(
        &self,
        client_pk: i64,
        token: &TokenDigest,
    ) -> StoreResult<bool> {
        let token = *token;
        self.write_one(op(move |c| Box::pin(delete(c, client_pk, token))))
            .await
    }
}
