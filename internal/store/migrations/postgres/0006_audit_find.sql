-- 0006_audit_find: read the audit log by subject (an entity's uses of its licence, 用证记录)
-- and by actor (a department's own calls), newest first.
-- Both indexes leave out issue events: bulk issuance writes one per licence (at random places of
-- the subject index), and the licence's versions already say when it was issued; every other event
-- is far rarer. Queries by subject or actor carry the same predicate (store.FindEvents).
CREATE INDEX audit_events_subject ON audit_events (subject, seq) WHERE action <> 'license.issue';
CREATE INDEX audit_events_actor ON audit_events (actor, seq) WHERE action <> 'license.issue';
