-- 0006_audit_find: read the audit log by subject (an entity's uses of its licence, 用证记录)
-- and by actor (a department's own calls), newest first.
-- The subject index leaves out issue events: bulk issuance writes one per licence at random
-- places in the index (the licence's versions already say when it was issued), and every other
-- event is far rarer. Queries by subject carry the same predicate (store.FindEvents).
CREATE INDEX audit_events_subject ON audit_events (subject, seq) WHERE action <> 'license.issue';
CREATE INDEX audit_events_actor ON audit_events (actor, seq);
