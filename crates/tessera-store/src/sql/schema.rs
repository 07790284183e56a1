//! The schema, written once: each migration is a template whose `{..}` marks are the few
//! types and clauses the dialects spell differently.
//!
//! SQLite applies each migration as its own version (`PRAGMA user_version`). PostgreSQL came
//! later and applied versions 1 and 2 as its one version 1, so there the first two are joined;
//! every later migration is one version on both.

use super::Dialect;

/// The migrations in order.
const TEMPLATES: [&str; 7] = [
    include_str!("schema/v1.sql"),
    include_str!("schema/v2.sql"),
    include_str!("schema/v3.sql"),
    include_str!("schema/v4.sql"),
    include_str!("schema/v5.sql"),
    include_str!("schema/v6.sql"),
    include_str!("schema/v7.sql"),
];

/// How many templates PostgreSQL's version 1 holds.
const POSTGRES_FIRST: usize = 2;

/// Fills in a template's marks for `dialect`.
fn render(template: &str, dialect: Dialect) -> String {
    let marks: [(&str, &str, &str); 7] = [
        // mark, SQLite, PostgreSQL
        (
            "{id}",
            "INTEGER PRIMARY KEY AUTOINCREMENT",
            "BIGSERIAL PRIMARY KEY",
        ),
        ("{int}", "INTEGER", "BIGINT"),
        ("{bool}", "INTEGER", "BOOLEAN"),
        ("{false}", "0", "FALSE"),
        ("{true}", "1", "TRUE"),
        ("{bytes}", "BLOB", "BYTEA"),
        // Rows keyed by a digest are stored in the key's b-tree: one lookup, not two.
        ("{without_rowid}", " WITHOUT ROWID", ""),
    ];
    marks
        .iter()
        .fold(template.to_owned(), |sql, (mark, sqlite, postgres)| {
            sql.replace(
                mark,
                match dialect {
                    Dialect::Sqlite => sqlite,
                    Dialect::Postgres => postgres,
                },
            )
        })
}

/// The migrations of `dialect`, in order: the statements of version `i + 1` at index `i`.
pub fn migrations(dialect: Dialect) -> Vec<String> {
    let rendered = TEMPLATES.iter().map(|t| render(t, dialect));
    match dialect {
        Dialect::Sqlite => rendered.collect(),
        Dialect::Postgres => {
            let mut all: Vec<String> = rendered.collect();
            let rest = all.split_off(POSTGRES_FIRST);
            std::iter::once(all.join("\n")).chain(rest).collect()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_mark_is_filled_in() {
        for dialect in [Dialect::Sqlite, Dialect::Postgres] {
            for sql in migrations(dialect) {
                let code: String = sql
                    .lines()
                    .filter(|l| !l.trim_start().starts_with("--"))
                    .collect();
                assert!(!code.contains('{'), "{dialect:?}: {code}");
            }
        }
        assert_eq!(migrations(Dialect::Sqlite).len(), 7);
        assert_eq!(migrations(Dialect::Postgres).len(), 6);
        assert!(migrations(Dialect::Postgres)[0].contains("BIGSERIAL PRIMARY KEY"));
        assert!(migrations(Dialect::Sqlite)[1].contains("WITHOUT ROWID"));
    }
}
