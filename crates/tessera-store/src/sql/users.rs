//! The SQL of [`UserStore`].

use async_trait::async_trait;

use super::{Database, Row, SqlConn, bad_row, op, params};
use crate::{NewUser, StoreError, StoreResult, User, UserStore, UserSummary};

/// The user columns [`user_from_row`] reads, in its order, for a table aliased `u`.
pub(crate) const COLUMNS: &str = "u.id, u.username, u.email, u.password_hash, u.created_at";

/// Reads a user from the next five columns of `r`.
pub(crate) fn user_from_row(r: &mut Row) -> StoreResult<User> {
    Ok(User {
        id: r.take()?,
        username: r.take()?,
        email: r.take()?,
        password_hash: r.take()?,
        created_at: r.take()?,
    })
}

async fn insert(c: &mut dyn SqlConn, new: NewUser) -> StoreResult<User> {
    let row = c
        .query_opt(
            "INSERT INTO users (username, email, password_hash, created_at) \
             VALUES ($1, $2, $3, $4) RETURNING id, username, email, password_hash, created_at",
            params![
                &new.username,
                &new.email,
                new.password_hash.as_ref(),
                new.created_at
            ],
        )
        .await
        .map_err(|e| match e {
            StoreError::Conflict(_) => StoreError::Conflict("username"),
            e => e,
        })?;
    user_from_row(&mut row.ok_or_else(|| bad_row("inserted user"))?)
}

async fn find_by_username(c: &mut dyn SqlConn, username: String) -> StoreResult<Option<User>> {
    let sql = format!("SELECT {COLUMNS} FROM users u WHERE u.username = $1");
    let row = c.query_opt(&sql, params![&username]).await?;
    row.map(|mut r| user_from_row(&mut r)).transpose()
}

async fn find_by_id(c: &mut dyn SqlConn, id: i64) -> StoreResult<Option<User>> {
    let sql = format!("SELECT {COLUMNS} FROM users u WHERE u.id = $1");
    let row = c.query_opt(&sql, params![id]).await?;
    row.map(|mut r| user_from_row(&mut r)).transpose()
}

async fn all(c: &mut dyn SqlConn) -> StoreResult<Vec<UserSummary>> {
    c.query(
        "SELECT id, username, email, password_hash IS NOT NULL, created_at FROM users ORDER BY id",
        params![],
    )
    .await?
    .into_iter()
    .map(|mut r| {
        Ok(UserSummary {
            id: r.take()?,
            username: r.take()?,
            email: r.take()?,
            has_password: r.take()?,
            created_at: r.take()?,
        })
    })
    .collect()
}

async fn set_password(c: &mut dyn SqlConn, id: i64, hash: String) -> StoreResult<bool> {
    let n = c
        .execute(
            "UPDATE users SET password_hash = $2 WHERE id = $1",
            params![id, &hash],
        )
        .await?;
    Ok(n > 0)
}

async fn delete(c: &mut dyn SqlConn, id: i64) -> StoreResult<bool> {
    Ok(c.execute("DELETE FROM users WHERE id = $1", params![id])
        .await?
        > 0)
}

async fn upgrade_hash(c: &mut dyn SqlConn, id: i64, old: String, new: String) -> StoreResult<bool> {
    Ok(c.execute(
        "UPDATE users SET password_hash = $3 WHERE id = $1 AND password_hash = $2",
        params![id, &old, &new],
    )
    .await?
        > 0)
}

#[async_trait]
impl<D: Database> UserStore for D {
    async fn upgrade_password_hash(&self, user_id: i64, old: &str, new: &str) -> StoreResult<bool> {
        let (old, new) = (old.to_owned(), new.to_owned());
        self.write_one(op(move |c| Box::pin(upgrade_hash(c, user_id, old, new))))
            .await
    }

    async fn insert_user(&self, new: NewUser) -> StoreResult<User> {
        self.write_one(op(move |c| Box::pin(insert(c, new)))).await
    }

    async fn user_by_username(&self, username: &str) -> StoreResult<Option<User>> {
        let username = username.to_owned();
        self.read(op(move |c| Box::pin(find_by_username(c, username))))
            .await
    }

    async fn user_by_id(&self, id: i64) -> StoreResult<Option<User>> {
        self.read(op(move |c| Box::pin(find_by_id(c, id)))).await
    }

    async fn all_users(&self) -> StoreResult<Vec<UserSummary>> {
        self.read(op(move |c| Box::pin(all(c)))).await
    }

    async fn set_password_hash(&self, user_id: i64, hash: &str) -> StoreResult<bool> {
        let hash = hash.to_owned();
        self.write_one(op(move |c| Box::pin(set_password(c, user_id, hash))))
            .await
    }

    async fn delete_user(&self, user_id: i64) -> StoreResult<bool> {
        self.write_one(op(move |c| Box::pin(delete(c, user_id))))
            .await
    }
}
