-- Tessera schema, version 4: what each application may be granted and may introspect.

-- The scopes an application may be granted, space-separated; NULL: every scope the server
-- knows but `introspection`.
ALTER TABLE clients ADD COLUMN allowed_scopes TEXT;
-- Whether its introspection calls may learn about every token (an operator's resource
-- server) or only its own. Applications users registered on the pages see their own only.
ALTER TABLE clients ADD COLUMN introspect_any {bool} NOT NULL DEFAULT {true};
UPDATE clients SET introspect_any = {false} WHERE user_id IS NOT NULL;
