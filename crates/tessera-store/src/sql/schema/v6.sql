-- Tessera schema, version 6: imports from django-oauth-toolkit.

-- Each import that wrote something: its source (without password) and what it brought. Its
-- presence tells the server that tokens without Tessera's prefix may be imported ones.
CREATE TABLE imports (
    id          {id},
    source      TEXT    NOT NULL,
    imported_at {int} NOT NULL,
    users       {int} NOT NULL,
    clients     {int} NOT NULL,
    grants      {int} NOT NULL
);
